package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/lifecycle"
	"github.com/offsession/offsession/retry"
)

// ErrConcurrentChange is returned when a payment changed between being read
// and being written; the caller reads it again and decides anew.
var ErrConcurrentChange = apierror.Conflictf("id", "concurrent_change", "the payment changed at the same time; read it again and retry")

// change is one transition of a payment and what comes with it.
type change struct {
	to lifecycle.Status
	// at is the time of the change on the payment's clock.
	at            time.Time
	failureReason lifecycle.FailureReason
	// nextAttemptAt and plan, for pending_retry: when and why. Without a
	// next attempt time the payment waits (for new card data) until dueAt.
	nextAttemptAt *time.Time
	dueAt         *time.Time
	plan          *retry.SchedulingDecision
	// leaseUntil, for processing: when another worker may take over an
	// attempt this one leaves in flight.
	leaseUntil       time.Time
	captureBefore    *time.Time
	amountCapturable *int64
	amountReceived   *int64
	newAttempt       bool
	// owner, when set, is the lease the caller must still hold.
	owner string
	// attempt, when set, is described in the event's data.
	attempt *ent.Attempt
	// modelVersion, when set, is the retry model that planned the
	// payment's first retry.
	modelVersion string
	// switchTo, when set, is the backup the payment moves to.
	switchTo *customers.Backup
}

// apply moves p through one transition in tx: it checks the lifecycle,
// guards against a concurrent change (by version, and by lease for
// workers), keeps the scheduler's due time in step with the status, and
// writes the event in the same transaction.
func (s *Service) apply(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, c change) (*ent.OffSessionPayment, error) {
	evType, err := lifecycle.Transition(p.Status, c.to)
	if err != nil {
		return nil, err
	}
	if evType == events.PaymentMethodSwitched && c.switchTo == nil {
		// Only a move to a backup payment method makes this transition
		// (resuming a payment that is not paused asks for it): refused as
		// any other move outside the lifecycle.
		return nil, apierror.Conflictf("id", "invalid_state_transition", "a payment that is %s cannot become %s", p.Status, c.to)
	}
	upd := tx.OffSessionPayment.UpdateOneID(p.ID).
		Where(offsessionpayment.Version(p.Version)).
		SetStatus(c.to).
		AddVersion(1)
	if c.owner != "" {
		upd.Where(offsessionpayment.LeaseOwner(c.owner))
	}
	if c.newAttempt {
		upd.AddAttemptCount(1)
	}
	if c.amountCapturable != nil {
		upd.SetAmountCapturable(*c.amountCapturable)
	}
	if c.amountReceived != nil {
		upd.SetAmountReceived(*c.amountReceived)
	}
	if c.modelVersion != "" {
		upd.SetModelVersion(c.modelVersion)
	}
	if a := c.attempt; a != nil && a.Number == 1 && a.Outcome != attempt.OutcomeInFlight {
		upd.SetFirstOutcome(offsessionpayment.FirstOutcome(a.Outcome)).SetNillableFirstDeclineCode(a.DeclineCode).
			SetNillableFirstProcessorID(a.ProcessorID).SetNillableFirstFinishedAt(a.FinishedAt)
	}
	switch c.to {
	case offsessionpayment.StatusProcessing:
		upd.ClearNextAttemptAt().ClearNextAttemptPlan().
			SetDueAt(c.leaseUntil).SetLeaseExpiresAt(c.leaseUntil)
	case offsessionpayment.StatusPendingRetry:
		switch {
		case c.nextAttemptAt != nil:
			upd.SetNextAttemptAt(*c.nextAttemptAt).SetDueAt(*c.nextAttemptAt)
		case c.dueAt != nil:
			upd.ClearNextAttemptAt().SetDueAt(*c.dueAt)
		default:
			return nil, fmt.Errorf("payment %s: pending_retry needs a next attempt or due time", p.ID)
		}
		upd.ClearLeaseOwner().ClearLeaseExpiresAt()
		if c.plan != nil {
			upd.SetNextAttemptPlan(*c.plan)
		}
	case offsessionpayment.StatusRequiresCapture:
		upd.SetCaptureBefore(*c.captureBefore).SetDueAt(*c.captureBefore).
			ClearLeaseOwner().ClearLeaseExpiresAt()
	case offsessionpayment.StatusRequiresReview:
		// Out of the scheduler's reach until an operator resolves it.
		upd.ClearNextAttemptAt().ClearNextAttemptPlan().ClearDueAt().
			ClearLeaseOwner().ClearLeaseExpiresAt()
	case offsessionpayment.StatusPaused:
		// next_attempt_at stays, to show when the retry would have been
		// (nil: it was waiting for new card data).
		upd.ClearDueAt().ClearLeaseOwner().ClearLeaseExpiresAt()
	default: // succeeded, failed, canceled: nothing more to do.
		upd.ClearNextAttemptAt().ClearNextAttemptPlan().ClearDueAt().
			ClearLeaseOwner().ClearLeaseExpiresAt().ClearCaptureBefore().
			ClearPendingAction().ClearCaptureAmount()
	}
	if c.switchTo != nil {
		upd.SetPaymentMethodID(c.switchTo.PaymentMethodID).SetMandateID(c.switchTo.MandateID)
	}
	switch c.to {
	case offsessionpayment.StatusFailed, offsessionpayment.StatusCanceled, offsessionpayment.StatusSucceeded:
		// The single-use mandates this payment held and did not charge
		// (its own, its backups') are free again; one it charged is
		// inactive by now.
		if err := customers.ReleaseMandates(ctx, tx, p.ID); err != nil {
			return nil, err
		}
	}
	switch c.to {
	case offsessionpayment.StatusSucceeded:
		upd.SetSucceededAt(c.at).SetAmountCapturable(0)
	case offsessionpayment.StatusCanceled:
		upd.SetCanceledAt(c.at).SetAmountCapturable(0)
	case offsessionpayment.StatusFailed:
		if c.failureReason == "" {
			return nil, fmt.Errorf("payment %s: failed needs a failure reason", p.ID)
		}
		upd.SetFailedAt(c.at).SetFailureReason(c.failureReason).SetAmountCapturable(0)
	}
	updated, err := upd.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrConcurrentChange
	}
	if err != nil {
		return nil, fmt.Errorf("payment %s: %s → %s: %w", p.ID, p.Status, c.to, err)
	}
	if evType != events.PaymentMethodSwitched {
		if err := events.Emit(ctx, tx, events.Payment(updated, evType, c.attempt)); err != nil {
			return nil, err
		}
	}
	if c.switchTo != nil {
		e := events.Payment(updated, events.PaymentMethodSwitched, nil)
		e.Data["previous_payment_method"], e.Data["previous_mandate"] = p.PaymentMethodID, p.MandateID
		e.Data["reason"] = c.switchTo.Reason
		if err := events.Emit(ctx, tx, e); err != nil {
			return nil, err
		}
	}
	return updated, nil
}

