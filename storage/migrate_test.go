package storage_test

import (
	"context"
	"testing"

	atlas "ariga.io/atlas/sql/schema"
	"entgo.io/ent/dialect/sql/schema"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// TestMigrationsMatchSchema proves the versioned migrations produce exactly
// the database the ent schema describes: after applying them, ent finds
// nothing to change. A schema change without `make migration` fails here.
func TestMigrationsMatchSchema(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		var pending []atlas.Change
		err := st.Client.Schema.Create(ctx,
			schema.WithDropColumn(true),
			schema.WithDropIndex(true),
			schema.WithDiffHook(func(next schema.Differ) schema.Differ {
				return schema.DiffFunc(func(current, desired *atlas.Schema) ([]atlas.Change, error) {
					changes, err := next.Diff(current, desired)
					pending = changes
					return nil, err // apply nothing
				})
			}),
		)
		require.NoError(t, err)
		require.Empty(t, pending, "the ent schema and the migrations differ: run make migration name=...")

		again, err := st.Migrate(ctx)
		require.NoError(t, err)
		require.Empty(t, again, "a second migrate must apply nothing")
	})
}
