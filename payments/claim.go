package payments

import (
	"context"
	"fmt"
	"slices"
	"time"

	"entgo.io/ent/dialect"
)

// Claim SQL. A payment is due when its due_at has passed and no live lease
// holds it. The claim takes a lease on a batch, oldest due first. On
// PostgreSQL, SKIP LOCKED lets replicas claim side by side without waiting
// on or taking each other's rows; SQLite has a single writer, so the
// UPDATE ... RETURNING alone is enough.
const (
	claimPostgres = `UPDATE off_session_payments SET lease_owner = $1, lease_expires_at = $2
WHERE id IN (
	SELECT id FROM off_session_payments
	WHERE due_at IS NOT NULL AND due_at <= $3 AND %s
	  AND (lease_expires_at IS NULL OR lease_expires_at <= $3)
	ORDER BY due_at
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING id, due_at`
	claimSQLite = `UPDATE off_session_payments SET lease_owner = ?1, lease_expires_at = ?2
WHERE id IN (
	SELECT id FROM off_session_payments
	WHERE due_at IS NOT NULL AND due_at <= ?3 AND %s
	  AND (lease_expires_at IS NULL OR lease_expires_at <= ?3)
	ORDER BY due_at
	LIMIT ?4)
RETURNING id, due_at`
)

// Due is a claimed payment.
type Due struct {
	PaymentID string
	DueAt     time.Time
}

// ClaimDue leases up to limit payments that are due at now on the wall
// clock, for owner, and returns them oldest due first. Payments of
// customers on a test clock are left to the clock's advances.
func (s *Service) ClaimDue(ctx context.Context, now time.Time, limit int, owner string) ([]Due, error) {
	return s.claim(ctx, now.UTC(), limit, owner, nil)
}

func (s *Service) claim(ctx context.Context, now time.Time, limit int, owner string, clockID *string) ([]Due, error) {
	q, clockArg := claimSQLite, "?5"
	if s.store.Dialect == dialect.Postgres {
		q, clockArg = claimPostgres, "$5"
	}
	args := []any{owner, now.Add(s.cfg.AttemptLease), now, limit}
	if clockID == nil {
		q = fmt.Sprintf(q, "test_clock_id IS NULL")
	} else {
		q = fmt.Sprintf(q, "test_clock_id = "+clockArg)
		args = append(args, *clockID)
	}
	rows, err := s.store.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("claim due payments: %w", err)
	}
	defer rows.Close()
	var out []Due
	for rows.Next() {
		var d Due
		if err := rows.Scan(&d.PaymentID, &d.DueAt); err != nil {
			return nil, fmt.Errorf("claim due payments: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim due payments: %w", err)
	}
	// RETURNING gives no order; run oldest first.
	slices.SortFunc(out, func(a, b Due) int { return a.DueAt.Compare(b.DueAt) })
	return out, nil
}
