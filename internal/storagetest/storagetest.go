// Package storagetest gives tests a fresh, migrated database: an SQLite file
// in a temporary directory, and, when TEST_DATABASE_URL names a PostgreSQL
// server, a schema of its own on it, so tests run in parallel.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"entgo.io/ent/dialect"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/offsession/offsession/storage"
)

// EnvPostgres names the PostgreSQL server tests use, such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvPostgres = "TEST_DATABASE_URL"

// Dialects returns the stores tests run on: SQLite always, PostgreSQL when
// TEST_DATABASE_URL is set.
func Dialects() []string {
	if os.Getenv(EnvPostgres) != "" {
		return []string{dialect.SQLite, dialect.Postgres}
	}
	return []string{dialect.SQLite}
}

// Each runs fn as a subtest on every store of Dialects, each with a fresh
// database.
func Each(t *testing.T, fn func(t *testing.T, st *storage.Store)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated store of the dialect, closed and dropped
// when the test ends.
func Open(t testing.TB, d string) *storage.Store {
	t.Helper()
	u := URL(t, d)
	st, err := storage.Open(context.Background(), u)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	return st
}

// URL returns the URL of a fresh, empty database of the dialect, dropped
// when the test ends. The database is not migrated.
func URL(t testing.TB, d string) string {
	t.Helper()
	if d == dialect.SQLite {
		return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	}
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String()
}
