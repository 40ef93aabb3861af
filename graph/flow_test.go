package graph_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent/simulatorcharge"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

func TestFlowFromCustomerToSucceededPayment(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_visa"})
		r := b.CreatePayment(t, b.A.Keys.Secret, apitest.PaymentInput(c, 1999, map[string]any{"description": "Plan", "metadata": map[string]any{"order": "A-1"}}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		require.Equal(t, "pending", r.String(t, "createOffSessionPayment.status"), "the mutation never attempts inline")

		b.RunDue(t)

		p := b.Payment(t, b.A.Keys.Secret, id)
		require.Equal(t, "succeeded", p["status"])
		require.EqualValues(t, 1999, p["amountReceived"])
		require.EqualValues(t, 1, p["attemptCount"])
		atts := p["attempts"].(map[string]any)["edges"].([]any)
		require.Len(t, atts, 1)
		att := atts[0].(map[string]any)["node"].(map[string]any)
		require.Equal(t, "approved", att["outcome"])
		require.Equal(t, id+"-1", att["idempotencyKey"])
		require.Equal(t, b.A.ProcessorID, att["processorID"])
		require.Equal(t, "initial", att["scheduling"].(map[string]any)["strategy"])
		require.Equal(t, []string{
			"off_session_payment.created",
			"off_session_payment.attempt_started",
			"off_session_payment.succeeded",
		}, b.EventTypes(t, b.A.Keys.Secret, id))
	})
}

func TestDeclineWithStrategyNoneFailsWithTheDeclineCode(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		for _, tt := range []struct {
			token, code, reason, pmStatus string
		}{
			{"pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds", "retries_exhausted", "active"},
			{"pm_card_chargeDeclined", "generic_decline", "retries_exhausted", "active"},
			{"pm_card_chargeDeclinedLostCard", "lost_card", "no_valid_payment_method", "invalid"},
			{"pm_card_chargeDeclinedStolenCard", "stolen_card", "no_valid_payment_method", "invalid"},
			{"pm_card_chargeDeclinedExpiredCard", "expired_card", "no_valid_payment_method", "expired"},
		} {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: tt.token})
			r := b.CreatePayment(t, b.A.Keys.Secret, apitest.PaymentInput(c, 500, map[string]any{"retryStrategy": "none"}))
			r.RequireOK(t)
			id := r.String(t, "createOffSessionPayment.id")
			b.RunDue(t)
			p := b.Payment(t, b.A.Keys.Secret, id)
			require.Equal(t, "failed", p["status"], tt.token)
			require.Equal(t, tt.reason, p["failureReason"], tt.token)
			att := p["attempts"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
			require.Equal(t, "declined", att["outcome"], tt.token)
			require.Equal(t, tt.code, att["declineCode"], tt.token)
			require.Equal(t, []string{
				"off_session_payment.created",
				"off_session_payment.attempt_started",
				"off_session_payment.failed",
			}, b.EventTypes(t, b.A.Keys.Secret, id), "attempt_failed is sent only while retries remain")
			r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on PaymentMethod { status } } }`, map[string]any{"id": c.PaymentMethodID})
			require.Equal(t, tt.pmStatus, r.String(t, "node.status"), tt.token)
		}

		// A processor failure never reached the issuer: it is tried again
		// shortly even with strategy none, and it is not a retry.
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedProcessingError"})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 500, map[string]any{"retryStrategy": "none"}))
		r.RequireOK(t)
		b.RunDue(t)
		r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { status nextAttempt { strategy reason } } } }`,
			map[string]any{"id": r.String(t, "createOffSessionPayment.id")})
		require.Equal(t, "pending_retry", r.String(t, "node.status"))
		require.Equal(t, "technical", r.String(t, "node.nextAttempt.strategy"))
	})
}

