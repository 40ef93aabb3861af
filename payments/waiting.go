package payments

import (
	"context"
	"fmt"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/retry"
)

// FailOnRevokedMandate fails, in tx, the payments on mandate id that
// await an attempt, with rejected_by_partner (customers.Lifecycle).
func (s *Service) FailOnRevokedMandate(ctx context.Context, tx *ent.Tx, id string) error {
	waiting, err := tx.OffSessionPayment.Query().
		Where(
			offsessionpayment.MandateID(id),
			offsessionpayment.StatusIn(offsessionpayment.StatusPending, offsessionpayment.StatusPendingRetry, offsessionpayment.StatusPaused),
		).
		All(ctx)
	if err != nil {
		return fmt.Errorf("find payments on mandate %s: %w", id, err)
	}
	for _, p := range waiting {
		at, err := s.nowOn(ctx, tx.Client(), p.TestClockID)
		if err != nil {
			return err
		}
		if _, err := s.apply(ctx, tx, p, change{to: offsessionpayment.StatusFailed, at: at, failureReason: offsessionpayment.FailureReasonRejectedByPartner}); err != nil {
			return err
		}
	}
	return nil
}

// RetryWaitingFor retries at once the payments that waited for payment
// method id's card data to be updated, now that it has been (customers.Lifecycle).
func (s *Service) RetryWaitingFor(ctx context.Context, tx *ent.Tx, id string) error {
	waiting, err := tx.OffSessionPayment.Query().
		Where(
			offsessionpayment.PaymentMethodID(id),
			offsessionpayment.StatusIn(offsessionpayment.StatusPending, offsessionpayment.StatusPendingRetry),
			offsessionpayment.NextAttemptAtIsNil(),
		).
		All(ctx)
	if err != nil {
		return fmt.Errorf("find payments waiting for %s: %w", id, err)
	}
	for _, p := range waiting {
		now, err := s.nowOn(ctx, tx.Client(), p.TestClockID)
		if err != nil {
			return err
		}
		plan := retry.SchedulingDecision{Strategy: "card_updated", Reason: "the payment method was updated: retry at once"}
		if err := s.move(ctx, tx.Client(), p, move{due: &now, next: &now, plan: &plan}); err != nil {
			return err
		}
	}
	return nil
}
