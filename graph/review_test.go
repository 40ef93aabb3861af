package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/apitest"
	"github.com/offsession/offsession/ent/simulatorcharge"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/storage/storagetest"
	"github.com/offsession/offsession/viewer"
)

// makeDue makes a payment due now, as the passing of its backoff would.
func makeDue(t *testing.T, st *storage.Store, id string) {
	t.Helper()
	_, err := st.DB.Exec(`UPDATE off_session_payments SET due_at = created_at, lease_owner = NULL, lease_expires_at = NULL WHERE id = '` + id + `'`)
	require.NoError(t, err)
}

// TestRule1RepeatSendsThePinnedRequest: a payment method updated while an
// attempt's outcome is unknown does not change what the repeat sends: the
// processor answers from its ledger, and the card is charged once.
func TestRule1RepeatSendsThePinnedRequest(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		r := b.Do(t, key, `mutation { createProcessor(input: {name: "Flaky", type: simulator, settings: {drop_first_response: "true"}}) { id } }`, nil)
		r.RequireOK(t)
		flaky := b.A
		flaky.ProcessorID = r.String(t, "createProcessor.id")
		c := b.NewChain(t, flaky, apitest.ChainOptions{})
		r = b.CreatePayment(t, key, apitest.PaymentInput(c, 1500, nil))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		b.RunDue(t)
		require.Equal(t, "processing", b.Payment(t, key, id)["status"])

		// An account updater replaces the card while the outcome is unknown.
		r = b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"customerID": c.CustomerID, "replacesPaymentMethodID": c.PaymentMethodID, "card": card(),
			"processorTokens": []any{map[string]any{"processorID": flaky.ProcessorID, "token": "pm_card_mastercard"}},
		}})
		r.RequireOK(t)
		makeDue(t, st, id)
		b.RunDue(t)
		p := b.Payment(t, key, id)
		require.Equal(t, "succeeded", p["status"])
		require.EqualValues(t, 1, p["attemptCount"])

		charges, err := st.Client.SimulatorCharge.Query().
			Where(simulatorcharge.ProcessorID(flaky.ProcessorID)).All(viewer.SystemContext(context.Background()))
		require.NoError(t, err)
		require.Len(t, charges, 1, "one charge")
		require.Equal(t, "pm_card_visa", charges[0].Token, "the repeat sent the original request")
		require.Equal(t, 2, charges[0].Calls)
	})
}

// TestRule2SingleUseMandateChargesOnce: a single-use mandate backs one
// payment at a time and is used up by its success.
func TestRule2SingleUseMandateChargesOnce(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		single := func(token string) apitest.Chain {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: token})
			in := apitest.MandateInput(c, "unscheduled", 5000, "usd")
			in["limits"].(map[string]any)["useLimit"] = "single_use"
			r := b.Do(t, key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": in})
			r.RequireOK(t)
			c.MandateID = r.String(t, "createMandate.id")
			return c
		}
		pay := func(c apitest.Chain, extra map[string]any) apitest.Response {
			in := apitest.PaymentInput(c, 1000, extra)
			in["cadence"] = "unscheduled"
			return b.CreatePayment(t, key, in)
		}

		c := single("pm_card_visa")
		first := pay(c, map[string]any{"idempotencyKey": "single-1"})
		first.RequireOK(t)
		e := pay(c, nil).RequireError(t, "BAD_USER_INPUT")
		require.Equal(t, "mandate_in_use", e.Extensions["reason"], "a second payment on a single-use mandate is refused")
		b.RunDue(t)
		id := first.String(t, "createOffSessionPayment.id")
		require.Equal(t, "succeeded", b.Payment(t, key, id)["status"])
		e = pay(c, nil).RequireError(t, "BAD_USER_INPUT")
		require.Equal(t, "mandate_inactive", e.Extensions["reason"], "used up")

		// A replay of the first request still returns the first payment.
		again := pay(c, map[string]any{"idempotencyKey": "single-1"})
		again.RequireOK(t)
		require.Equal(t, id, again.String(t, "createOffSessionPayment.id"))

		// A payment that fails gives the mandate back.
		d := single("pm_card_chargeDeclinedInsufficientFunds")
		failed := pay(d, map[string]any{"retryStrategy": "none"})
		failed.RequireOK(t)
		b.RunDue(t)
		require.Equal(t, "failed", b.Payment(t, key, failed.String(t, "createOffSessionPayment.id"))["status"])
		pay(d, map[string]any{"retryStrategy": "none"}).RequireOK(t)
	})
}

// TestRule1CaptureFinishesAfterACrash: a capture recorded before the process
// died is finished by a worker with the same key, even past the expiry of
// the authorization, and never reported as expired.
func TestRule1CaptureFinishesAfterACrash(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 3000, map[string]any{"captureMethod": "manual"}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		b.RunDue(t)
		require.Equal(t, "requires_capture", b.Payment(t, key, id)["status"])

		// The process recorded a capture of 2000 and died; by the time it is
		// back, the authorization's time is up.
		_, err := st.DB.Exec(`UPDATE off_session_payments SET pending_action = 'capture', capture_amount = 2000,
			capture_before = created_at, due_at = created_at, version = version + 1 WHERE id = '` + id + `'`)
		require.NoError(t, err)
		b.RunDue(t)
		p := b.Payment(t, key, id)
		require.Equal(t, "succeeded", p["status"], "the recorded capture wins over the expiry")
		require.EqualValues(t, 2000, p["amountReceived"])
		charge, err := st.Client.SimulatorCharge.Query().Where(simulatorcharge.IdempotencyKey(id + "-1")).Only(viewer.SystemContext(context.Background()))
		require.NoError(t, err)
		require.EqualValues(t, 2000, charge.AmountCaptured)
		require.False(t, charge.Voided)
	})
}

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
		r := b.Do(t, key, `mutation { createProcessor(input: {name: "Down", type: simulator, settings: {outage: "true"}}) { id } }`, nil)
		r.RequireOK(t)
		down := b.A
		down.ProcessorID = r.String(t, "createProcessor.id")
		pol := policy(t, b, key, map[string]any{"name": "one", "strategy": "scheduled", "schedule": []string{"1d"}, "maxRetries": 1})
		c := b.NewChain(t, down, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds", TestClockID: clk})
		r = b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryPolicyID": pol}))
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
