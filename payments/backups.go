package payments

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/retry"
)

// maxBackupPaymentMethods bounds the backups one payment may name.
const maxBackupPaymentMethods = 3

// validateBackups checks the form of a payment's backups: IDs of the
// right kind, none named twice, and not the payment's own.
func validateBackups(in *CreateOffSessionPaymentInput) error {
	if len(in.BackupPaymentMethods) > maxBackupPaymentMethods {
		return apierror.Invalid("input.backupPaymentMethods", "at most %d backup payment methods", maxBackupPaymentMethods)
	}
	seen := map[string]bool{in.PaymentMethodID: true}
	for i, b := range in.BackupPaymentMethods {
		field := fmt.Sprintf("input.backupPaymentMethods[%d]", i)
		if err := checkID(field+".paymentMethodID", b.PaymentMethodID, "pm"); err != nil {
			return err
		}
		if err := checkID(field+".mandateID", b.MandateID, "mdt"); err != nil {
			return err
		}
		if seen[b.PaymentMethodID] {
			return apierror.InvalidReason(field+".paymentMethodID", "duplicate_payment_method", "the payment method is already named for this payment")
		}
		seen[b.PaymentMethodID] = true
	}
	return nil
}

// checkBackups checks, in the creating transaction, that each backup is
// an active payment method of the customer under a mandate that allows the
// charge, as the payment's own must be, and reserves the single-use ones
// for the payment.
func (s *Service) checkBackups(ctx context.Context, tx *ent.Tx, paymentID, customerID string, in *CreateOffSessionPaymentInput) error {
	for i, b := range in.BackupPaymentMethods {
		field := fmt.Sprintf("input.backupPaymentMethods[%d]", i)
		pm, err := tx.PaymentMethod.Get(ctx, b.PaymentMethodID)
		if ent.IsNotFound(err) {
			return apierror.NotFoundID(field+".paymentMethodID", b.PaymentMethodID)
		} else if err != nil {
			return err
		}
		if pm.CustomerID != customerID {
			return apierror.InvalidReason(field+".paymentMethodID", "payment_method_customer_mismatch", "the payment method belongs to another customer")
		}
		if pm.Status != paymentmethod.StatusActive {
			return apierror.InvalidReason(field+".paymentMethodID", "payment_method_unusable", "the payment method is %s", pm.Status)
		}
		m, err := tx.Mandate.Get(ctx, b.MandateID)
		if ent.IsNotFound(err) {
			return apierror.NotFoundID(field+".mandateID", b.MandateID)
		} else if err != nil {
			return err
		}
		if f, reason, msg := mandateRefusal(m, paymentID, customerID, pm.ID, in.Cadence, in.Amount, in.Currency); reason != "" {
			if f == "input.mandateID" {
				f = field + ".mandateID"
			}
			return apierror.InvalidReason(f, reason, "backup %d: %s", i, msg)
		}
		if err := reserveMandate(ctx, tx, m, paymentID, field+".mandateID"); err != nil {
			return err
		}
	}
	return nil
}

// reserveMandate takes a single-use mandate for the payment: given back if
// the payment fails, is canceled or succeeds on another card.
func reserveMandate(ctx context.Context, tx *ent.Tx, m *ent.Mandate, paymentID, field string) error {
	if m.UseLimit != mandate.UseLimitSingleUse {
		return nil
	}
	n, err := tx.Mandate.Update().
		Where(mandate.ID(m.ID), mandate.StatusEQ(mandate.StatusActive), mandate.ReservedPaymentIDIsNil()).
		SetReservedPaymentID(paymentID).
		Save(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return apierror.InvalidReason(field, "mandate_in_use", "the single-use mandate is taken by another payment")
	}
	return nil
}

// nextBackup returns the move to the first of p's backups after the
// payment method it charges now that can be charged at now: an active,
// unexpired payment method of the customer whose mandate still allows the
// charge, within the retry window. why says what is wrong with the
// current one. Nil when there is none: the payment fails or waits as it
// would without backups.
func (s *Service) nextBackup(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, now time.Time, why string) (*switchTo, error) {
	if len(p.BackupPaymentMethods) == 0 || p.RetryUntil != nil && !retry.InWindow(now, *p.RetryUntil) {
		return nil, nil
	}
	from := 0
	for i, b := range p.BackupPaymentMethods {
		if b.PaymentMethodID == p.PaymentMethodID {
			from = i + 1
		}
	}
	var skipped []string
	for _, b := range p.BackupPaymentMethods[from:] {
		pm, err := tx.PaymentMethod.Get(ctx, b.PaymentMethodID)
		if err != nil {
			return nil, fmt.Errorf("read backup payment method %s: %w", b.PaymentMethodID, err)
		}
		m, err := tx.Mandate.Get(ctx, b.MandateID)
		if err != nil {
			return nil, fmt.Errorf("read backup mandate %s: %w", b.MandateID, err)
		}
		_, reason, _ := mandateRefusal(m, p.ID, p.CustomerID, pm.ID, p.Cadence, p.Amount, p.Currency)
		switch {
		case pm.Status != paymentmethod.StatusActive:
			skipped = append(skipped, fmt.Sprintf("%s is %s", pm.ID, pm.Status))
		case cardExpired(pm.ExpMonth, pm.ExpYear, now):
			skipped = append(skipped, pm.ID+" is past its expiry")
		case reason != "":
			skipped = append(skipped, fmt.Sprintf("%s: %s", pm.ID, reason))
		default:
			reason := fmt.Sprintf("%s on %s; moving to backup %s", why, p.PaymentMethodID, pm.ID)
			if len(skipped) > 0 {
				reason += " (skipped " + strings.Join(skipped, ", ") + ")"
			}
			return &switchTo{backup: b, reason: reason}, nil
		}
	}
	return nil, nil
}

// toBackup makes c the move to sw, with the first attempt on it due at
// once.
func (c *change) toBackup(sw *switchTo, now time.Time) {
	c.to, c.nextAttemptAt, c.switchTo = offsessionpayment.StatusPendingRetry, &now, sw
	c.plan = &schematype.SchedulingDecision{Strategy: "backup_payment_method", Reason: sw.reason}
}

// switchNow moves a payment that is not processing (pending, pending a
// retry) to its backup.
func (s *Service) switchNow(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, sw *switchTo, now time.Time, owner string) error {
	c := change{at: now, owner: owner}
	c.toBackup(sw, now)
	_, err := s.apply(ctx, tx, p, c)
	return err
}
