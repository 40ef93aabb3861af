package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing/routes"
	"github.com/offsession/offsession/validate"
	"github.com/offsession/offsession/viewer"
)

// resumeAttempt repeats the processor call of an attempt left in flight: the
// same request, with the same idempotency key, so a processor that already
// acted answers as before.
func (s *Service) resumeAttempt(ctx context.Context, p *ent.OffSessionPayment, now time.Time, owner string) error {
	att, pm, err := s.inFlight(ctx, p)
	if err != nil {
		return err
	}
	// The processor the attempt is on, then the rest of its cascade.
	cascade, err := routes.Resume(ctx, s.db, att.Routing, *att.ProcessorID, s.processors.Supports)
	if err != nil {
		return err
	}
	if len(cascade) == 0 || cascade[0].ID != *att.ProcessorID {
		return fmt.Errorf("the processor of attempt %s is gone", att.ID)
	}
	// An attempt left in flight by a crash before its call was counted
	// (calls 0) is looked up too once it is old: the call may have been
	// sent, and its key may be near the processor's retention.
	stale := now.Sub(att.StartedAt) >= s.cfg.UnknownOutcomeReviewAfter
	if att.Calls > 0 || stale {
		if found, err := s.lookUpAttempt(ctx, p, att, pm, cascade[0], owner); found || err != nil {
			return err
		}
	}
	if att.Calls >= retry.UnknownOutcomeMaxCalls || stale {
		return s.requireReview(ctx, p, att, now, owner)
	}
	s.log.InfoContext(ctx, "repeating an attempt whose outcome is unknown", "payment", p.ID, "attempt", att.ID,
		"idempotency_key", att.IdempotencyKey, "calls", att.Calls)
	return s.callProcessor(ctx, p, att, pm, cascade, now, owner)
}

// inFlight reads p's attempt in flight and the payment method it charges.
func (s *Service) inFlight(ctx context.Context, p *ent.OffSessionPayment) (*ent.Attempt, *ent.PaymentMethod, error) {
	att, err := s.db.Attempt.Query().
		Where(attempt.PaymentID(p.ID), attempt.OutcomeEQ(attempt.OutcomeInFlight)).
		Only(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("find the attempt in flight: %w", err)
	}
	pm, err := s.db.PaymentMethod.Get(ctx, p.PaymentMethodID)
	if err != nil {
		return nil, nil, fmt.Errorf("read payment method: %w", err)
	}
	return att, pm, nil
}

// requireReview stops repeating an attempt whose outcome stayed unknown:
// the payment waits in requires_review, out of the scheduler's reach, with
// the attempt still in flight, until an operator resolves it. Repeating
// further could, once the processor forgets the key (Stripe: after 24
// hours), run the charge a second time.
func (s *Service) requireReview(ctx context.Context, p *ent.OffSessionPayment, att *ent.Attempt, now time.Time, owner string) error {
	s.log.ErrorContext(ctx, "the outcome of an attempt stayed unknown; the payment requires review (resolveUnknownAttempt)",
		"payment", p.ID, "attempt", att.ID, "idempotency_key", att.IdempotencyKey, "calls", att.Calls, "started_at", att.StartedAt)
	return s.tx(ctx, func(tx *ent.Tx) error {
		_, err := s.apply(ctx, tx, p, change{to: offsessionpayment.StatusRequiresReview, at: now, owner: owner, attempt: att})
		return err
	})
}

// UnknownAttemptResolution is what an operator found out about an attempt
// whose outcome stayed unknown.
type UnknownAttemptResolution string

// The resolutions of an unknown attempt.
const (
	// ResolvedCharged: the processor charged (or, with manual capture,
	// authorized) the payment.
	ResolvedCharged UnknownAttemptResolution = "charged"
	// ResolvedNotCharged: the processor holds no charge under the
	// attempt's key; the next attempt goes out under a key of its own.
	ResolvedNotCharged UnknownAttemptResolution = "not_charged"
)

