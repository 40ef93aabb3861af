// Package testclocks keeps test clocks: a customer on a test clock lives on
// its time, and advancing the clock runs, in time order and on the clock's
// time, every piece of work that falls due on the way (Runner does the
// work: the payments service).
package testclocks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/testclock"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/validate"
	"github.com/offsession/offsession/viewer"
)

// maxClockAdvance bounds one advance of a test clock.
const maxClockAdvance = 2 * 366 * 24 * time.Hour

// A test clock's time stays within these years, so a typo such as
// 9999-12-31 is refused, not stored to surprise every retry window and
// expiry computed from it.
const (
	minClockYear = 2000
	maxClockYear = 2100
)

func checkClockTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < minClockYear || y > maxClockYear {
		return apierror.InvalidReason(field, "test_clock_time_out_of_range", "must be in the years %d to %d, got %s", minClockYear, maxClockYear, t.UTC().Format(time.RFC3339))
	}
	return nil
}

// testClockBatch is how many due payments an advance claims at a time.
const testClockBatch = 100

// Runner does the work that falls due on a clock.
type Runner interface {
	// ClaimDueOn leases, for owner, up to limit payments on the clock due
	// at now, oldest due first.
	ClaimDueOn(ctx context.Context, clockID string, now time.Time, limit int, owner string) ([]string, error)
	// RunDue does what is due on a claimed payment.
	RunDue(ctx context.Context, paymentID, owner string) error
	// PutOff moves a payment's due time and drops any lease on it.
	PutOff(ctx context.Context, paymentID string, due time.Time) error
	// AttemptLease is how long a claim holds a payment.
	AttemptLease() time.Duration
}

// Service creates and advances test clocks.
type Service struct {
	db    *ent.Client
	keys  *idempotency.Keys
	clock clockwork.Clock
	run   Runner
	owner string
	log   *slog.Logger
}

// New returns the test clocks of db, whose due work run does; owner names
// this process in the clocks' leases.
func New(db *ent.Client, keys *idempotency.Keys, clock clockwork.Clock, run Runner, owner string, log *slog.Logger) *Service {
	return &Service{db: db, keys: keys, clock: clock, run: run, owner: owner, log: log}
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// Now is the time on test clock clockID, read from db, or on clock (in
// UTC) if clockID is nil: customers on a test clock live on its time.
func Now(ctx context.Context, db *ent.Client, clock clockwork.Clock, clockID *string) (time.Time, error) {
	if clockID == nil {
		return clock.Now().UTC(), nil
	}
	c, err := db.TestClock.Get(ctx, *clockID)
	if err != nil {
		return time.Time{}, fmt.Errorf("read test clock %s: %w", *clockID, err)
	}
	return c.FrozenTime.UTC(), nil
}

// CreateInput is the input of createTestClock.
type CreateInput struct {
	IdempotencyKey *string   `json:"-"`
	Name           *string   `json:"name,omitempty"`
	FrozenTime     time.Time `json:"frozenTime"`
}

// Create creates a test clock frozen at the given time.
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.TestClock, error) {
	if err := validate.OptionalText("input.name", in.Name, 256); err != nil {
		return nil, err
	}
	if in.FrozenTime.IsZero() {
		return nil, apierror.Invalid("input.frozenTime", "must be a time")
	}
	if err := checkClockTime("input.frozenTime", in.FrozenTime); err != nil {
		return nil, err
	}
	return idempotency.Create(ctx, s.keys, "createTestClock", in.IdempotencyKey, in, func(tx *ent.Tx) (*ent.TestClock, string, error) {
		c, err := tx.TestClock.Create().
			SetNillableName(in.Name).
			SetFrozenTime(in.FrozenTime.UTC()).
			Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return c, c.ID, nil
	}, s.db.TestClock.Get)
}

// Advance moves a test clock forward to frozenTime and runs, in time
// order and on the clock's time, every piece of work that falls due on the
// way: first attempts, retries, authorization expiries. It returns when the
// clock has reached frozenTime. An advance cut short by a crash is finished
// by Resume.
func (s *Service) Advance(ctx context.Context, id string, frozenTime time.Time) (*ent.TestClock, error) {
	if err := validate.ID("id", id, "clk"); err != nil {
		return nil, err
	}
	c, err := s.db.TestClock.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apierror.NotFoundID("id", id)
	} else if err != nil {
		return nil, err
	}
	to := frozenTime.UTC()
	switch {
	case !to.After(c.FrozenTime):
		return nil, apierror.Invalid("frozenTime", "must be after the clock's time, %s", c.FrozenTime.UTC().Format(time.RFC3339))
	case to.Sub(c.FrozenTime) > maxClockAdvance:
		return nil, apierror.Invalid("frozenTime", "a clock advances at most two years at a time")
	}
	if err := checkClockTime("frozenTime", to); err != nil {
		return nil, err
	}
	n, err := s.db.TestClock.Update().
		Where(testclock.ID(id), testclock.StatusEQ(testclock.StatusReady)).
		SetStatus(testclock.StatusAdvancing).
		SetAdvancingTo(to).
		SetLeaseOwner(s.owner).
		SetLeaseExpiresAt(s.now().Add(clockLease)).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("advance test clock %s: %w", id, err)
	}
	if n == 0 {
		return nil, apierror.Conflictf("id", "test_clock_advancing", "the clock is already advancing")
	}
	if err := s.runTestClock(viewer.SystemContext(ctx), id, to); err != nil {
		return nil, err
	}
	return s.db.TestClock.Get(ctx, id)
}

