package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/lifecycle"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
	"github.com/offsession/offsession/tracing"
	"github.com/offsession/offsession/viewer"
)

// noProcessorBackoff is how long a payment waits when no processor can take
// its attempt (all disabled, say): the attempt is not made and not counted.
const noProcessorBackoff = 5 * time.Minute

// RunDue does the work payment id is due for, while the caller holds its
// lease as owner: the next attempt, the recovery of an attempt left in flight
// by a crash or timeout, an action on an authorization, or its expiry.
func (s *Service) RunDue(ctx context.Context, id, owner string) error {
	ctx = viewer.SystemContext(ctx)
	p, err := s.db.OffSessionPayment.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("run payment %s: %w", id, err)
	}
	if p.LeaseOwner != owner {
		return nil // another worker took it over
	}
	now, err := s.nowOn(ctx, s.db, p.TestClockID)
	if err != nil {
		return err
	}
	switch {
	case p.DueAt == nil || p.DueAt.After(now):
		err = s.move(ctx, s.db, p, move{owner: owner, due: p.DueAt})
	case p.Status == offsessionpayment.StatusPending, p.Status == offsessionpayment.StatusPendingRetry:
		actx, span := s.startAttemptSpan(ctx, p, false)
		err = s.startAttempt(actx, p, now, owner)
		tracing.End(span, err, "attempt failed")
	case p.Status == offsessionpayment.StatusProcessing:
		actx, span := s.startAttemptSpan(ctx, p, true)
		err = s.resumeAttempt(actx, p, now, owner)
		tracing.End(span, err, "attempt failed")
	case p.Status == offsessionpayment.StatusRequiresCapture:
		err = s.runAuthorization(ctx, p, now, owner)
	default:
		err = s.move(ctx, s.db, p, move{owner: owner})
	}
	if errors.Is(err, ErrConcurrentChange) {
		// The payment changed under us (canceled, paused, taken over): the
		// next claim, if any, decides anew.
		return nil
	}
	if err != nil {
		return fmt.Errorf("run payment %s: %w", id, err)
	}
	return nil
}

// startAttemptSpan starts the span of the work on payment p. Its first
// attempt continues the trace of the request that created the payment;
// a later one starts a trace of its own, linked to that request.
func (s *Service) startAttemptSpan(ctx context.Context, p *ent.OffSessionPayment, resume bool) (context.Context, trace.Span) {
	number := p.AttemptCount + 1 // the attempt to start, or the one in flight
	if resume {
		number = p.AttemptCount
	}
	return tracing.StartLater(ctx, s.cfg.Tracer, "payments.attempt", p.TraceContext, number == 1,
		attribute.String("offsession.payment.id", p.ID),
		attribute.Int("offsession.attempt.number", number),
		attribute.Bool("offsession.attempt.resumed", resume),
	)
}

// move changes when a payment is next due without changing its status,
// under the same guards as a transition (its version, and a worker's lease,
// which it gives up).
type move struct {
	// due is the new due time; nil clears it.
	due *time.Time
	// next, when set, is the new next attempt time; awaitCard clears it.
	next      *time.Time
	awaitCard bool
	plan      *retry.SchedulingDecision
	owner     string
}

func (s *Service) move(ctx context.Context, db *ent.Client, p *ent.OffSessionPayment, m move) error {
	upd := db.OffSessionPayment.Update().
		Where(offsessionpayment.ID(p.ID), offsessionpayment.Version(p.Version)).
		AddVersion(1)
	if m.owner != "" {
		upd.Where(offsessionpayment.LeaseOwner(m.owner)).ClearLeaseOwner().ClearLeaseExpiresAt()
	}
	if m.due != nil {
		upd.SetDueAt(*m.due)
	} else {
		upd.ClearDueAt()
	}
	switch {
	case m.next != nil:
		upd.SetNextAttemptAt(*m.next)
	case m.awaitCard:
		upd.ClearNextAttemptAt()
	}
	if m.plan != nil {
		upd.SetNextAttemptPlan(*m.plan)
	}
	n, err := upd.Save(ctx)
	if err != nil {
		return fmt.Errorf("reschedule payment %s: %w", p.ID, err)
	}
	if n == 0 {
		return ErrConcurrentChange
	}
	return nil
}

