package scheduler

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/go-co-op/gocron/v2"
)

// ErrLocked is returned when another replica holds a job's lock: the job
// does not run this time.
var ErrLocked = errors.New("job is running on another replica")

// PostgresLocker is a gocron.Locker on PostgreSQL session advisory locks:
// a lock is held by one connection from Lock to Unlock, and released by the
// server if that connection dies.
type PostgresLocker struct{ db *sql.DB }

// NewPostgresLocker returns a locker on db.
func NewPostgresLocker(db *sql.DB) *PostgresLocker { return &PostgresLocker{db: db} }

// Lock takes the lock named key, or returns ErrLocked.
func (l *PostgresLocker) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", key).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if !got {
		conn.Close()
		return nil, ErrLocked
	}
	return &pgLock{conn: conn, key: key}, nil
}

type pgLock struct {
	conn *sql.Conn
	key  string
}

func (l *pgLock) Unlock(ctx context.Context) error {
	defer l.conn.Close()
	if _, err := l.conn.ExecContext(ctx, "SELECT pg_advisory_unlock(hashtext($1))", l.key); err != nil {
		// The session may still hold the lock: throw the connection away
		// rather than return it to the pool, so the server releases it.
		_ = l.conn.Raw(func(any) error { return driver.ErrBadConn })
		return fmt.Errorf("unlock %s: %w", l.key, err)
	}
	return nil
}
