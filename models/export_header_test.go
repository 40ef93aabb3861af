package models_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/scoring"
	"github.com/offsession/offsession/viewer"
)

// TestExportColumnsAreUnique: the export's header names every column once
// (the attempt's number is "attempt", its feature bucket
// "attempt_number"), with the features in scoring's order and the label
// last.
func TestExportColumnsAreUnique(t *testing.T) {
	t.Parallel()
	st := storagetest.Open(t, dialect.SQLite)
	ctx := context.Background()
	acct, _, err := auth.CreateAccount(viewer.SystemContext(ctx), st.Client, "export")
	require.NoError(t, err)
	svc := models.New(st.Client, clockwork.NewRealClock(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	var buf bytes.Buffer
	n, err := svc.Export(viewer.AccountContext(ctx, acct.ID), &buf)
	require.NoError(t, err)
	require.Zero(t, n)
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1)
	header := rows[0]
	seen := map[string]bool{}
	for _, col := range header {
		require.False(t, seen[col], "column %q appears twice in %v", col, header)
		seen[col] = true
	}
	want := append(append([]string{"payment_id", "attempt", "decided_at", "started_at"}, scoring.FeatureNames...), "approved")
	require.Equal(t, want, header)
}