// startAttempt checks that the payment may still be charged, picks the
// processors, and commits the attempt with its idempotency key and its
// request before any processor is called.
func (s *Service) startAttempt(ctx context.Context, p *ent.OffSessionPayment, now time.Time, owner string) error {
	var (
		att     *ent.Attempt
		pm      *ent.PaymentMethod
		cascade []*ent.Processor
		started bool
		due     = p.DueAt
	)
	err := s.tx(ctx, func(tx *ent.Tx) error {
		fail := func(reason lifecycle.FailureReason) error {
			_, err := s.apply(ctx, tx, p, change{to: offsessionpayment.StatusFailed, at: now, failureReason: reason, owner: owner})
			return err
		}
		// A payment whose card or mandate can no longer be charged moves
		// to its next backup, if it has one that can.
		orBackup := func(why string, otherwise func() error) error {
			sw, err := s.nextBackup(ctx, tx, p, now, why)
			if err != nil {
				return err
			}
			if sw == nil {
				return otherwise()
			}
			return s.switchNow(ctx, tx, p, sw, now, owner)
		}
		m, err := tx.Mandate.Get(ctx, p.MandateID)
		if err != nil {
			return fmt.Errorf("read mandate: %w", err)
		}
		if _, reason, _ := customers.MandateRefusal(m, p.ID, p.CustomerID, p.PaymentMethodID, p.Cadence, p.Amount, p.Currency); reason != "" {
			return orBackup("the mandate no longer allows the charge ("+reason+")", func() error {
				return fail(offsessionpayment.FailureReasonRejectedByPartner)
			})
		}
		if pm, err = tx.PaymentMethod.Get(ctx, p.PaymentMethodID); err != nil {
			return fmt.Errorf("read payment method: %w", err)
		}
		switch pm.Status {
		case paymentmethod.StatusInvalid:
			return orBackup("the payment method is invalid ("+pm.InvalidReason+")", func() error {
				return fail(offsessionpayment.FailureReasonNoValidPaymentMethod)
			})
		case paymentmethod.StatusExpired:
			why := "the card data is out of date (" + pm.InvalidReason + ")"
			return orBackup(why, func() error {
				// Wait for new card data, as the payment that found it out
				// does, until the window closes: a payment that comes due at
				// its closing instant still waiting has waited all it may.
				if p.RetryUntil != nil && !retry.WindowOpenAfter(now, *p.RetryUntil) {
					return fail(offsessionpayment.FailureReasonNoValidPaymentMethod)
				}
				return s.move(ctx, tx.Client(), p, move{owner: owner, due: p.RetryUntil, awaitCard: true, plan: retry.AwaitCardUpdate(why)})
			})
		}
		// The attempt is judged on the time it was planned for, as the
		// planner judged it: a worker that picks it up a moment late does
		// not push a retry planned at the window's close out of it.
		scheduled := now
		if p.NextAttemptAt != nil {
			scheduled = p.NextAttemptAt.UTC()
		}
		if p.RetryUntil != nil && !retry.InWindow(scheduled, *p.RetryUntil) {
			return fail(offsessionpayment.FailureReasonExceededRetryWindow)
		}
		// The card's network budget may have filled since this retry was
		// planned, with retries of other payments on the card.
		isRetry, allowed, note, err := s.history.Retry(ctx, tx, p, pm, now)
		if err != nil {
			return err
		}
		if allowed.After(now) {
			if p.RetryUntil != nil && !retry.InWindow(allowed, *p.RetryUntil) {
				return fail(offsessionpayment.FailureReasonExceededRetryWindow)
			}
			plan := p.NextAttemptPlan
			plan.Reason += "; moved later: " + note
			return s.move(ctx, tx.Client(), p, move{owner: owner, due: &allowed, next: &allowed, plan: &plan})
		}
		plan, procs, err := routes.Plan(ctx, s.router, tx.Client(), pm, routing.Input{
			PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency, Cadence: string(p.Cadence),
			Metadata: p.Metadata, Now: now,
		})
		if err != nil {
			return err
		}
		cascade = s.processors.Callable(procs)
		if len(cascade) == 0 {
			s.log.WarnContext(ctx, "no processor can take the attempt; waiting", "payment", p.ID, "payment_method", p.PaymentMethodID)
			due := now.Add(noProcessorBackoff)
			return s.move(ctx, tx.Client(), p, move{owner: owner, due: &due, next: &due})
		}
		token, ntid := routes.Token(pm, cascade[0].ID)
		number := p.AttemptCount + 1
		att, err = tx.Attempt.Create().
			SetAccountID(p.AccountID).
			SetPaymentID(p.ID).
			SetCustomerID(p.CustomerID).
			SetPaymentMethodID(pm.ID).
			SetNumber(number).
			SetProcessorID(cascade[0].ID).
			SetToken(token).
			SetNetworkTransactionID(ntid).
			SetIsRetry(isRetry).
			SetIdempotencyKey(idempotency.AttemptKey(p.ID, number)).
			SetCardFingerprint(pm.Fingerprint).
			SetCardNetwork(string(pm.Brand)).
			SetSegment(routing.Segment(routes.Card(pm), p.Currency)).
			SetScheduledAt(scheduled).
			SetStartedAt(now).
			SetRouting(plan.Record).
			SetScheduling(p.NextAttemptPlan).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("record attempt %d: %w", number, err)
		}
		p, err = s.apply(ctx, tx, p, change{
			to:         offsessionpayment.StatusProcessing,
			at:         now,
			leaseUntil: now.Add(s.cfg.AttemptLease),
			newAttempt: true,
			owner:      owner,
			attempt:    att,
		})
		started = err == nil
		return err
	})
	if err != nil || !started {
		return err
	}
	if due != nil && p.TestClockID == nil {
		s.metrics.AttemptStarted(now.Sub(*due))
	}
	return s.callProcessor(ctx, p, att, pm, cascade, now, owner)
}
