package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
	"github.com/offsession/offsession/validate"
	"github.com/offsession/offsession/viewer"
)

// noProcessorBackoff is how long a payment waits when no processor can take
// its attempt (all disabled, say): the attempt is not made and not counted.
const noProcessorBackoff = 5 * time.Minute

// Unknown outcomes are repeated, with the same key, after a wait that
// doubles from UnknownOutcomeBackoff up to this.
const unknownOutcomeBackoffMax = time.Hour

// unknownOutcomeMaxCalls bounds the calls of one attempt whose outcome
// stays unknown: once this many have been sent, and the processor's record
// (a connector.Resolver) still does not say what happened, the payment
// goes to requires_review for an operator, instead of another call. The
// waits between them double from 15 seconds, so the eighth call goes out
// about 32 minutes after the first: a processor outage of a few minutes,
// or a search index an hour behind, ends without an operator. With Stripe
// that is at most 23 requests for the attempt: eight calls, a look-up
// before each repeat and before giving up, and one after each repeat that
// meets a stored 5xx. Repeats with the key are safe while the processor
// keeps it (Stripe: 24 hours): they meet its first answer.
const unknownOutcomeMaxCalls = 8

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
		endSpan(span, err)
	case p.Status == offsessionpayment.StatusProcessing:
		actx, span := s.startAttemptSpan(ctx, p, true)
		err = s.resumeAttempt(actx, p, now, owner)
		endSpan(span, err)
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

