package graph_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/scoring"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// recordingPlanner is the smart planner, noting the features of the time
// each decision chose, as the planner saw them.
type recordingPlanner struct {
	inner retry.Planner
	mu    sync.Mutex
	seen  map[string][]uint8 // by payment and the number of the attempt planned
}

func (r *recordingPlanner) Plan(ctx context.Context, in retry.Input) (retry.Decision, error) {
	d, err := r.inner.Plan(ctx, in)
	if err == nil && !d.Stop && in.Scoring != nil {
		r.mu.Lock()
		r.seen[fmt.Sprintf("%s/%d", in.PaymentID, in.Scoring.AttemptNumber)] = scoring.Features(in.Scoring, d.At, nil)
		r.mu.Unlock()
	}
	return d, err
}

// TestTrainingAndPlanningSeeTheSameFeatures: every retry in the history
// the model trains on has exactly the features the planner saw when it
// chose that retry's time: one adapter (scoring.DecisionContext) builds
// both from the stored attempts, the customer's earlier payments included.
func TestTrainingAndPlanningSeeTheSameFeatures(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		rec := &recordingPlanner{inner: retry.NewSmartPlanner(0.2, 1), seen: map[string][]uint8{}}
		b := apitest.NewWith(t, st, func(c *app.Config) { c.SmartPlanner = rec })
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		for i := range 6 {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_visa", TestClockID: clk})
			// An earlier payment the customer paid, then one declined for
			// a lack of funds on another card, retried by smart.
			b.CreatePayment(t, key, apitest.PaymentInput(c, 900+i, map[string]any{"retryStrategy": "smart"})).RequireOK(t)
			declining := backupOf(t, b, b.A, c, "pm_card_chargeDeclinedInsufficientFunds", fmt.Sprintf("fp_nsf_%d", i), "")
			in := apitest.PaymentInput(declining, 1500, map[string]any{"retryStrategy": "smart", "targetDate": t0.AddDate(0, 0, 3+i).Format("2006-01-02")})
			b.CreatePayment(t, key, in).RequireOK(t)
		}
		advance(t, b, key, clk, t0.AddDate(0, 0, 30))

		examples, err := b.Proc.Models.Dataset(viewer.AccountContext(context.Background(), b.A.ID), nil)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(examples), 12, "the declined payments were retried")
		for _, ex := range examples {
			rec.mu.Lock()
			want, ok := rec.seen[fmt.Sprintf("%s/%d", ex.PaymentID, ex.Number)]
			rec.mu.Unlock()
			require.True(t, ok, "retry %d of %s was planned by the smart planner", ex.Number, ex.PaymentID)
			for f := range want {
				require.Equal(t, want[f], ex.Row.X[f], "retry %d of %s: feature %s", ex.Number, ex.PaymentID, scoring.FeatureNames[f])
			}
		}
	})
}
