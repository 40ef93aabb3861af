package graph_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// TestAttemptsAreHistory: an attempt that has finished is never updated
// and no attempt is ever deleted, whoever asks (here the store itself, past
// the API): the write changes nothing and the API reads the attempt as it
// finished.
func TestAttemptsAreHistory(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds"})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 800, nil))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		b.RunDue(t)
		before := attempts(t, b.Payment(t, key, id))
		require.Len(t, before, 1)
		require.Equal(t, "declined", before[0].Outcome)

		ctx := viewer.SystemContext(context.Background())
		att, err := st.Client.Attempt.Query().Where(attempt.PaymentID(id)).Only(ctx)
		require.NoError(t, err)
		_, err = st.Client.Attempt.UpdateOneID(att.ID).SetOutcome(attempt.OutcomeApproved).ClearDeclineCode().Save(ctx)
		require.Error(t, err, "a finished attempt is not updated")
		n, err := st.Client.Attempt.Update().Where(attempt.PaymentID(id)).SetOutcome(attempt.OutcomeApproved).Save(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "nor by a bulk update")
		require.Error(t, st.Client.Attempt.DeleteOneID(att.ID).Exec(ctx), "an attempt is not deleted")
		_, err = st.Client.Attempt.Delete().Where(attempt.PaymentID(id)).Exec(ctx)
		require.Error(t, err, "nor in bulk")

		require.Equal(t, before, attempts(t, b.Payment(t, key, id)), "the attempt reads as it finished")
	})
}

// TestColdStartSmartPlansWithTheHeuristic: with no active retry model a
// smart payment's retry is planned by the heuristic, at the very time a
// heuristic payment of the same customer and card gets, and says so.
func TestColdStartSmartPlansWithTheHeuristic(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		smart := policy(t, b, key, map[string]any{"name": "smart", "strategy": "smart", "window": "2w"})
		heuristic := policy(t, b, key, map[string]any{"name": "heuristic", "strategy": "heuristic", "window": "2w"})
		plan := func(pol string) string {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds", TestClockID: clk, TimeZone: "Europe/Berlin"})
			r := b.CreatePayment(t, key, apitest.PaymentInput(c, 2500, map[string]any{"retryPolicyID": pol}))
			r.RequireOK(t)
			return r.String(t, "createOffSessionPayment.id")
		}
		s, h := plan(smart), plan(heuristic)
		advance(t, b, key, clk, t0.Add(30*time.Minute)) // the first attempts, declined
		read := func(id string) (status, next, strategy, reason string) {
			r := b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { status nextAttemptAt nextAttempt { strategy reason } } } }`, map[string]any{"id": id})
			r.RequireOK(t)
			return r.String(t, "node.status"), r.String(t, "node.nextAttemptAt"), r.String(t, "node.nextAttempt.strategy"), r.String(t, "node.nextAttempt.reason")
		}
		sStatus, sNext, sStrategy, sReason := read(s)
		hStatus, hNext, _, _ := read(h)
		require.Equal(t, "pending_retry", sStatus)
		require.Equal(t, "pending_retry", hStatus)
		require.Equal(t, "smart", sStrategy)
		require.True(t, strings.HasPrefix(sReason, "no active retry model: the heuristic plans"), sReason)
		_, _, _, hReason := read(h)
		require.Equal(t, hReason, strings.TrimPrefix(sReason, "no active retry model: the heuristic plans; "), "the heuristic's rule plans the smart retry")
		// The heuristic spreads retries by up to 90 minutes per payment
		// (retry.jitter, keyed by the payment's ID): the two times are the
		// same rule's, within its spread.
		sAt, err := time.Parse(time.RFC3339, sNext)
		require.NoError(t, err)
		hAt, err := time.Parse(time.RFC3339, hNext)
		require.NoError(t, err)
		require.WithinDuration(t, hAt, sAt, 90*time.Minute, "smart with no model retries when the heuristic does")
	})
}
