package payments

import (
	"context"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/lifecycle"
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
		// A worker finishes a processing payment's attempt; an operator
		// (no lease) resolves one that requires review. The attempt is
		// changed only while in flight (else another worker finished it).
		if !(p.Status == offsessionpayment.StatusProcessing || owner == "" && p.Status == offsessionpayment.StatusRequiresReview) {
			return nil
		}
		inFlight := tx.Attempt.UpdateOneID(attemptID).Where(attempt.OutcomeEQ(attempt.OutcomeInFlight))
		now, err := s.nowOn(ctx, tx.Client(), p.TestClockID)
		if err != nil {
			return err
		}
		if callErr != nil {
			att, err := inFlight.AddCalls(1).Save(ctx)
			if ent.IsNotFound(err) {
				return nil
			} else if err != nil {
				return fmt.Errorf("count the call of attempt %s: %w", attemptID, err)
			}
			calls := att.Calls
			ptype := s.procTypes.Of(ctx, tx.Client(), *att.ProcessorID)
			record = func() { s.metrics.UnknownOutcome(ptype) }
			wait := retry.UnknownOutcomeWait(s.cfg.UnknownOutcomeBackoff, calls)
			s.log.WarnContext(ctx, "processor outcome unknown; the call will be repeated with the same key",
				"payment", p.ID, "attempt", att.ID, "calls", calls, "retry_in", wait.String(), "err", callErr)
			due := now.Add(wait)
			return s.move(ctx, tx.Client(), p, move{owner: owner, due: &due})
		}
		cls := retry.Classify(out)
		upd := inFlight.
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
		ptype, declineClass := s.procTypes.Of(ctx, tx.Client(), *finished.ProcessorID), ""
		if cls.Class != retry.Approved {
			declineClass = string(cls.Class)
		}
		record = func() { s.metrics.AttemptFinished(ptype, string(out.Result), declineClass) }
		c := change{at: now, owner: owner, attempt: finished}
		step := lifecycle.AfterAttempt(lifecycle.Attempt{
			Outcome:       cls,
			ManualCapture: p.CaptureMethod == offsessionpayment.CaptureMethodManual,
			WindowOpen:    p.RetryUntil != nil && retry.WindowOpenAfter(now, *p.RetryUntil) && p.RetryStrategy != offsessionpayment.RetryStrategyNone,
			FreshCard:     fresh != nil,
		})
		if step.PlanRetry {
			d, err := s.history.Decide(ctx, tx, s.retry, p, finished, cls, out, now)
			if err != nil {
				return err
			}
			record = func() {
				s.metrics.AttemptFinished(ptype, string(out.Result), declineClass)
				s.metrics.RetryDecision(string(d.Strategy), d.Kind, d.Record.ModelVersion)
			}
			if d.Stop {
				c.to, c.failureReason = offsessionpayment.StatusFailed, lifecycle.FailureReason(d.StopReason)
			} else {
				c.to, c.nextAttemptAt, c.plan = offsessionpayment.StatusPendingRetry, &d.At, &d.Record
				if d.Record.ModelVersion != "" && p.ModelVersion == "" {
					c.modelVersion = d.Record.ModelVersion
				}
			}
		} else if err := s.takeStep(ctx, tx, p, &c, step, cls, fresh, now); err != nil {
			return err
		}
		_, err = s.apply(ctx, tx, p, c)
		return err
	})
	if err == nil && record != nil {
		record()
	}
	return err
}

// takeStep carries out what lifecycle.AfterAttempt decided, setting c.
func (s *Service) takeStep(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, c *change, step lifecycle.Step, cls retry.Classification, fresh *connector.Card, now time.Time) error {
	if step.TryFreshCard {
		updated, err := customers.TakeUpdatedCard(ctx, tx, p.PaymentMethodID, *fresh, now)
		if err != nil {
			return err
		}
		if updated {
			if err := s.RetryWaitingFor(ctx, tx, p.PaymentMethodID); err != nil {
				return err
			}
			c.to, c.nextAttemptAt = offsessionpayment.StatusPendingRetry, &now
			c.plan = &retry.SchedulingDecision{Strategy: "card_updated",
				Reason: cls.Rule + "; the processor holds new card data, now saved on the payment method: retry at once"}
			return nil
		}
	}
	if step.Card != "" {
		if err := customers.MarkPaymentMethod(ctx, tx, p.PaymentMethodID, step.Card, cls.Rule); err != nil {
			return err
		}
	}
	if step.SpendMandate {
		if err := customers.UseMandate(ctx, tx, p.MandateID); err != nil {
			return err
		}
	}
	if step.Backup != "" {
		if moved, err := s.toNextBackup(ctx, tx, p, c, now, step.Backup); err != nil || moved {
			return err
		}
	}
	c.to, c.failureReason = step.To, step.Failure
	switch {
	case step.To == offsessionpayment.StatusSucceeded:
		c.amountReceived = &p.Amount
	case step.To == offsessionpayment.StatusRequiresCapture:
		before := now.Add(s.cfg.AuthorizationValidity)
		c.amountCapturable, c.captureBefore = &p.Amount, &before
	case step.AwaitCard:
		until := p.RetryUntil.UTC()
		c.dueAt, c.plan = &until, retry.AwaitCardUpdate(cls.Rule)
	}
	return nil
}

// nonEmpty is nil for "", so an absent code is null, not "".
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
