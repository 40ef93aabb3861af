package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/viewer"
)

// noProcessorBackoff is how long a payment waits when no processor can take
// its attempt (all disabled, say): the attempt is not made and not counted.
const noProcessorBackoff = 5 * time.Minute

// RunDue does the work payment id is due for, while the caller holds its
// lease as owner: the next attempt, the recovery of an attempt left in flight
// by a crash or timeout, or the expiry of an uncaptured authorization.
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
	if p.DueAt == nil || p.DueAt.After(now) {
		return s.release(ctx, p, owner, nil)
	}
	switch p.Status {
	case offsessionpayment.StatusPending, offsessionpayment.StatusPendingRetry:
		err = s.startAttempt(ctx, p, now, owner)
	case offsessionpayment.StatusProcessing:
		err = s.resumeAttempt(ctx, p, now, owner)
	case offsessionpayment.StatusRequiresCapture:
		err = s.expireAuthorization(ctx, p, now, owner)
	default:
		err = s.release(ctx, p, owner, nil)
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

// release gives up the lease on p without a transition, optionally moving
// its due time.
func (s *Service) release(ctx context.Context, p *ent.OffSessionPayment, owner string, due *time.Time) error {
	upd := s.db.OffSessionPayment.Update().
		Where(offsessionpayment.ID(p.ID), offsessionpayment.LeaseOwner(owner)).
		ClearLeaseOwner().ClearLeaseExpiresAt()
	if due != nil {
		upd.SetDueAt(*due).AddVersion(1)
	}
	if _, err := upd.Save(ctx); err != nil {
		return fmt.Errorf("release payment %s: %w", p.ID, err)
	}
	return nil
}

// startAttempt checks that the payment may still be charged, picks the
// processor, and commits the attempt with its idempotency key before the
// processor is called.
func (s *Service) startAttempt(ctx context.Context, p *ent.OffSessionPayment, now time.Time, owner string) error {
	var (
		att      *ent.Attempt
		pm       *ent.PaymentMethod
		cascade  []*ent.Processor
		wait     bool
		deferred *time.Time
	)
	err := s.tx(ctx, func(tx *ent.Tx) error {
		fail := func(reason FailureReason) error {
			_, err := s.apply(ctx, tx, p, change{to: offsessionpayment.StatusFailed, at: now, failureReason: reason, owner: owner})
			return err
		}
		m, err := tx.Mandate.Get(ctx, p.MandateID)
		if err != nil {
			return fmt.Errorf("read mandate: %w", err)
		}
		if _, reason, _ := mandateRefusal(m, p.CustomerID, p.PaymentMethodID, p.Cadence, p.Amount, p.Currency); reason != "" {
			return fail(offsessionpayment.FailureReasonRejectedByPartner)
		}
		if pm, err = tx.PaymentMethod.Get(ctx, p.PaymentMethodID); err != nil {
			return fmt.Errorf("read payment method: %w", err)
		}
		if pm.Status != paymentmethod.StatusActive {
			return fail(offsessionpayment.FailureReasonNoValidPaymentMethod)
		}
		if p.RetryUntil != nil && now.After(*p.RetryUntil) && p.AttemptCount > 0 {
			return fail(offsessionpayment.FailureReasonExceededRetryWindow)
		}
		if p.AttemptCount > 0 {
			// A retry: the card's network budget may have filled since it
			// was planned, with retries of other payments on the card.
			allowed, note, err := s.budgetAllows(ctx, tx, p.AccountID, pm, now)
			if err != nil {
				return err
			}
			if allowed.After(now) {
				if p.RetryUntil != nil && allowed.After(*p.RetryUntil) {
					return fail(offsessionpayment.FailureReasonExceededRetryWindow)
				}
				plan := p.NextAttemptPlan
				plan.Reason += "; moved later: " + note
				deferred = &allowed
				return s.reschedule(ctx, tx, p, allowed, plan, owner)
			}
		}
		plan, err := s.router.Plan(ctx, tx.Client(), routing.Input{
			PaymentID: p.ID, Amount: p.Amount, Currency: p.Currency, Cadence: string(p.Cadence),
			Metadata: p.Metadata, PaymentMethod: pm, Now: now,
		})
		if err != nil {
			return err
		}
		if len(plan.Processors) == 0 {
			wait = true
			return nil
		}
		cascade = plan.Processors
		number := p.AttemptCount + 1
		scheduled := now
		if p.NextAttemptAt != nil {
			scheduled = p.NextAttemptAt.UTC()
		}
		att, err = tx.Attempt.Create().
			SetAccountID(p.AccountID).
			SetPaymentID(p.ID).
			SetNumber(number).
			SetProcessorID(cascade[0].ID).
			SetIdempotencyKey(attemptKey(p.ID, number)).
			SetCardFingerprint(pm.Fingerprint).
			SetCardNetwork(string(pm.Brand)).
			SetSegment(routing.Segment(pm, p.Currency)).
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
		return err
	})
	if err != nil {
		return err
	}
	if wait {
		s.log.WarnContext(ctx, "no processor can take the attempt; waiting", "payment", p.ID, "payment_method", p.PaymentMethodID)
		due := now.Add(noProcessorBackoff)
		return s.release(ctx, p, owner, &due)
	}
	if att == nil || deferred != nil {
		return nil // failed before an attempt, or moved later
	}
	return s.callProcessor(ctx, p, att, pm, cascade, now, owner)
}

// attemptKey is the processor idempotency key of an attempt: stable, so any
// repeat of the call after a crash sends the same key.
func attemptKey(paymentID string, number int) string {
	return fmt.Sprintf("%s-%d", paymentID, number)
}

// resumeAttempt repeats the processor call of an attempt left in flight, with
// its idempotency key, so a processor that already acted answers as before.
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
			if pr.ID == id {
				cascade = append(cascade, pr)
			}
		}
	}
	if len(cascade) == 0 || cascade[0].ID != *att.ProcessorID {
		return fmt.Errorf("the processor of attempt %s is gone", att.ID)
	}
	s.log.InfoContext(ctx, "repeating an attempt left in flight", "payment", p.ID, "attempt", att.ID, "idempotency_key", att.IdempotencyKey)
	return s.callProcessor(ctx, p, att, pm, cascade, now, owner)
}

