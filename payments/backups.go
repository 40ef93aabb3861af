package payments

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/validate"
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
		if err := validate.ID(field+".paymentMethodID", b.PaymentMethodID, "pm"); err != nil {
			return err
		}
		if err := validate.ID(field+".mandateID", b.MandateID, "mdt"); err != nil {
			return err
		}
		if seen[b.PaymentMethodID] {
			return apierror.InvalidReason(field+".paymentMethodID", "duplicate_payment_method", "the payment method is already named for this payment")
		}
		seen[b.PaymentMethodID] = true
	}
	return nil
}

// takeCharge checks, in the creating transaction, that payment method
// pmID is an active card of the customer and that mandate mdtID allows the
// payment's charge on it, and takes a single-use mandate for the payment.
// It serves the payment's own card and each backup alike; at prefixes the
// input fields errors name ("input." or "input.backupPaymentMethods[i].").
func takeCharge(ctx context.Context, tx *ent.Tx, paymentID, customerID string, in *CreateOffSessionPaymentInput, pmID, mdtID, at string) error {
	pm, err := tx.PaymentMethod.Get(ctx, pmID)
	if ent.IsNotFound(err) {
		return apierror.NotFoundID(at+"paymentMethodID", pmID)
	} else if err != nil {
		return err
	}
	if pm.CustomerID != customerID {
		return apierror.InvalidReason(at+"paymentMethodID", "payment_method_customer_mismatch", "the payment method belongs to another customer")
	}
	if pm.Status != paymentmethod.StatusActive {
		return apierror.InvalidReason(at+"paymentMethodID", "payment_method_unusable", "the payment method is %s", pm.Status)
	}
	m, err := tx.Mandate.Get(ctx, mdtID)
	if ent.IsNotFound(err) {
		return apierror.NotFoundID(at+"mandateID", mdtID)
	} else if err != nil {
		return err
	}
	if field, reason, msg := customers.MandateRefusal(m, paymentID, customerID, pm.ID, in.Cadence, in.Amount, in.Currency); reason != "" {
		if field == "input.mandateID" {
			field = at + "mandateID"
		}
		return apierror.InvalidReason(field, reason, "%s", msg)
	}
	return reserveMandate(ctx, tx, m, paymentID, at+"mandateID")
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
		_, reason, _ := customers.MandateRefusal(m, p.ID, p.CustomerID, pm.ID, p.Cadence, p.Amount, p.Currency)
		switch {
		case pm.Status != paymentmethod.StatusActive:
			skipped = append(skipped, fmt.Sprintf("%s is %s", pm.ID, pm.Status))
		case customers.CardExpired(pm.ExpMonth, pm.ExpYear, now):
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
	c.plan = &retry.SchedulingDecision{Strategy: "backup_payment_method", Reason: sw.reason}
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
func (s *Service) switchNow(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, sw *switchTo, now time.Time, owner string) error {
	c := change{at: now, owner: owner}
	c.toBackup(sw, now)
	_, err := s.apply(ctx, tx, p, c)
	return err
}
