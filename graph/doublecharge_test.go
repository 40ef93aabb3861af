package graph_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent/simulatorcharge"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// The tests below prove rule 1, no double charge, where a repeat or a crash
// could have charged twice: the repeat sends what was pinned, and a recorded
// capture is finished under its key.

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
		flaky := onSimulator(t, b, "Flaky", map[string]string{"drop_first_response": "true"})
		c := b.NewChain(t, flaky, apitest.ChainOptions{})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1500, nil))
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