// nextBackup returns the move to the first of p's backups after the
// payment method it charges now that can be charged at now
// (customers.NextBackup), within the retry window. why says what is wrong
// with the current one. Nil when there is none: the payment fails or
// waits as it would without backups.
func (s *Service) nextBackup(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, now time.Time, why string) (*customers.Backup, error) {
	if len(p.BackupPaymentMethods) == 0 || p.RetryUntil != nil && !retry.InWindow(now, *p.RetryUntil) {
		return nil, nil
	}
	return customers.NextBackup(ctx, tx, p, now, why)
}

// toBackup makes c the move to sw, with the first attempt on it due at
// once.
func (c *change) toBackup(sw *customers.Backup, now time.Time) {
	c.to, c.nextAttemptAt, c.switchTo = offsessionpayment.StatusPendingRetry, &now, sw
	c.plan = &retry.SchedulingDecision{Strategy: "backup_payment_method", Reason: sw.Reason}
}

// toNextBackup makes c the move to p's next backup when there is one;
// moved reports that there was.
func (s *Service) toNextBackup(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, c *change, now time.Time, why string) (moved bool, err error) {
	sw, err := s.nextBackup(ctx, tx, p, now, why)
	if err != nil || sw == nil {
		return false, err
	}
	c.toBackup(sw, now)
	return true, nil
}

// switchNow moves a payment that is not processing (pending, pending a
// retry) to its backup.
func (s *Service) switchNow(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, sw *customers.Backup, now time.Time, owner string) error {
	c := change{at: now, owner: owner}
	c.toBackup(sw, now)
	_, err := s.apply(ctx, tx, p, c)
	return err
}
