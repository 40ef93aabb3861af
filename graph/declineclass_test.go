package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// TestExpiredCardHoldsEveryPaymentOnIt: once an expired-card decline marks a
// card expired, its other payments wait for the update too, and all of them
// are retried when it comes.
func TestExpiredCardHoldsEveryPaymentOnIt(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedExpiredCard", TestClockID: clk})
		a := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryStrategy": "heuristic"}))
		a.RequireOK(t)
		later := b.CreatePayment(t, key, apitest.PaymentInput(c, 2000, map[string]any{"retryStrategy": "heuristic", "targetDate": "2026-06-03"}))
		later.RequireOK(t)
		advance(t, b, key, clk, t0.Add(5*24*time.Hour))
		for _, r := range []apitest.Response{a, later} {
			p := b.Payment(t, key, r.String(t, "createOffSessionPayment.id"))
			require.Contains(t, []any{"pending", "pending_retry"}, p["status"], "waiting, not failed")
			require.Nil(t, p["nextAttemptAt"])
		}
		r := b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"customerID": c.CustomerID, "replacesPaymentMethodID": c.PaymentMethodID, "card": card(),
			"processorTokens": []any{map[string]any{"processorID": b.A.ProcessorID, "token": "pm_card_visa"}},
		}})
		r.RequireOK(t)
		advance(t, b, key, clk, t0.Add(5*24*time.Hour+time.Minute))
		for _, r := range []apitest.Response{a, later} {
			require.Equal(t, "succeeded", b.Payment(t, key, r.String(t, "createOffSessionPayment.id"))["status"])
		}
	})
}

// TestTechnicalFailureIsNotARetry: an attempt that never reached the
// issuer does not use up the policy's retries.
func TestTechnicalFailureIsNotARetry(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		down := onSimulator(t, b, "Down", map[string]string{"outage": "true"})
		pol := policy(t, b, key, map[string]any{"name": "one", "strategy": "scheduled", "schedule": []string{"1d"}, "maxRetries": 1})
		c := b.NewChain(t, down, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds", TestClockID: clk})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryPolicyID": pol}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		advance(t, b, key, clk, t0.Add(time.Second))
		require.Equal(t, "technical", attempts(t, b.Payment(t, key, id))[0].Class)

		r = b.Do(t, key, `mutation($id: ID!) { updateProcessor(id: $id, input: {settings: {}}) { id } }`, map[string]any{"id": down.ProcessorID})
		r.RequireOK(t)
		advance(t, b, key, clk, t0.Add(time.Hour))
		p := b.Payment(t, key, id)
		atts := attempts(t, p)
		require.Len(t, atts, 2)
		require.Equal(t, "soft", atts[1].Class)
		require.Equal(t, "pending_retry", p["status"], "the first attempt to reach the issuer leaves the one retry")
		advance(t, b, key, clk, t0.Add(3*24*time.Hour))
		p = b.Payment(t, key, id)
		require.Len(t, attempts(t, p), 3)
		require.Equal(t, "retries_exhausted", p["failureReason"])
	})
}
