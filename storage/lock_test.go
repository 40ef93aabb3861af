package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/storage"
)

// TestSQLiteHeldByOneServer: while one holder has an SQLite file's lock, a
// second is refused with ErrSQLiteInUse naming the holder's process; once
// released, the lock can be taken again. Opening the file stays possible
// for anyone (one-off commands, tests), and PostgreSQL and in-memory
// databases take no lock.
func TestSQLiteHeldByOneServer(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "held.db")
	release, err := storage.LockSQLite("sqlite://" + path)
	require.NoError(t, err)

	_, err = storage.LockSQLite("sqlite://" + path + "?_pragma=busy_timeout(1)")
	require.ErrorIs(t, err, storage.ErrSQLiteInUse)
	require.Contains(t, err.Error(), "process "+strconv.Itoa(os.Getpid()))
	require.Contains(t, err.Error(), path+".lock")
	_, err = storage.LockSQLite(path) // a bare path ending in .db
	require.ErrorIs(t, err, storage.ErrSQLiteInUse)

	st, err := storage.Open(context.Background(), "sqlite://"+path)
	require.NoError(t, err, "the lock does not stop opening the database")
	require.NoError(t, st.Close())

	require.NoError(t, release())
	again, err := storage.LockSQLite("sqlite://" + path)
	require.NoError(t, err, "a released lock can be taken again")
	require.NoError(t, again())

	for _, u := range []string{"postgres://postgres@127.0.0.1:1/none", "sqlite://:memory:", "sqlite://" + path + "?mode=memory"} {
		r, err := storage.LockSQLite(u)
		require.NoError(t, err, u)
		require.NoError(t, r())
	}
	_, err = storage.LockSQLite("sqlite://" + filepath.Join(t.TempDir(), "missing", "x.db"))
	require.Error(t, err)
	require.False(t, strings.Contains(err.Error(), storage.ErrSQLiteInUse.Error()), "a lock file that cannot be made is not 'in use': %v", err)
}
