package storage

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"entgo.io/ent/dialect"
)

// migrations holds the versioned migrations of each dialect, generated from
// the ent schema by `make migration name=...` (storage/migrations/gen.go).
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrationLockID is the PostgreSQL advisory lock that serialises replicas
// migrating the same database at start.
const migrationLockID = 0x6f666673 // "offs"

// Migration is one versioned migration file.
type Migration struct {
	Version string
	SQL     string
}

// Migrations returns the migrations for a dialect, oldest first.
func Migrations(dia string) ([]Migration, error) {
	dir := "migrations/" + dirFor(dia)
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func dirFor(dia string) string {
	if dia == dialect.Postgres {
		return "postgres"
	}
	return "sqlite"
}

// Migrate applies, in order and each in its own transaction, the migrations
// not yet applied, and returns the versions it applied. Several replicas may
// call it at once on PostgreSQL: an advisory lock lets one at a time through.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	all, err := Migrations(s.Dialect)
	if err != nil {
		return nil, err
	}
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if s.Dialect == dialect.Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
			return nil, fmt.Errorf("migrate: take lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID) //nolint:errcheck // released with the session anyway
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version varchar(255) PRIMARY KEY,
		applied_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	applied := map[string]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("migrate: read applied versions: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	var done []string
	for _, m := range all {
		if applied[m.Version] {
			continue
		}
		if err := applyMigration(ctx, conn, s.Dialect, m); err != nil {
			return done, err
		}
		done = append(done, m.Version)
	}
	return done, nil
}

func applyMigration(ctx context.Context, conn *sql.Conn, dia string, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", m.Version, err)
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("migrate %s: %w", m.Version, err)
	}
	insert := "INSERT INTO schema_migrations (version) VALUES (?)"
	if dia == dialect.Postgres {
		insert = "INSERT INTO schema_migrations (version) VALUES ($1)"
	}
	if _, err := tx.ExecContext(ctx, insert, m.Version); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("migrate %s: record version: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", m.Version, err)
	}
	return nil
}
