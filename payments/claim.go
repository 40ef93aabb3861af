package payments

import (
	"context"
	"strings"
	"time"

	"github.com/offsession/offsession/ent/offsessionpayment"
)

// dueQuery selects payments whose due_at has passed and that no live lease
// holds, oldest due first; {1} is the test clock, when there is one.
const dueQuery = `SELECT id FROM off_session_payments
	WHERE due_at IS NOT NULL AND due_at <= {now} AND %s
	  AND (lease_expires_at IS NULL OR lease_expires_at <= {now})
	ORDER BY due_at
	LIMIT {limit}`

// ClaimDue leases up to limit payments that are due at now on the wall
// clock, for owner, and returns their IDs, oldest due first. Payments of customers on a test
// clock are left to the clock's advances.
func (s *Service) ClaimDue(ctx context.Context, now time.Time, limit int, owner string) ([]string, error) {
	return s.claim(ctx, now.UTC(), limit, owner, nil)
}

// ClaimDueOn leases, for owner, up to limit payments of customers on test
// clock clockID that are due at now on the clock, oldest due first.
func (s *Service) ClaimDueOn(ctx context.Context, clockID string, now time.Time, limit int, owner string) ([]string, error) {
	return s.claim(ctx, now.UTC(), limit, owner, &clockID)
}

// AttemptLease is how long a claim holds a payment.
func (s *Service) AttemptLease() time.Duration { return s.cfg.AttemptLease }

// PutOff moves a payment's due time and drops any lease on it.
func (s *Service) PutOff(ctx context.Context, id string, due time.Time) error {
	_, err := s.db.OffSessionPayment.Update().
		Where(offsessionpayment.ID(id)).
		SetDueAt(due).ClearLeaseOwner().ClearLeaseExpiresAt().AddVersion(1).
		Save(ctx)
	return err
}

func (s *Service) claim(ctx context.Context, now time.Time, limit int, owner string, clockID *string) ([]string, error) {
	clockCond, args := "test_clock_id IS NULL", []any(nil)
	if clockID != nil {
		clockCond, args = "test_clock_id = {1}", []any{*clockID}
	}
	query := strings.Replace(dueQuery, "%s", clockCond, 1)
	ids, err := s.store.Lease(ctx, "off_session_payments", query, owner, now.Add(s.cfg.AttemptLease), now, limit, args...)
	if err == nil {
		s.metrics.Claimed("payments", len(ids))
	}
	return ids, err
}
