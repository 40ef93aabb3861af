package models_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/retrymodel"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/storage"
)

// TestUpliftCurvesCountRecoveriesByDay: the recovery curves the dashboard
// draws give, for each day since the first decline, the share of a group's
// failed payments recovered by then, over the same days for the model and
// its holdout, as long as the slowest recovery.
func TestUpliftCurvesCountRecoveriesByDay(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		w := newWorld(t, st)
		m, err := w.db.RetryModel.Create().SetVersion(1).SetAlgorithm(models.Algorithm).SetFeatures(nil).
			SetStatus(retrymodel.StatusActive).Save(w.ctx)
		require.NoError(t, err)
		treated := func(c *ent.OffSessionPaymentCreate) { c.SetModelVersion("v1") }
		held := func(c *ent.OffSessionPaymentCreate) { c.SetHoldout(true) }
		for _, p := range []struct {
			after     time.Duration
			recovered bool
			set       func(*ent.OffSessionPaymentCreate)
		}{
			// The holdout is measured over the time the model's payments
			// were created in: interleaved.
			{20 * time.Hour, true, treated},   // day 1
			{16 * 24 * time.Hour, true, held}, // day 16: the curves run to it
			{84 * time.Hour, true, treated},   // day 4
			{50 * time.Hour, false, held},
			{30 * time.Hour, false, treated},
			{40 * time.Hour, false, treated},
		} {
			cus, pm, mdt := w.customer(t)
			w.payment(t, cus, pm, mdt, h0, []time.Time{h0.Add(p.after)}, []bool{p.recovered}, p.set)
		}
		u, err := w.svc.Uplift(w.ctx, m)
		require.NoError(t, err)
		require.Equal(t, 4, u.Treatment.Payments)
		require.Equal(t, 2, u.Holdout.Payments)
		model := make([]float64, 16)
		holdout := make([]float64, 16)
		for d := range model {
			switch {
			case d >= 3:
				model[d] = 0.5
			default:
				model[d] = 0.25
			}
		}
		holdout[15] = 0.5
		require.InDeltaSlice(t, model, u.Treatment.Curve, 1e-9)
		require.InDeltaSlice(t, holdout, u.Holdout.Curve, 1e-9)
		require.InDelta(t, u.Treatment.RecoveryRate, u.Treatment.Curve[15], 1e-9, "the curve ends at the recovery rate")
	})
}
