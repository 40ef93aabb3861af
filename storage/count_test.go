package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// TestCountedCountsEveryStatement: a counted store counts ent's statements
// and transactions and the SQL that bypasses ent (Lease), and logs them.
func TestCountedCountsEveryStatement(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := viewer.SystemContext(context.Background())
		var n storage.Counter
		cst, err := st.Counted(ctx, &n)
		require.NoError(t, err)
		t.Cleanup(func() { cst.Close() })
		n.Reset()

		require.NoError(t, storage.WithTx(ctx, cst.Client, func(tx *ent.Tx) error {
			_, err := tx.Account.Query().Count(ctx)
			return err
		}))
		_, err = cst.Client.Event.Query().Count(ctx)
		require.NoError(t, err)
		now := time.Now().UTC()
		_, err = cst.Lease(ctx, "off_session_payments", "SELECT id FROM off_session_payments WHERE due_at <= {now} LIMIT {limit}", "me", now.Add(time.Minute), now, 1)
		require.NoError(t, err)

		require.Equal(t, storage.Counts{Statements: 3, Transactions: 1}, n.Counts())
		log := n.Log()
		require.Len(t, log, 5, "%q", log)
		require.Equal(t, "BEGIN", log[0])
		require.Contains(t, log[1], "accounts")
		require.Equal(t, "COMMIT", log[2])
		require.Contains(t, log[4], "UPDATE off_session_payments SET lease_owner")

		_, err = st.Client.Event.Query().Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, n.Counts().Statements, "the store it was opened from is not counted")
		n.Reset()
		require.Equal(t, storage.Counts{}, n.Counts())
		require.Empty(t, n.Log())
	})
}
