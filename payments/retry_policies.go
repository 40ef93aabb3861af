package payments

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/validate"
)

// CreateRetryPolicyInput is the input of createRetryPolicy.
type CreateRetryPolicyInput struct {
	IdempotencyKey *string              `json:"-"`
	Name           string               `json:"name"`
	Strategy       retrypolicy.Strategy `json:"strategy"`
	Window         *string              `json:"window,omitempty"`
	MaxRetries     *int                 `json:"maxRetries,omitempty"`
	Schedule       []string             `json:"schedule,omitempty"`
	HoldoutShare   *float64             `json:"holdoutShare,omitempty"`
	// HoldoutStrategy is the control group's strategy; default scheduled.
	HoldoutStrategy *retrypolicy.HoldoutStrategy `json:"holdoutStrategy,omitempty"`
	IsDefault       *bool                        `json:"isDefault,omitempty"`
}

// CreateRetryPolicy creates a retry policy; with isDefault it becomes the
// account's default, in place of any other.
func (s *Service) CreateRetryPolicy(ctx context.Context, in CreateRetryPolicyInput) (*ent.RetryPolicy, error) {
	window, err := in.validate()
	if err != nil {
		return nil, err
	}
	return idempotency.Create(ctx, s.keys, "createRetryPolicy", in.IdempotencyKey, in, func(tx *ent.Tx) (string, error) {
		isDefault := in.IsDefault != nil && *in.IsDefault
		if isDefault {
			if _, err := tx.RetryPolicy.Update().Where(retrypolicy.IsDefault(true)).SetIsDefault(false).Save(ctx); err != nil {
				return "", err
			}
		}
		c := tx.RetryPolicy.Create().
			SetName(in.Name).
			SetStrategy(in.Strategy).
			SetWindow(*in.Window).
			SetWindowSeconds(int64(window / time.Second)).
			SetMaxRetries(*in.MaxRetries).
			SetIsDefault(isDefault)
		if in.HoldoutShare != nil {
			c.SetHoldoutShare(*in.HoldoutShare)
		}
		c.SetNillableHoldoutStrategy(in.HoldoutStrategy)
		if len(in.Schedule) > 0 {
			c.SetSchedule(in.Schedule)
		}
		p, err := c.Save(ctx)
		if err != nil {
			return "", err
		}
		return p.ID, nil
	}, s.db.RetryPolicy.Get)
}

func (in *CreateRetryPolicyInput) validate() (time.Duration, error) {
	if in.Name == "" {
		return 0, apierror.Invalid("input.name", "must not be empty")
	}
	if err := validate.Text("input.name", in.Name, 256); err != nil {
		return 0, err
	}
	if in.Window == nil {
		w := retry.WindowDefault
		in.Window = &w
	}
	window, err := retry.ParseWindow(*in.Window)
	if err != nil {
		return 0, apierror.Invalid("input.window", "%s", err)
	}
	if in.MaxRetries == nil {
		n := retry.MaxRetriesDefault
		in.MaxRetries = &n
	}
	if *in.MaxRetries < 0 || *in.MaxRetries > retry.MaxRetriesLimit {
		return 0, apierror.Invalid("input.maxRetries", "must be 0 to %d", retry.MaxRetriesLimit)
	}
	if in.HoldoutShare != nil && (*in.HoldoutShare < 0 || *in.HoldoutShare > 0.5) {
		return 0, apierror.Invalid("input.holdoutShare", "must be 0 to 0.5")
	}
	if len(in.Schedule) > 0 && in.Strategy != retrypolicy.StrategyScheduled {
		return 0, apierror.Invalid("input.schedule", "only the scheduled strategy takes a schedule")
	}
	if in.Strategy == retrypolicy.StrategyScheduled {
		if len(in.Schedule) == 0 {
			in.Schedule = retry.ScheduleDefault
		}
		sched, err := retry.ParseSchedule(in.Schedule)
		if err != nil {
			return 0, apierror.Invalid("input.schedule", "%s", err)
		}
		if sched[len(sched)-1] > window {
			return 0, apierror.Invalid("input.schedule", "the last offset, %s, falls after the window, %s", in.Schedule[len(in.Schedule)-1], *in.Window)
		}
		if len(sched) > retry.MaxRetriesLimit {
			return 0, apierror.Invalid("input.schedule", "at most %d offsets", retry.MaxRetriesLimit)
		}
	}
	return window, nil
}

// retrySettings is what a new payment takes from its retry policy.
type retrySettings struct {
	policyID   *string
	strategy   offsessionpayment.RetryStrategy
	maxRetries int
	schedule   []string
	window     time.Duration
	holdout    bool
	// holdoutStrategy is the control group's strategy.
	holdoutStrategy offsessionpayment.HoldoutStrategy
}

// resolveRetry picks a new payment's retry settings: the named policy, or
// the account's default, or the defaults (smart, 8 retries in 2 weeks);
// the strategy given on the payment wins over the policy's. A share of
// customers (the policy's holdout share) is put in the control group, whose
// payments are retried by the policy's holdout strategy.
func (s *Service) resolveRetry(ctx context.Context, db *ent.Client, in *CreateOffSessionPaymentInput) (retrySettings, error) {
	rs := retrySettings{strategy: offsessionpayment.RetryStrategySmart, maxRetries: retry.MaxRetriesDefault,
		holdoutStrategy: offsessionpayment.HoldoutStrategyScheduled}
	rs.window, _ = retry.ParseWindow(retry.WindowDefault)
	var pol *ent.RetryPolicy
	var err error
	switch {
	case in.RetryPolicyID != nil:
		if err := validate.ID("input.retryPolicyID", *in.RetryPolicyID, "rtp"); err != nil {
			return rs, err
		}
		if pol, err = db.RetryPolicy.Get(ctx, *in.RetryPolicyID); ent.IsNotFound(err) {
			return rs, apierror.NotFoundID("input.retryPolicyID", *in.RetryPolicyID)
		}
	default:
		if pol, err = db.RetryPolicy.Query().Where(retrypolicy.IsDefault(true)).First(ctx); ent.IsNotFound(err) {
			pol, err = nil, nil
		}
	}
	if err != nil {
		return rs, err
	}
	if pol != nil {
		rs.policyID = &pol.ID
		rs.strategy = offsessionpayment.RetryStrategy(pol.Strategy)
		rs.maxRetries = pol.MaxRetries
		rs.schedule = pol.Schedule
		rs.window = time.Duration(pol.WindowSeconds) * time.Second
		// Drawn per customer (and policy), as an A/B test assigns people:
		// a customer's payments are all in one group, so the groups do not
		// share customers whose history each other's retries shape.
		rs.holdout = pol.HoldoutShare > 0 && share(pol.ID+"/"+in.CustomerID) < pol.HoldoutShare
		rs.holdoutStrategy = offsessionpayment.HoldoutStrategy(pol.HoldoutStrategy)
	}
	if in.RetryStrategy != nil {
		rs.strategy = *in.RetryStrategy
	}
	if (rs.strategy == offsessionpayment.RetryStrategyScheduled || rs.holdout) && len(rs.schedule) == 0 {
		rs.schedule = retry.ScheduleDefault
	}
	if rs.strategy == offsessionpayment.RetryStrategyNone {
		rs.holdout = false
	}
	return rs, nil
}

// share maps an ID to [0, 1) evenly and repeatably.
func share(id string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return float64(h.Sum64()>>11) / (1 << 53)
}
