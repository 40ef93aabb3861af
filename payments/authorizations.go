package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/validate"
)

// Actions on an authorization (capture, cancel, expiry) follow one order,
// so a crash or a lost answer never loses money or invents an outcome:
// the action is recorded on the payment with a lease (beginAction), then
// the processor is called with an idempotency key of the action, then the
// payment moves (finishAction). If the call is cut short, the payment is
// due again when the lease lapses, and a worker repeats the same call.

// pending is the action on a payment's authorization.
type pending = offsessionpayment.PendingAction

// beginAction records an action on an authorization and leases the payment
// to owner while the processor is called. It refuses a second, different
// action: the first one decides.
func (s *Service) beginAction(ctx context.Context, db *ent.Client, p *ent.OffSessionPayment, a pending, amount *int64, now time.Time, owner string) (*ent.OffSessionPayment, error) {
	if p.PendingAction != nil && *p.PendingAction != a {
		return nil, apierror.Conflictf("id", "authorization_action_pending", "the authorization is already being %s", actionVerb(*p.PendingAction))
	}
	lease := now.Add(s.cfg.AttemptLease)
	upd := db.OffSessionPayment.UpdateOneID(p.ID).
		Where(offsessionpayment.Version(p.Version), offsessionpayment.StatusEQ(offsessionpayment.StatusRequiresCapture)).
		SetPendingAction(a).
		SetNillableCaptureAmount(amount).
		SetLeaseOwner(owner).
		SetLeaseExpiresAt(lease).
		SetDueAt(lease).
		AddVersion(1)
	out, err := upd.Save(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrConcurrentChange
	}
	return out, err
}

func actionVerb(a pending) string {
	switch a {
	case offsessionpayment.PendingActionCapture:
		return "captured"
	case offsessionpayment.PendingActionCancel:
		return "canceled"
	}
	return "released after it expired"
}