// clockLease is how long an advance may go without renewing its lease on
// the clock before another process takes the advance over.
const clockLease = 2 * time.Minute

// clockErrorBackoff is how far, on the clock, a payment whose work failed
// during an advance is put off, so the advance goes on.
const clockErrorBackoff = time.Hour

// ErrClockTakenOver stops an advance whose lease another process took.
var ErrClockTakenOver = errors.New("the test clock's advance was taken over")

// runTestClock steps the clock from due time to due time up to to, running
// what is due at each step, then sets it to to and ready. It holds the
// clock's lease, renewing it at each step and, within a long step, before
// a payment once a quarter of the lease has gone by.
func (s *Service) runTestClock(ctx context.Context, id string, to time.Time) error {
	c, err := s.db.TestClock.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("advance test clock %s: %w", id, err)
	}
	clockNow := c.FrozenTime.UTC()
	var renewed time.Time
	renew := func(set func(*ent.TestClockUpdate)) error {
		if set == nil && s.now().Sub(renewed) < clockLease/4 {
			return nil // renewed a moment ago
		}
		renewed = s.now()
		u := s.db.TestClock.Update().
			Where(testclock.ID(id), testclock.LeaseOwner(s.owner)).
			SetLeaseExpiresAt(s.now().Add(clockLease))
		if set != nil {
			set(u)
		}
		n, err := u.Save(ctx)
		if err != nil {
			return fmt.Errorf("advance test clock %s: %w", id, err)
		}
		if n == 0 {
			return ErrClockTakenOver
		}
		return nil
	}
	for {
		next, err := s.db.OffSessionPayment.Query().
			Where(
				offsessionpayment.TestClockID(id),
				offsessionpayment.DueAtNotNil(),
				offsessionpayment.DueAtLTE(to),
			).
			Order(ent.Asc(offsessionpayment.FieldDueAt)).
			First(ctx)
		if ent.IsNotFound(err) {
			break
		}
		if err != nil {
			return fmt.Errorf("advance test clock %s: %w", id, err)
		}
		if due := next.DueAt.UTC(); due.After(clockNow) {
			clockNow = due
		}
		if err := renew(func(u *ent.TestClockUpdate) { u.SetFrozenTime(clockNow) }); err != nil {
			return err
		}
		due, err := s.run.ClaimDueOn(ctx, id, clockNow, testClockBatch, s.owner)
		if err != nil {
			return err
		}
		if len(due) == 0 {
			// What is due is leased by a worker that died; its lease runs
			// out on the clock's time too.
			if clockNow = clockNow.Add(s.run.AttemptLease()); clockNow.After(to) {
				break
			}
			continue
		}
		for _, pid := range due {
			if err := renew(nil); err != nil {
				return err
			}
			if err := s.run.RunDue(ctx, pid, s.owner); err != nil {
				// One payment's failure must not stop the clock: put it
				// off, on the clock, and go on.
				s.log.ErrorContext(ctx, "test clock: payment failed; put off an hour", "clock", id, "payment", pid, "err", err)
				if err := s.run.PutOff(ctx, pid, clockNow.Add(clockErrorBackoff)); err != nil {
					return err
				}
			}
		}
	}
	return renew(func(u *ent.TestClockUpdate) {
		u.SetFrozenTime(to).SetStatus(testclock.StatusReady).ClearAdvancingTo().ClearLeaseOwner().ClearLeaseExpiresAt()
	})
}

// Resume finishes advances whose process stopped holding the
// clock's lease (it crashed).
func (s *Service) Resume(ctx context.Context) error {
	ctx = viewer.SystemContext(ctx)
	now := s.now()
	clocks, err := s.db.TestClock.Query().
		Where(
			testclock.StatusEQ(testclock.StatusAdvancing),
			testclock.Or(testclock.LeaseExpiresAtIsNil(), testclock.LeaseExpiresAtLT(now)),
		).
		All(ctx)
	if err != nil {
		return fmt.Errorf("find stalled test clocks: %w", err)
	}
	for _, c := range clocks {
		if c.AdvancingTo == nil {
			continue
		}
		n, err := s.db.TestClock.Update().
			Where(testclock.ID(c.ID), testclock.StatusEQ(testclock.StatusAdvancing),
				testclock.Or(testclock.LeaseExpiresAtIsNil(), testclock.LeaseExpiresAtLT(now))).
			SetLeaseOwner(s.owner).
			SetLeaseExpiresAt(now.Add(clockLease)).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("take over test clock %s: %w", c.ID, err)
		}
		if n == 0 {
			continue // another process took it first
		}
		if err := s.runTestClock(ctx, c.ID, *c.AdvancingTo); err != nil && !errors.Is(err, ErrClockTakenOver) {
			return err
		}
	}
	return nil
}
