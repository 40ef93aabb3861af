package payments

import (
	"context"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
)

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
					c.plan = &retry.SchedulingDecision{Strategy: "card_updated",
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
	if same || customers.CardExpired(card.ExpMonth, card.ExpYear, now) || pm.Status == paymentmethod.StatusInvalid {
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
	if err := s.RetryWaitingFor(ctx, tx, pm.ID); err != nil {
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