func TestManualCaptureInPartThenCancelReleasesTheAuthorization(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		key := b.A.Keys.Secret
		first := b.CreatePayment(t, key, apitest.PaymentInput(c, 4000, map[string]any{"captureMethod": "manual"}))
		first.RequireOK(t)
		second := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"captureMethod": "manual"}))
		second.RequireOK(t)
		b.RunDue(t)
		id1, id2 := first.String(t, "createOffSessionPayment.id"), second.String(t, "createOffSessionPayment.id")
		p := b.Payment(t, key, id1)
		require.Equal(t, "requires_capture", p["status"])
		require.EqualValues(t, 4000, p["amountCapturable"])

		r := b.Do(t, key, `mutation($id: ID!) { captureOffSessionPayment(id: $id, amountToCapture: 5000) { id } }`, map[string]any{"id": id1})
		require.Equal(t, "amountToCapture", r.RequireError(t, "BAD_USER_INPUT").Field())
		r = b.Do(t, key, `mutation($id: ID!) { captureOffSessionPayment(id: $id, amountToCapture: 2500) { status amountReceived amountCapturable } }`, map[string]any{"id": id1})
		r.RequireOK(t)
		require.Equal(t, "succeeded", r.String(t, "captureOffSessionPayment.status"))
		require.EqualValues(t, 2500, r.Get(t, "captureOffSessionPayment.amountReceived"))
		require.EqualValues(t, 0, r.Get(t, "captureOffSessionPayment.amountCapturable"))
		r = b.Do(t, key, `mutation($id: ID!) { captureOffSessionPayment(id: $id) { id } }`, map[string]any{"id": id1})
		require.Equal(t, "invalid_state_transition", r.RequireError(t, "CONFLICT").Extensions["reason"])

		r = b.Do(t, key, `mutation($id: ID!) { cancelOffSessionPayment(id: $id) { status canceledAt } }`, map[string]any{"id": id2})
		r.RequireOK(t)
		require.Equal(t, "canceled", r.String(t, "cancelOffSessionPayment.status"))
		require.Equal(t, []string{
			"off_session_payment.created", "off_session_payment.attempt_started",
			"off_session_payment.requires_capture", "off_session_payment.canceled",
		}, b.EventTypes(t, key, id2))
		ctx := viewer.SystemContext(context.Background())
		captured, err := st.Client.SimulatorCharge.Query().Where(simulatorcharge.IdempotencyKey(id1 + "-1")).Only(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 2500, captured.AmountCaptured, "the processor captured the part")
		released, err := st.Client.SimulatorCharge.Query().Where(simulatorcharge.IdempotencyKey(id2 + "-1")).Only(ctx)
		require.NoError(t, err)
		require.True(t, released.Voided, "the processor released the canceled authorization")
	})
}

func TestTargetDateWaitsForItsDayOnATestClock(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		start := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
		r := b.Do(t, key, `mutation($t: Time!) { createTestClock(input: {name: "march", frozenTime: $t}) { id frozenTime status } }`, map[string]any{"t": start})
		r.RequireOK(t)
		clk := r.String(t, "createTestClock.id")
		c := b.NewChain(t, b.A, apitest.ChainOptions{TestClockID: clk, TimeZone: "Asia/Tokyo"})
		r = b.CreatePayment(t, key, apitest.PaymentInput(c, 700, map[string]any{"targetDate": "2026-03-15"}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		// Midnight of 15 March in Tokyo is 15:00 UTC on the 14th.
		require.Equal(t, "2026-03-14T15:00:00Z", r.String(t, "createOffSessionPayment.nextAttemptAt"))

		b.RunDue(t) // wall-clock workers leave test-clock payments alone
		require.Equal(t, "pending", b.Payment(t, key, id)["status"])

		r = b.Do(t, key, `mutation($id: ID!, $t: Time!) { advanceTestClock(id: $id, frozenTime: $t) { frozenTime status } }`,
			map[string]any{"id": clk, "t": time.Date(2026, 3, 14, 14, 0, 0, 0, time.UTC)})
		r.RequireOK(t)
		require.Equal(t, "pending", b.Payment(t, key, id)["status"])

		r = b.Do(t, key, `mutation($id: ID!, $t: Time!) { advanceTestClock(id: $id, frozenTime: $t) { frozenTime status } }`,
			map[string]any{"id": clk, "t": time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC)})
		r.RequireOK(t)
		require.Equal(t, "ready", r.String(t, "advanceTestClock.status"))
		p := b.Payment(t, key, id)
		require.Equal(t, "succeeded", p["status"])
		att := p["attempts"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
		require.Equal(t, "2026-03-14T15:00:00Z", att["startedAt"], "charged on the clock's time, at the due time")

		r = b.Do(t, key, `mutation($id: ID!, $t: Time!) { advanceTestClock(id: $id, frozenTime: $t) { id } }`,
			map[string]any{"id": clk, "t": time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
		require.Equal(t, "frozenTime", r.RequireError(t, "BAD_USER_INPUT").Field())
	})
}

func TestRevokingAMandateFailsItsWaitingPayments(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		later := time.Now().UTC().AddDate(0, 0, 5).Format("2006-01-02")
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 700, map[string]any{"targetDate": later}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		r = b.Do(t, key, `mutation($id: ID!) { revokeMandate(id: $id, reason: "customer asked") { status revokedAt } }`, map[string]any{"id": c.MandateID})
		r.RequireOK(t)
		require.Equal(t, "revoked", r.String(t, "revokeMandate.status"))
		p := b.Payment(t, key, id)
		require.Equal(t, "failed", p["status"])
		require.Equal(t, "rejected_by_partner", p["failureReason"])
		require.EqualValues(t, 0, p["attemptCount"])

		r = b.CreatePayment(t, key, apitest.PaymentInput(c, 700, nil))
		e := r.RequireError(t, "BAD_USER_INPUT")
		require.Equal(t, "input.mandateID", e.Field())
		require.Equal(t, "mandate_revoked", e.Extensions["reason"])
	})
}

