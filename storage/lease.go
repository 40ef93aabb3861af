package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"entgo.io/ent/dialect"
)

// Lease takes a lease, for owner until until, on up to limit rows of table
// that the query selects, and returns their IDs. query selects the IDs of
// the candidate rows, oldest first; in it, {now} stands for now, {limit}
// for limit and {1}, {2}, ... for args. On PostgreSQL the candidates are
// locked with SKIP LOCKED, so concurrent leasers never wait on or take each
// other's rows; SQLite has a single writer, so the UPDATE alone is enough.
//
// query must exclude rows whose lease is still running.
func (s *Store) Lease(ctx context.Context, table, query string, owner string, until, now time.Time, limit int, args ...any) ([]string, error) {
	all := append([]any{owner, until, now, limit}, args...)
	ph := func(i int) string {
		if s.Dialect == dialect.Postgres {
			return fmt.Sprintf("$%d", i)
		}
		return fmt.Sprintf("?%d", i)
	}
	r := []string{"{now}", ph(3), "{limit}", ph(4)}
	for i := range args {
		r = append(r, fmt.Sprintf("{%d}", i+1), ph(5+i))
	}
	sel := strings.NewReplacer(r...).Replace(query)
	if s.Dialect == dialect.Postgres {
		sel += " FOR UPDATE SKIP LOCKED"
	}
	q := fmt.Sprintf("UPDATE %s SET lease_owner = %s, lease_expires_at = %s WHERE id IN (%s) RETURNING id", table, ph(1), ph(2), sel)
	rows, err := s.DB.QueryContext(ctx, q, all...)
	if err != nil {
		return nil, fmt.Errorf("lease %s: %w", table, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("lease %s: %w", table, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// LeaseOwner is a name for this process in leases, unique among the
// replicas: its host, process ID and a random suffix.
func LeaseOwner() string {
	host, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
