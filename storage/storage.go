// Package storage opens offsession's database: an SQLite file by default
// (pure Go, no cgo), PostgreSQL in production. It owns the connection
// settings each needs, the versioned migrations, and transactions. It never
// holds business rules.
package storage

import (
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"

	"github.com/offsession/offsession/ent"
	_ "github.com/offsession/offsession/ent/runtime" // schema hooks and interceptors
)

// DefaultURL is the database used when none is configured: an SQLite file in
// the working directory, created on first start.
const DefaultURL = "sqlite://offsession.db"

// Store is an open database.
type Store struct {
	Client  *ent.Client
	DB      *sql.DB
	Dialect string // dialect.SQLite or dialect.Postgres

	url string // as opened, for Counted
}

// Open connects to the database that rawURL names: sqlite://PATH (or
// sqlite:PATH, or a path ending in .db) or postgres://... It does not migrate;
// call Migrate.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	return open(ctx, rawURL, nil)
}

// open is Open, with every statement counted by counter when it is not nil.
func open(ctx context.Context, rawURL string, counter *Counter) (*Store, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	driver, dsn, dia, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	switch {
	case driver == "sqlite" && counter == nil:
		db = sql.OpenDB(sqliteConnector{dsn: dsn, driver: &sqlite.Driver{}})
	case driver == "sqlite":
		db = sql.OpenDB(countingConnector{Connector: sqliteConnector{dsn: dsn, driver: &sqlite.Driver{}}, c: counter})
	case counter == nil:
		if db, err = sql.Open(driver, dsn); err != nil {
			return nil, fmt.Errorf("open %s database: %w", dia, err)
		}
	default:
		conn, err := stdlib.GetDefaultDriver().(sqldriver.DriverContext).OpenConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("open %s database: %w", dia, err)
		}
		db = sql.OpenDB(countingConnector{Connector: conn, c: counter})
	}
	if dia == dialect.Postgres {
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		// SQLite has one writer; every transaction takes the write lock at
		// BEGIN (_txlock=immediate), so a few connections are plenty.
		db.SetMaxOpenConns(4)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dia, err)
	}
	drv := entsql.OpenDB(dia, db)
	return &Store{Client: ent.NewClient(ent.Driver(drv)), DB: db, Dialect: dia, url: rawURL}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.Client.Close() }

// Redact returns rawURL with any password removed, for logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}

func parseURL(raw string) (driver, dsn, dia string, err error) {
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return "pgx", raw, dialect.Postgres, nil
	case strings.HasPrefix(raw, "sqlite://"):
		return "sqlite", sqliteDSN(strings.TrimPrefix(raw, "sqlite://")), dialect.SQLite, nil
	case strings.HasPrefix(raw, "sqlite:"):
		return "sqlite", sqliteDSN(strings.TrimPrefix(raw, "sqlite:")), dialect.SQLite, nil
	case strings.HasSuffix(raw, ".db") && !strings.Contains(raw, "://"):
		return "sqlite", sqliteDSN(raw), dialect.SQLite, nil
	}
	return "", "", "", errors.New("unsupported database URL: want sqlite://PATH or postgres://USER@HOST/DB")
}

// sqliteDSN turns a path (with optional ?query) into a modernc DSN with the
// settings offsession relies on: foreign keys on, a busy timeout instead of
// immediate "database is locked" errors, WAL so readers do not block the
// writer, immediate transactions so two writers queue rather than
// deadlock on a lock upgrade, and reads from a memory map and a page cache
// of up to 64 MiB per connection, not the default 2 MiB (the recovery
// aggregates of BenchmarkDashboardAt100k ran a fifth faster).
func sqliteDSN(path string) string {
	p, query, _ := strings.Cut(path, "?")
	q, _ := url.ParseQuery(query)
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "mmap_size(1073741824)")
	q.Set("_txlock", "immediate")
	return "file:" + p + "?" + q.Encode()
}

// WithTx runs fn in a transaction and commits it, or rolls it back if fn
// returns an error or panics.
func WithTx(ctx context.Context, client *ent.Client, fn func(tx *ent.Tx) error) (err error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
	}()
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, fmt.Errorf("roll back: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