// callProcessor makes the processor call of att, outside any transaction,
// then records its outcome. A technical failure that the processor reports
// (it did not process the request) fails over, within the attempt and with
// the same idempotency key, to the next processor of the cascade; an
// unknown outcome never does, since the first processor may have charged.
func (s *Service) callProcessor(ctx context.Context, p *ent.OffSessionPayment, att *ent.Attempt, pm *ent.PaymentMethod, cascade []*ent.Processor, now time.Time, owner string) error {
	segment := routing.Segment(pm, p.Currency)
	for {
		proc := cascade[0]
		conn, err := s.processors.Connector(proc)
		if err != nil {
			return err
		}
		req := processors.AuthorizeRequest{
			IdempotencyKey:            att.IdempotencyKey,
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
		for _, t := range pm.ProcessorTokens {
			if t.ProcessorID == proc.ID {
				req.Token, req.NetworkTransactionID = t.Token, t.NetworkTransactionID
			}
		}
		callCtx, cancel := context.WithTimeout(ctx, s.cfg.ProcessorTimeout)
		started := s.clock.Now()
		out, callErr := conn.Authorize(callCtx, req)
		cancel()
		latency := s.clock.Since(started)
		if callErr != nil {
			return s.finishAttempt(ctx, p.ID, att.ID, out, callErr, latency, owner)
		}
		cls := retry.Classify(out)
		s.router.Stats().Observe(routing.Observation{ProcessorID: proc.ID, Segment: segment, At: s.now(), Class: cls.Class, DeclineCode: out.DeclineCode})
		if cls.Class == retry.Technical && out.Result == processors.TechnicalError && len(cascade) > 1 {
			if att, err = s.failover(ctx, att, proc.ID, cascade[1].ID, out.Message, now); err != nil {
				return err
			}
			cascade = cascade[1:]
			continue
		}
		return s.finishAttempt(ctx, p.ID, att.ID, out, nil, latency, owner)
	}
}

// failover moves an attempt in flight from one processor to the next,
// recording why, before the next is called.
func (s *Service) failover(ctx context.Context, att *ent.Attempt, from, to, why string, now time.Time) (*ent.Attempt, error) {
	rec := att.Routing
	rec.Failovers = append(rec.Failovers, schematype.Failover{ProcessorID: from, At: now, Reason: "technical failure: " + why})
	rec.Reason += "; failed over from " + from + " to " + to
	next, err := s.db.Attempt.UpdateOne(att).
		Where(attempt.ProcessorID(from)).
		SetProcessorID(to).
		SetRouting(rec).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("fail attempt %s over to %s: %w", att.ID, to, err)
	}
	s.log.WarnContext(ctx, "processor failed technically; failing over within the attempt", "attempt", att.ID, "from", from, "to", to)
	return next, nil
}