// move changes when a payment is next due without changing its status,
// under the same guards as a transition (its version, and a worker's lease,
// which it gives up).
type move struct {
	// due is the new due time; nil clears it.
	due *time.Time
	// next, when set, is the new next attempt time; awaitCard clears it.
	next      *time.Time
	awaitCard bool
	plan      *schematype.SchedulingDecision
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

// awaitCardPlan is the plan of a payment that waits for its card data to be
// updated.
func awaitCardPlan(why string) *schematype.SchedulingDecision {
	return &schematype.SchedulingDecision{
		Strategy: "await_card_update",
		Reason:   why + "; waiting for the payment method to be updated (savePaymentMethod with replacesPaymentMethodID)",
	}
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
		fail := func(reason FailureReason) error {
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
		if _, reason, _ := mandateRefusal(m, p.ID, p.CustomerID, p.PaymentMethodID, p.Cadence, p.Amount, p.Currency); reason != "" {
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
				return s.move(ctx, tx.Client(), p, move{owner: owner, due: p.RetryUntil, awaitCard: true, plan: awaitCardPlan(why)})
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
		isRetry := false
		if p.AttemptCount > 0 {
			// A retry if an earlier attempt on this card reached the
			// issuer: the first attempt on a backup card is not a
			// reattempt of that card, and networks count per card.
			isRetry, err = tx.Attempt.Query().
				Where(attempt.PaymentID(p.ID), attempt.CardFingerprint(pm.Fingerprint),
					attempt.Or(attempt.DeclineClassIsNil(), attempt.DeclineClassNEQ(attempt.DeclineClassTechnical))).
				Exist(ctx)
			if err != nil {
				return fmt.Errorf("read attempts: %w", err)
			}
		}
		if isRetry {
			// The card's network budget may have filled since this retry was
			// planned, with retries of other payments on the card.
			allowed, note, err := s.budgetAllows(ctx, tx, p.AccountID, pm, now)
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
		}
		plan, procs, err := routes.Plan(ctx, s.router, tx.Client(), pm, routing.Input{
			PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency, Cadence: string(p.Cadence),
			Metadata: p.Metadata, Now: now,
		})
		if err != nil {
			return err
		}
		for _, pr := range procs {
			if s.processors.Supports(pr) {
				cascade = append(cascade, pr)
			}
		}
		if len(cascade) == 0 {
			s.log.WarnContext(ctx, "no processor can take the attempt; waiting", "payment", p.ID, "payment_method", p.PaymentMethodID)
			due := now.Add(noProcessorBackoff)
			return s.move(ctx, tx.Client(), p, move{owner: owner, due: &due, next: &due})
		}
		token, ntid := tokenFor(pm, cascade[0].ID)
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
			SetIdempotencyKey(attemptKey(p.ID, number)).
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

// tokenFor returns a payment method's token at a processor.
func tokenFor(pm *ent.PaymentMethod, processorID string) (token, networkTransactionID string) {
	for _, t := range pm.ProcessorTokens {
		if t.ProcessorID == processorID {
			return t.Token, t.NetworkTransactionID
		}
	}
	return "", ""
}

// attemptKey is the processor idempotency key of an attempt: stable, so any
// repeat of the call after a crash sends the same key.
func attemptKey(paymentID string, number int) string {
	return fmt.Sprintf("%s-%d", paymentID, number)
}

// resumeAttempt repeats the processor call of an attempt left in flight: the
// same request, with the same idempotency key, so a processor that already
// acted answers as before.
func (s *Service) resumeAttempt(ctx context.Context, p *ent.OffSessionPayment, now time.Time, owner string) error {
	att, err := s.db.Attempt.Query().
		Where(attempt.PaymentID(p.ID), attempt.OutcomeEQ(attempt.OutcomeInFlight)).
		Only(ctx)
	if err != nil {
		return fmt.Errorf("find the attempt in flight: %w", err)
	}
	pm, err := s.db.PaymentMethod.Get(ctx, p.PaymentMethodID)
	if err != nil {
		return fmt.Errorf("read payment method: %w", err)
	}
	// The processor the attempt is on, then the rest of its cascade.
	var ids []string
	from := false
	for _, c := range att.Routing.Candidates {
		if c.ProcessorID == *att.ProcessorID {
			from = true
		}
		if from && c.Eligible {
			ids = append(ids, c.ProcessorID)
		}
	}
	if !from {
		ids = []string{*att.ProcessorID}
	}
	procs, err := s.db.Processor.Query().Where(processor.IDIn(ids...)).All(ctx)
	if err != nil {
		return fmt.Errorf("read processors: %w", err)
	}
	cascade := make([]*ent.Processor, 0, len(ids))
	for _, id := range ids {
		for _, pr := range procs {
			if pr.ID == id && (pr.ID == *att.ProcessorID || s.processors.Supports(pr)) {
				cascade = append(cascade, pr)
			}
		}
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
	if att.Calls >= unknownOutcomeMaxCalls || stale {
		return s.requireReview(ctx, p, att, now, owner)
	}
	s.log.InfoContext(ctx, "repeating an attempt whose outcome is unknown", "payment", p.ID, "attempt", att.ID,
		"idempotency_key", att.IdempotencyKey, "calls", att.Calls)
	return s.callProcessor(ctx, p, att, pm, cascade, now, owner)
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
	att, err := s.db.Attempt.Query().
		Where(attempt.PaymentID(p.ID), attempt.OutcomeEQ(attempt.OutcomeInFlight)).
		Only(sys)
	if err != nil {
		return nil, fmt.Errorf("find the attempt in flight: %w", err)
	}
	pm, err := s.db.PaymentMethod.Get(sys, p.PaymentMethodID)
	if err != nil {
		return nil, fmt.Errorf("read payment method: %w", err)
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
		out = connector.Outcome{Result: connector.Approved, Reference: deref(reference),
			Message: "resolved by an operator: the processor charged"}
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
	out, found, err := r.Lookup(callCtx, attemptRequest(p, att, pm, att.StartedAt))
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

// attemptRequest is att's pinned request to its processor.
func attemptRequest(p *ent.OffSessionPayment, att *ent.Attempt, pm *ent.PaymentMethod, now time.Time) connector.AuthorizeRequest {
	return connector.AuthorizeRequest{
		IdempotencyKey:            att.IdempotencyKey,
		Repeat:                    att.Calls > 0,
		Token:                     att.Token,
		NetworkTransactionID:      att.NetworkTransactionID,
		Amount:                    p.Amount,
		Currency:                  p.Currency,
		ManualCapture:             p.CaptureMethod == offsessionpayment.CaptureMethodManual,
		Cadence:                   string(p.Cadence),
		Description:               p.Description,
		StatementDescriptorSuffix: p.StatementDescriptorSuffix,
		Metadata:                  p.Metadata,
		CardBrand:                 string(pm.Brand),
		CardFunding:               string(pm.Funding),
		CardCountry:               pm.IssuingCountry,
		At:                        now,
	}
}

// callProcessor sends att's pinned request to the first processor of the
// cascade, outside any transaction, then records the outcome. A technical
// failure that the processor reports (nothing was processed) fails over,
// within the attempt and with the same idempotency key, to the next
// processor; an unknown outcome never does, since the first may have
// charged.
func (s *Service) callProcessor(ctx context.Context, p *ent.OffSessionPayment, att *ent.Attempt, pm *ent.PaymentMethod, cascade []*ent.Processor, now time.Time, owner string) error {
	segment := routing.Segment(routes.Card(pm), p.Currency)
	for {
		proc := cascade[0]
		req := attemptRequest(p, att, pm, now)
		conn, callErr := s.processors.Connector(proc)
		started := s.clock.Now()
		var out connector.Outcome
		if callErr == nil {
			out, callErr = s.authorize(ctx, conn, string(proc.Type), req)
			s.metrics.ProcessorCall(string(proc.Type), s.clock.Since(started))
		}
		latency := s.clock.Since(started)
		if errors.Is(callErr, connector.ErrUnknownOutcome) {
			return s.finishAttempt(ctx, p.ID, att.ID, out, callErr, latency, owner, nil)
		}
		if callErr != nil {
			// Not sent, or refused before processing: a technical failure.
			out = connector.Outcome{Result: connector.TechnicalError, Message: "the connector failed before the processor acted"}
			s.log.WarnContext(ctx, "processor call failed before it was processed", "payment", p.ID, "processor", proc.ID, "err", callErr)
		}
		cls := retry.Classify(out)
		if s.router.Stats().Observe(routing.Observation{ProcessorID: proc.ID, Segment: segment, At: now, Class: cls.Class, DeclineCode: out.DeclineCode}) {
			s.metrics.ProcessorEliminated(string(proc.Type))
		}
		if cls.Class == retry.Technical && out.Result == connector.TechnicalError && len(cascade) > 1 {
			var err error
			if att, err = s.failover(ctx, att, pm, proc.ID, cascade[1].ID, out.Message, now); err != nil {
				return err
			}
			cascade = cascade[1:]
			continue
		}
		return s.finishAttempt(ctx, p.ID, att.ID, out, nil, latency, owner, s.refreshCard(ctx, conn, att, out))
	}
}

// refreshCard reads the card behind the attempt's token afresh when the
// decline says its data is out of date and the connector can (a
// connector.CardRefresher): the processor's account updater may already
// hold the new expiry or number. Nil when not asked or not known.
func (s *Service) refreshCard(ctx context.Context, conn connector.Connector, att *ent.Attempt, out connector.Outcome) *connector.Card {
	r, ok := conn.(connector.CardRefresher)
	if !ok || retry.Classify(out).Class != retry.NeedsNewCardData {
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.ProcessorTimeout)
	defer cancel()
	card, err := r.RefreshCard(callCtx, att.Token)
	if err != nil {
		s.log.WarnContext(ctx, "reading the declined card afresh failed", "attempt", att.ID, "err", err)
		return nil
	}
	return &card
}

// authorize makes one processor call, bounded by the processor timeout,
// in a client span.
func (s *Service) authorize(ctx context.Context, conn connector.Connector, processorType string, req connector.AuthorizeRequest) (connector.Outcome, error) {
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.ProcessorTimeout)
	defer cancel()
	callCtx, span := connector.StartCall(callCtx, s.tracer, processorType, "authorize")
	out, err := conn.Authorize(callCtx, req)
	connector.EndCall(span, out, err)
	return out, err
}

// failover moves an attempt in flight from one processor to the next, with
// the next one's token, recording why, before the next is called.
func (s *Service) failover(ctx context.Context, att *ent.Attempt, pm *ent.PaymentMethod, from, to, why string, now time.Time) (*ent.Attempt, error) {
	rec := att.Routing
	rec.Failovers = append(rec.Failovers, schematype.Failover{ProcessorID: from, At: now, Reason: "technical failure: " + why})
	rec.Reason += "; failed over from " + from + " to " + to
	token, ntid := tokenFor(pm, to)
	next, err := s.db.Attempt.UpdateOne(att).
		Where(attempt.ProcessorID(from)).
		SetProcessorID(to).
		SetToken(token).
		SetNetworkTransactionID(ntid).
		SetCalls(0).
		SetRouting(rec).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("fail attempt %s over to %s: %w", att.ID, to, err)
	}
	s.log.WarnContext(ctx, "processor failed technically; failing over within the attempt", "attempt", att.ID, "from", from, "to", to)
	return next, nil
}

// lockPayment reads a payment for update: on PostgreSQL the row stays locked
// until the transaction ends, so concurrent finishers of one attempt take
// turns; SQLite has a single writer anyway.
func (s *Service) lockPayment(ctx context.Context, tx *ent.Tx, id string) (*ent.OffSessionPayment, error) {
	q := tx.OffSessionPayment.Query().Where(offsessionpayment.ID(id))
	if s.store.Dialect == dialect.Postgres {
		q = q.ForUpdate()
	}
	return q.Only(ctx)
}

// finishAttempt records a processor's answer on the attempt, once, and moves
// the payment on. An unknown outcome leaves the attempt in flight, to be
// repeated with the same request and key.
//
// fresh, for a decline about out-of-date card data, is the card as the
// processor now holds it: new data there is saved on the payment method
// and the payment retried at once.
func (s *Service) finishAttempt(ctx context.Context, paymentID, attemptID string, out connector.Outcome, callErr error, latency time.Duration, owner string, fresh *connector.Card) error {
	var record func() // the metrics of what committed
	err := s.tx(ctx, func(tx *ent.Tx) error {
		p, err := s.lockPayment(ctx, tx, paymentID)
		if err != nil {
			return err
		}
		att, err := tx.Attempt.Get(ctx, attemptID)
		if err != nil {
			return err
		}
		// A worker finishes a processing payment's attempt; an operator
		// (no lease) resolves one that requires review.
		if att.Outcome != attempt.OutcomeInFlight ||
			!(p.Status == offsessionpayment.StatusProcessing || owner == "" && p.Status == offsessionpayment.StatusRequiresReview) {
			return nil // another worker finished it
		}
		now, err := s.nowOn(ctx, tx.Client(), p.TestClockID)
		if err != nil {
			return err
		}
		if callErr != nil {
			calls := att.Calls + 1
			if err := tx.Attempt.UpdateOne(att).SetCalls(calls).Exec(ctx); err != nil {
				return fmt.Errorf("count the call of attempt %s: %w", attemptID, err)
			}
			ptype := s.processorType(ctx, tx.Client(), *att.ProcessorID)
			record = func() { s.metrics.UnknownOutcome(ptype) }
			wait := min(s.cfg.UnknownOutcomeBackoff<<min(calls-1, 16), unknownOutcomeBackoffMax)
			s.log.WarnContext(ctx, "processor outcome unknown; the call will be repeated with the same key",
				"payment", p.ID, "attempt", att.ID, "calls", calls, "retry_in", wait.String(), "err", callErr)
			due := now.Add(wait)
			return s.move(ctx, tx.Client(), p, move{owner: owner, due: &due})
		}
		cls := retry.Classify(out)
		upd := tx.Attempt.UpdateOne(att).
			SetOutcome(attempt.Outcome(out.Result)).
			SetNillableDeclineCode(nonEmpty(out.DeclineCode)).
			SetNillableNetworkAdviceCode(nonEmpty(out.NetworkAdviceCode)).
			SetNillableNetworkDeclineCode(nonEmpty(out.NetworkDeclineCode)).
			SetNillableProcessorReference(nonEmpty(out.Reference)).
			SetNillableMessage(nonEmpty(out.Message)).
			SetFinishedAt(now).
			SetLatencyMs(latency.Milliseconds()).
			AddCalls(1)
		if cls.Class != retry.Approved {
			upd.SetDeclineClass(attempt.DeclineClass(cls.Class))
		}
		finished, err := upd.Save(ctx)
		if ent.IsNotFound(err) {
			return nil // finished by another worker in the meantime
		}
		if err != nil {
			return fmt.Errorf("finish attempt %s: %w", attemptID, err)
		}
		ptype, declineClass := s.processorType(ctx, tx.Client(), *finished.ProcessorID), ""
		if cls.Class != retry.Approved {
			declineClass = string(cls.Class)
		}
		record = func() { s.metrics.AttemptFinished(ptype, string(out.Result), declineClass) }
		c := change{at: now, owner: owner, attempt: finished}
		switch cls.Class {
		case retry.Approved:
			if p.CaptureMethod == offsessionpayment.CaptureMethodManual {
				before := now.Add(s.cfg.AuthorizationValidity)
				c.to, c.amountCapturable, c.captureBefore = offsessionpayment.StatusRequiresCapture, &p.Amount, &before
			} else {
				c.to, c.amountReceived = offsessionpayment.StatusSucceeded, &p.Amount
			}
			if err := useMandate(ctx, tx, p.MandateID); err != nil {
				return err
			}
		case retry.Hard:
			if err := tx.PaymentMethod.UpdateOneID(p.PaymentMethodID).
				SetStatus(paymentmethod.StatusInvalid).SetInvalidReason(cls.Rule).Exec(ctx); err != nil {
				return fmt.Errorf("invalidate payment method: %w", err)
			}
			if moved, err := s.toNextBackup(ctx, tx, p, &c, now, "a hard decline ("+cls.Rule+")"); err != nil || moved {
				if err != nil {
					return err
				}
				break
			}
			c.to, c.failureReason = offsessionpayment.StatusFailed, offsessionpayment.FailureReasonNoValidPaymentMethod
		case retry.NeedsNewCardData:
			open := p.RetryUntil != nil && retry.WindowOpenAfter(now, *p.RetryUntil) && p.RetryStrategy != offsessionpayment.RetryStrategyNone
			if open && fresh != nil {
				updated, err := s.takeUpdatedCard(ctx, tx, p.PaymentMethodID, *fresh, now)
				if err != nil {
					return err
				}
				if updated {
					c.to, c.nextAttemptAt = offsessionpayment.StatusPendingRetry, &now
					c.plan = &schematype.SchedulingDecision{Strategy: "card_updated",
						Reason: cls.Rule + "; the processor holds new card data, now saved on the payment method: retry at once"}
					break
				}
			}
			// Retrying the same card data cannot succeed: wait for the
			// payment method to be updated, until the window closes.
			if err := tx.PaymentMethod.UpdateOneID(p.PaymentMethodID).
				SetStatus(paymentmethod.StatusExpired).SetInvalidReason(cls.Rule).Exec(ctx); err != nil {
				return fmt.Errorf("mark payment method expired: %w", err)
			}
			if moved, err := s.toNextBackup(ctx, tx, p, &c, now, "the card data is out of date ("+cls.Rule+")"); err != nil || moved {
				if err != nil {
					return err
				}
				break
			}
			if !open {
				c.to, c.failureReason = offsessionpayment.StatusFailed, offsessionpayment.FailureReasonNoValidPaymentMethod
				break
			}
			until := p.RetryUntil.UTC()
			c.to, c.dueAt, c.plan = offsessionpayment.StatusPendingRetry, &until, awaitCardPlan(cls.Rule)
		default:
			d, err := s.planRetry(ctx, tx, p, finished, cls, out, now)
			if err != nil {
				return err
			}
			record = func() {
				s.metrics.AttemptFinished(ptype, string(out.Result), declineClass)
				s.metrics.RetryDecision(string(d.Strategy), d.Kind, d.Record.ModelVersion)
			}
			if d.Stop {
				c.to, c.failureReason = offsessionpayment.StatusFailed, FailureReason(d.StopReason)
			} else {
				c.to, c.nextAttemptAt, c.plan = offsessionpayment.StatusPendingRetry, &d.At, &d.Record
				if d.Record.ModelVersion != "" && p.ModelVersion == "" {
					c.modelVersion = d.Record.ModelVersion
				}
			}
		}
		_, err = s.apply(ctx, tx, p, c)
		return err
	})
	if err == nil && record != nil {
		record()
	}
	return err
}

// takeUpdatedCard saves a processor's newer data for a payment method, with
// an event, when it differs from what is saved and is not expired itself.
func (s *Service) takeUpdatedCard(ctx context.Context, tx *ent.Tx, id string, card connector.Card, now time.Time) (bool, error) {
	pm, err := tx.PaymentMethod.Get(ctx, id)
	if err != nil {
		return false, fmt.Errorf("read payment method: %w", err)
	}
	same := pm.ExpMonth == card.ExpMonth && pm.ExpYear == card.ExpYear && pm.Last4 == card.Last4 &&
		(card.Fingerprint == "" || pm.Fingerprint == card.Fingerprint)
	if same || cardExpired(card.ExpMonth, card.ExpYear, now) || pm.Status == paymentmethod.StatusInvalid {
		return false, nil
	}
	upd := tx.PaymentMethod.UpdateOne(pm).
		SetExpMonth(card.ExpMonth).SetExpYear(card.ExpYear).SetLast4(card.Last4).
		SetStatus(paymentmethod.StatusActive).ClearInvalidReason()
	if card.Fingerprint != "" {
		upd.SetFingerprint(card.Fingerprint)
	}
	if pm, err = upd.Save(ctx); err != nil {
		return false, fmt.Errorf("save the updated card: %w", err)
	}
	if err := s.retryWaitingFor(ctx, tx, pm.ID); err != nil {
		return false, err
	}
	return true, emit(ctx, tx, pm.AccountID, events.PaymentMethodUpdated, pm.ID, "payment_method", 1, map[string]any{
		"id": pm.ID, "customer_id": pm.CustomerID, "last4": pm.Last4, "exp_month": pm.ExpMonth, "exp_year": pm.ExpYear,
		"reason": "account_updater",
	})
}

// nonEmpty is nil for "", so an absent code is null, not "".
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// useMandate marks a single-use mandate inactive once it has been charged.
func useMandate(ctx context.Context, tx *ent.Tx, id string) error {
	_, err := tx.Mandate.Update().
		Where(mandate.ID(id), mandate.UseLimitEQ(mandate.UseLimitSingleUse), mandate.StatusEQ(mandate.StatusActive)).
		SetStatus(mandate.StatusInactive).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("use single-use mandate %s: %w", id, err)
	}
	return nil
}