// ResolveUnknownAttempt settles the attempt in flight of a payment that
// requires review. The processor's own record is read first and, when it
// holds a final outcome, that outcome is recorded whatever the operator
// said; otherwise the operator's word is: charged finishes the attempt
// approved (reference, if given, is the processor's ID of the charge), not
// charged finishes it as a technical failure that nothing was processed,
// so the payment goes on to its next attempt under a new key. The payment
// then moves on as it would have from that outcome.
func (s *Service) ResolveUnknownAttempt(ctx context.Context, id string, resolution UnknownAttemptResolution, reference *string) (*ent.OffSessionPayment, error) {
	if resolution != ResolvedCharged && resolution != ResolvedNotCharged {
		return nil, apierror.Invalid("resolution", "must be charged or not_charged")
	}
	if err := validate.OptionalText("processorReference", reference, validate.MaxTextLen); err != nil {
		return nil, err
	}
	p, err := s.getPayment(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if p.Status != offsessionpayment.StatusRequiresReview {
		return nil, apierror.Conflictf("id", "invalid_state_transition", "only a payment that requires review can be resolved; this one is %s", p.Status)
	}
	sys := viewer.SystemContext(ctx)
	att, pm, err := s.inFlight(sys, p)
	if err != nil {
		return nil, err
	}
	proc, err := s.db.Processor.Get(sys, *att.ProcessorID)
	if err != nil {
		return nil, fmt.Errorf("read the attempt's processor: %w", err)
	}
	if found, err := s.lookUpAttempt(sys, p, att, pm, proc, ""); err != nil || found {
		if err != nil {
			return nil, err
		}
		return s.getPayment(ctx, s.db, id)
	}
	out := connector.Outcome{Result: connector.TechnicalError,
		Message: "resolved by an operator: the processor holds no charge under the attempt's key"}
	if resolution == ResolvedCharged {
		out = connector.Outcome{Result: connector.Approved, Message: "resolved by an operator: the processor charged"}
		if reference != nil {
			out.Reference = *reference
		}
	}
	if err := s.finishAttempt(sys, p.ID, att.ID, out, nil, 0, "", nil); err != nil {
		return nil, err
	}
	return s.getPayment(ctx, s.db, id)
}

// lookUpAttempt asks a processor that can tell (a connector.Resolver) what
// became of the attempt's earlier call, before the call is repeated: a
// processor that stored its first answer, a 500 say, would give that
// answer again to the repeat, whatever it did. found reports that the
// processor holds a final outcome, now recorded.
func (s *Service) lookUpAttempt(ctx context.Context, p *ent.OffSessionPayment, att *ent.Attempt, pm *ent.PaymentMethod, proc *ent.Processor, owner string) (found bool, err error) {
	conn, err := s.processors.Connector(proc)
	if err != nil {
		return false, nil // callProcessor meets and reports the same error
	}
	r, ok := conn.(connector.Resolver)
	if !ok {
		return false, nil
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.ProcessorTimeout)
	defer cancel()
	started := s.clock.Now()
	callCtx, span := connector.StartCall(callCtx, s.tracer, string(proc.Type), "lookup")
	out, found, err := r.Lookup(callCtx, processors.AuthorizeRequest(p, att, pm, att.StartedAt))
	connector.EndCall(span, out, err)
	if err != nil || !found {
		if err != nil {
			s.log.WarnContext(ctx, "looking up an attempt whose outcome is unknown failed", "payment", p.ID, "attempt", att.ID, "err", err)
		}
		return false, nil
	}
	s.log.InfoContext(ctx, "the outcome of an attempt was found at the processor", "payment", p.ID, "attempt", att.ID,
		"outcome", out.Result, "reference", out.Reference)
	return true, s.finishAttempt(ctx, p.ID, att.ID, out, nil, s.clock.Since(started), owner, s.refreshCard(ctx, conn, att, out))
}