// finishAction calls the processor for the payment's pending action and
// moves the payment. An unknown outcome leaves the action pending, due when
// the lease lapses.
func (s *Service) finishAction(ctx context.Context, p *ent.OffSessionPayment, now time.Time, owner string) (*ent.OffSessionPayment, error) {
	a := *p.PendingAction
	att, err := s.db.Attempt.Query().
		Where(attempt.PaymentID(p.ID), attempt.OutcomeEQ(attempt.OutcomeApproved)).
		Order(ent.Desc(attempt.FieldNumber)).
		First(ctx)
	if err != nil {
		return nil, fmt.Errorf("find the authorization of %s: %w", p.ID, err)
	}
	proc, err := s.db.Processor.Get(ctx, *att.ProcessorID)
	if err != nil {
		return nil, fmt.Errorf("read processor of %s: %w", p.ID, err)
	}
	conn, err := s.processors.Connector(proc)
	if err != nil {
		return nil, err
	}
	ref := ""
	if att.ProcessorReference != nil {
		ref = *att.ProcessorReference
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.ProcessorTimeout)
	defer cancel()
	switch a {
	case offsessionpayment.PendingActionCapture:
		err = conn.Capture(callCtx, connector.CaptureRequest{IdempotencyKey: idempotency.CaptureKey(p.ID), AuthorizationKey: att.IdempotencyKey, Reference: ref, Amount: *p.CaptureAmount})
	default:
		err = conn.Void(callCtx, connector.VoidRequest{IdempotencyKey: idempotency.VoidKey(p.ID), AuthorizationKey: att.IdempotencyKey, Reference: ref})
	}
	switch {
	case errors.Is(err, connector.ErrUnknownOutcome):
		s.log.WarnContext(ctx, "authorization action outcome unknown; it will be repeated", "payment", p.ID, "action", a, "err", err)
		return nil, fmt.Errorf("%s of %s is in progress: %w", a, p.ID, err)
	case err != nil && a == offsessionpayment.PendingActionCapture:
		// The processor refused the capture: nothing happened; the
		// authorization stays as it was.
		s.log.WarnContext(ctx, "capture refused by the processor", "payment", p.ID, "err", err)
		if rerr := s.clearAction(ctx, p, owner); rerr != nil {
			return nil, rerr
		}
		return nil, ErrCaptureRefused
	case err != nil:
		// A release the processor refuses leaves nothing to release: the
		// authorization is over either way.
		s.log.WarnContext(ctx, "release of the authorization refused by the processor", "payment", p.ID, "action", a, "err", err)
	}
	c := change{at: now}
	switch a {
	case offsessionpayment.PendingActionCapture:
		c.to, c.amountReceived = offsessionpayment.StatusSucceeded, p.CaptureAmount
	case offsessionpayment.PendingActionCancel:
		c.to = offsessionpayment.StatusCanceled
	default:
		c.to, c.failureReason = offsessionpayment.StatusFailed, offsessionpayment.FailureReasonAuthorizationExpired
	}
	var out *ent.OffSessionPayment
	err = s.tx(ctx, func(tx *ent.Tx) error {
		cur, err := s.lockPayment(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if cur.Status != offsessionpayment.StatusRequiresCapture || cur.PendingAction == nil || *cur.PendingAction != a {
			out = cur // finished by another worker
			return nil
		}
		// The row lock and the checks above decide between finishers; no
		// lease guard, since the API and the workers share this owner.
		c.owner = ""
		out, err = s.apply(ctx, tx, cur, c)
		return err
	})
	return out, err
}

// clearAction drops a pending action that did not happen.
func (s *Service) clearAction(ctx context.Context, p *ent.OffSessionPayment, owner string) error {
	_, err := s.db.OffSessionPayment.Update().
		Where(offsessionpayment.ID(p.ID), offsessionpayment.LeaseOwner(owner)).
		ClearPendingAction().ClearCaptureAmount().
		SetDueAt(*p.CaptureBefore).
		ClearLeaseOwner().ClearLeaseExpiresAt().
		AddVersion(1).
		Save(ctx)
	return err
}

// ErrCaptureRefused: the processor refused a capture; nothing happened,
// and the authorization waits as before.
var ErrCaptureRefused = apierror.Conflictf("id", "capture_refused", "the processor refused the capture")

// runAuthorization is a worker's turn at a payment that requires capture:
// it finishes a pending action, or expires the authorization when its time
// is up.
func (s *Service) runAuthorization(ctx context.Context, p *ent.OffSessionPayment, now time.Time, owner string) error {
	if p.PendingAction == nil {
		if p.CaptureBefore != nil && now.Before(*p.CaptureBefore) {
			return s.move(ctx, s.db, p, move{owner: owner, due: p.CaptureBefore})
		}
		var err error
		if p, err = s.beginAction(ctx, s.db, p, offsessionpayment.PendingActionExpire, nil, now, owner); err != nil {
			return err
		}
	}
	_, err := s.finishAction(ctx, p, now, owner)
	if errors.Is(err, connector.ErrUnknownOutcome) {
		return nil // due again when the lease lapses
	}
	if errors.Is(err, ErrCaptureRefused) {
		return nil // back to waiting
	}
	return err
}

// CancelOffSessionPayment cancels a payment that has not succeeded or
// failed and is not in the middle of an attempt. An uncaptured
// authorization is released at the processor first.
func (s *Service) CancelOffSessionPayment(ctx context.Context, id string) (*ent.OffSessionPayment, error) {
	p, err := s.getPayment(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if p.Status != offsessionpayment.StatusRequiresCapture {
		return s.transitionNow(ctx, p, change{to: offsessionpayment.StatusCanceled})
	}
	return s.authorizationAction(ctx, p, offsessionpayment.PendingActionCancel, nil)
}

// CaptureOffSessionPayment captures an authorized payment, in full or in
// part (amountToCapture, at most amount_capturable).
func (s *Service) CaptureOffSessionPayment(ctx context.Context, id string, amountToCapture *int) (*ent.OffSessionPayment, error) {
	p, err := s.getPayment(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if p.Status != offsessionpayment.StatusRequiresCapture {
		return nil, apierror.Conflictf("id", "invalid_state_transition", "only a payment that requires capture can be captured; this one is %s", p.Status)
	}
	amount, err := validate.AmountToCapture("amountToCapture", amountToCapture, p.AmountCapturable)
	if err != nil {
		return nil, err
	}
	if p.PendingAction != nil && *p.PendingAction == offsessionpayment.PendingActionCapture && *p.CaptureAmount != amount {
		return nil, apierror.Conflictf("amountToCapture", "capture_in_progress", "a capture of %d is already in progress", *p.CaptureAmount)
	}
	return s.authorizationAction(ctx, p, offsessionpayment.PendingActionCapture, &amount)
}

// authorizationAction runs an action the API asked for, as a worker would.
func (s *Service) authorizationAction(ctx context.Context, p *ent.OffSessionPayment, a pending, amount *int64) (*ent.OffSessionPayment, error) {
	now, err := s.nowOn(ctx, s.db, p.TestClockID)
	if err != nil {
		return nil, err
	}
	if p, err = s.beginAction(ctx, s.db, p, a, amount, now, s.cfg.Owner); err != nil {
		return nil, err
	}
	out, err := s.finishAction(ctx, p, now, s.cfg.Owner)
	if errors.Is(err, connector.ErrUnknownOutcome) {
		return nil, apierror.Conflictf("id", "processor_unavailable", "the processor did not answer; the %s will be completed in the background", a)
	}
	if err != nil {
		return nil, err
	}
	if out.Status == offsessionpayment.StatusRequiresCapture {
		return nil, ErrConcurrentChange
	}
	return out, nil
}