func TestGocronWorkersRunDuePayments(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		r := b.CreatePayment(t, b.A.Keys.Secret, apitest.PaymentInput(c, 1234, nil))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		b.Proc.Scheduler.Start()
		t.Cleanup(func() { _ = b.Proc.Scheduler.Shutdown() })
		require.Eventually(t, func() bool {
			return b.Payment(t, b.A.Keys.Secret, id)["status"] == "succeeded"
		}, 20*time.Second, 20*time.Millisecond)
	})
}

// TestRule1LostResponseIsRepeatedWithTheSameKey: when the processor's answer
// is lost after it charged, the attempt stays in flight and the call is
// repeated with the same idempotency key; the processor answers from its
// ledger and charges once.
func TestRule1LostResponseIsRepeatedWithTheSameKey(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		flaky := onSimulator(t, b, "Flaky", map[string]string{"drop_first_response": "true"})
		c := b.NewChain(t, flaky, apitest.ChainOptions{})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1500, nil))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")

		b.RunDue(t)
		p := b.Payment(t, key, id)
		require.Equal(t, "processing", p["status"], "an unknown outcome is neither success nor failure")
		att := p["attempts"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
		require.Equal(t, "in_flight", att["outcome"])

		// The repeat is due after the backoff; make it due now.
		_, err := st.DB.Exec(`UPDATE off_session_payments SET due_at = created_at WHERE id = '` + id + `'`)
		require.NoError(t, err)
		b.RunDue(t)
		p = b.Payment(t, key, id)
		require.Equal(t, "succeeded", p["status"])
		require.EqualValues(t, 1, p["attemptCount"])

		ctx := viewer.SystemContext(context.Background())
		charges, err := st.Client.SimulatorCharge.Query().Where(simulatorcharge.IdempotencyKey(id + "-1")).All(ctx)
		require.NoError(t, err)
		require.Len(t, charges, 1, "one charge at the processor")
		require.Equal(t, 2, charges[0].Calls, "sent twice, with the same key")
		n, err := st.Client.SimulatorCharge.Query().Where(simulatorcharge.ProcessorID(flaky.ProcessorID)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n, "no other key reached the processor")
	})
}

// TestUncapturedAuthorizationExpires: a manual-capture authorization not
// captured within seven days fails with authorization_expired and is
// released at the processor.
func TestUncapturedAuthorizationExpires(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		c := b.NewChain(t, b.A, apitest.ChainOptions{TestClockID: clk})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 4200, map[string]any{"captureMethod": "manual"}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		advance(t, b, key, clk, t0.Add(time.Hour))
		require.Equal(t, "requires_capture", b.Payment(t, key, id)["status"])
		advance(t, b, key, clk, t0.Add(6*24*time.Hour))
		require.Equal(t, "requires_capture", b.Payment(t, key, id)["status"])
		advance(t, b, key, clk, t0.Add(8*24*time.Hour))
		p := b.Payment(t, key, id)
		require.Equal(t, "failed", p["status"])
		require.Equal(t, "authorization_expired", p["failureReason"])
		require.EqualValues(t, 0, p["amountCapturable"])
		charge, err := st.Client.SimulatorCharge.Query().Where(simulatorcharge.IdempotencyKey(id + "-1")).Only(viewer.SystemContext(context.Background()))
		require.NoError(t, err)
		require.True(t, charge.Voided, "the authorization is released")
	})
}
