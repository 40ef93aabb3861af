package models_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent/retrymodel"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/scoring"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// TestModelOfOtherFeaturesIsNeverUsed: a model trained before an upgrade
// changed the features cannot be activated, and if it is the active one it
// scores nothing (the planner falls back to the heuristic); a model of this
// version's features is used.
func TestModelOfOtherFeaturesIsNeverUsed(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		acct, _, err := auth.CreateAccount(viewer.SystemContext(ctx), st.Client, "models")
		require.NoError(t, err)
		admin := viewer.NewContext(ctx, viewer.Viewer{AccountID: acct.ID, Role: viewer.RoleAdmin})
		svc := models.New(st.Client, clockwork.NewFakeClock(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		blob, err := (&scoring.Model{Trees: []scoring.Tree{{Feature: []int8{-1}, First: []int32{0}, P: []float64{0.4}}}}).Marshal()
		require.NoError(t, err)
		add := func(version int, features []string, status retrymodel.Status) {
			// Metrics that pass the activation gate.
			_, err := st.Client.RetryModel.Create().SetVersion(version).SetAlgorithm(models.Algorithm).
				SetFeatures(features).SetModel(blob).SetStatus(status).
				SetMetrics(scoring.Metrics{Rows: 1000, Positives: 0.3, AUC: 0.7}).Save(admin)
			require.NoError(t, err)
		}
		old := append([]string(nil), scoring.FeatureNames[:len(scoring.FeatureNames)-1]...)
		add(1, old, retrymodel.StatusCandidate)
		_, err = svc.Activate(admin, 1)
		e, ok := apierror.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, "model_features_outdated", e.Reason)

		add(2, old, retrymodel.StatusActive) // left active by the version before
		am, err := svc.Active(admin, acct.ID)
		require.NoError(t, err)
		require.Nil(t, am, "a model of other features never scores")

		add(3, scoring.FeatureNames, retrymodel.StatusCandidate)
		_, err = svc.Activate(admin, 3)
		require.NoError(t, err)
		fresh := models.New(st.Client, clockwork.NewFakeClock(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		am, err = fresh.Active(admin, acct.ID)
		require.NoError(t, err)
		require.NotNil(t, am)
		require.Equal(t, "v3", am.Version)
	})
}
