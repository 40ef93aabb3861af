package policies

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/validate"
)

// Payment is what Resolve knows of a new payment.
type Payment struct {
	CustomerID string
	// PolicyID names the payment's retry policy; nil: the account's default.
	PolicyID *string
	// Strategy, when set, wins over the policy's.
	Strategy *offsessionpayment.RetryStrategy
}

// Settings are what a new payment takes from its retry policy.
type Settings struct {
	PolicyID   *string
	Strategy   offsessionpayment.RetryStrategy
	MaxRetries int
	Schedule   []string
	Window     time.Duration
	Holdout    bool
	// HoldoutStrategy is the control group's strategy.
	HoldoutStrategy offsessionpayment.HoldoutStrategy
}

// Resolve picks a new payment's retry settings: the named policy, or
// the account's default, or the defaults (smart, 8 retries in 2 weeks);
// the strategy given on the payment wins over the policy's. A share of
// customers (the policy's holdout share) is put in the control group, whose
// payments are retried by the policy's holdout strategy.
func Resolve(ctx context.Context, db *ent.Client, in Payment) (Settings, error) {
	rs := Settings{Strategy: offsessionpayment.RetryStrategySmart, MaxRetries: retry.MaxRetriesDefault,
		HoldoutStrategy: offsessionpayment.HoldoutStrategyScheduled}
	rs.Window, _ = retry.ParseWindow(retry.WindowDefault)
	var pol *ent.RetryPolicy
	var err error
	switch {
	case in.PolicyID != nil:
		if err := validate.ID("input.retryPolicyID", *in.PolicyID, "rtp"); err != nil {
			return rs, err
		}
		if pol, err = db.RetryPolicy.Get(ctx, *in.PolicyID); ent.IsNotFound(err) {
			return rs, apierror.NotFoundID("input.retryPolicyID", *in.PolicyID)
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
		rs.PolicyID = &pol.ID
		rs.Strategy = offsessionpayment.RetryStrategy(pol.Strategy)
		rs.MaxRetries = pol.MaxRetries
		rs.Schedule = pol.Schedule
		rs.Window = time.Duration(pol.WindowSeconds) * time.Second
		// Drawn per customer (and policy), as an A/B test assigns people:
		// a customer's payments are all in one group, so the groups do not
		// share customers whose history each other's retries shape.
		rs.Holdout = pol.HoldoutShare > 0 && share(pol.ID+"/"+in.CustomerID) < pol.HoldoutShare
		rs.HoldoutStrategy = offsessionpayment.HoldoutStrategy(pol.HoldoutStrategy)
	}
	if in.Strategy != nil {
		rs.Strategy = *in.Strategy
	}
	if (rs.Strategy == offsessionpayment.RetryStrategyScheduled || rs.Holdout) && len(rs.Schedule) == 0 {
		rs.Schedule = retry.ScheduleDefault
	}
	if rs.Strategy == offsessionpayment.RetryStrategyNone {
		rs.Holdout = false
	}
	return rs, nil
}

// share maps an ID to [0, 1) evenly and repeatably.
func share(id string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// Set sets s on the mutation that creates a payment whose first attempt is
// due at first: its retry window starts then.
func (s Settings) Set(m *ent.OffSessionPaymentMutation, first time.Time) {
	m.SetRetryStrategy(s.Strategy)
	if s.PolicyID != nil {
		m.SetRetryPolicyID(*s.PolicyID)
	}
	m.SetMaxRetries(s.MaxRetries)
	m.SetRetrySchedule(s.Schedule)
	m.SetHoldout(s.Holdout)
	m.SetHoldoutStrategy(s.HoldoutStrategy)
	m.SetRetryUntil(first.Add(s.Window))
}