// finishAttempt records a processor's answer on the attempt, once, and moves
// the payment on. An unknown outcome leaves the attempt in flight, to be
// repeated with the same key.
func (s *Service) finishAttempt(ctx context.Context, paymentID, attemptID string, out processors.Outcome, callErr error, latency time.Duration, owner string) error {
	return s.tx(ctx, func(tx *ent.Tx) error {
		p, err := tx.OffSessionPayment.Get(ctx, paymentID)
		if err != nil {
			return err
		}
		att, err := tx.Attempt.Get(ctx, attemptID)
		if err != nil {
			return err
		}
		if att.Outcome != attempt.OutcomeInFlight || p.Status != offsessionpayment.StatusProcessing {
			return nil // another worker finished it
		}
		now, err := s.nowOn(ctx, tx.Client(), p.TestClockID)
		if err != nil {
			return err
		}
		if callErr != nil {
			s.log.WarnContext(ctx, "processor outcome unknown; the call will be repeated with the same key",
				"payment", p.ID, "attempt", att.ID, "err", callErr)
			_, err := tx.OffSessionPayment.Update().
				Where(offsessionpayment.ID(p.ID), offsessionpayment.Version(p.Version), offsessionpayment.LeaseOwner(owner)).
				SetDueAt(now.Add(s.cfg.UnknownOutcomeBackoff)).
				ClearLeaseOwner().ClearLeaseExpiresAt().
				AddVersion(1).
				Save(ctx)
			return err
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
			SetLatencyMs(latency.Milliseconds())
		if cls.Class != retry.Approved {
			upd.SetDeclineClass(attempt.DeclineClass(cls.Class))
		}
		if att, err = upd.Save(ctx); err != nil {
			return fmt.Errorf("finish attempt %s: %w", att.ID, err)
		}
		c := change{at: now, owner: owner, attempt: att}
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
			c.to, c.failureReason = offsessionpayment.StatusFailed, offsessionpayment.FailureReasonNoValidPaymentMethod
		case retry.NeedsNewCardData:
			// Retrying the same card data cannot succeed: wait for the
			// payment method to be updated, until the window closes.
			if err := tx.PaymentMethod.UpdateOneID(p.PaymentMethodID).
				SetStatus(paymentmethod.StatusExpired).SetInvalidReason(cls.Rule).Exec(ctx); err != nil {
				return fmt.Errorf("mark payment method expired: %w", err)
			}
			until := now
			if p.RetryUntil != nil && p.RetryUntil.After(now) {
				until = p.RetryUntil.UTC()
			}
			c.to, c.dueAt = offsessionpayment.StatusPendingRetry, &until
			c.plan = &schematype.SchedulingDecision{Strategy: "await_card_update", Reason: cls.Rule + "; waiting for the payment method to be updated (savePaymentMethod with replacesPaymentMethodID)"}
			if !until.After(now) || p.RetryStrategy == offsessionpayment.RetryStrategyNone {
				c.to, c.dueAt, c.plan = offsessionpayment.StatusFailed, nil, nil
				c.failureReason = offsessionpayment.FailureReasonNoValidPaymentMethod
			}
		default:
			d, err := s.planRetry(ctx, tx, p, att, cls, out, now)
			if err != nil {
				return err
			}
			if d.Stop {
				c.to, c.failureReason = offsessionpayment.StatusFailed, FailureReason(d.StopReason)
			} else {
				c.to, c.nextAttemptAt, c.plan = offsessionpayment.StatusPendingRetry, &d.At, &d.Record
			}
		}
		_, err = s.apply(ctx, tx, p, c)
		return err
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

// expireAuthorization fails a payment whose authorization was not captured
// in time, releasing the authorization at the processor.
func (s *Service) expireAuthorization(ctx context.Context, p *ent.OffSessionPayment, now time.Time, owner string) error {
	conn, att, err := s.authorization(ctx, p)
	if err != nil {
		return err
	}
	if err := conn.Void(ctx, processors.VoidRequest{
		IdempotencyKey:   p.ID + "-void",
		AuthorizationKey: att.IdempotencyKey,
		Reference:        deref(att.ProcessorReference),
	}); err != nil {
		// The issuer lets the hold lapse anyway; the payment is over either way.
		s.log.WarnContext(ctx, "could not release an expired authorization", "payment", p.ID, "err", err)
	}
	return s.tx(ctx, func(tx *ent.Tx) error {
		_, err := s.apply(ctx, tx, p, change{to: offsessionpayment.StatusFailed, at: now, failureReason: offsessionpayment.FailureReasonAuthorizationExpired, owner: owner})
		return err
	})
}

// authorization returns the connector and the approved attempt behind a
// payment that requires capture.
func (s *Service) authorization(ctx context.Context, p *ent.OffSessionPayment) (processors.Connector, *ent.Attempt, error) {
	att, err := s.db.Attempt.Query().
		Where(attempt.PaymentID(p.ID), attempt.OutcomeEQ(attempt.OutcomeApproved)).
		Order(ent.Desc(attempt.FieldNumber)).
		First(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("find the authorization of %s: %w", p.ID, err)
	}
	proc, err := s.db.Processor.Get(ctx, *att.ProcessorID)
	if err != nil {
		return nil, nil, fmt.Errorf("read processor of %s: %w", p.ID, err)
	}
	conn, err := s.processors.Connector(proc)
	if err != nil {
		return nil, nil, err
	}
	return conn, att, nil
}
