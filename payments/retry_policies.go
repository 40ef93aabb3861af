package payments

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
