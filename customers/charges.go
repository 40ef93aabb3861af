package customers

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
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/validate"
)

// MaxBackupPaymentMethods bounds the backups one payment may name.
const MaxBackupPaymentMethods = 3

// ValidateBackups checks the form of a payment's backups: IDs of the
// right kind, none named twice, and not the payment's own
// (paymentMethodID).
func ValidateBackups(paymentMethodID string, backups []schematype.BackupPaymentMethod) error {
	if len(backups) > MaxBackupPaymentMethods {
		return apierror.Invalid("input.backupPaymentMethods", "at most %d backup payment methods", MaxBackupPaymentMethods)
	}
	seen := map[string]bool{paymentMethodID: true}
	for i, b := range backups {
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

// Charge is the charge a payment makes on its customer's cards, as their
// mandates must allow it.
type Charge struct {
	PaymentID, CustomerID string
	Cadence               offsessionpayment.Cadence
	Amount                int64
	Currency              string
}

// Take checks, in the creating transaction, the payment's own card and
// mandate (pmID, mdtID), then each backup's, alike (take), and takes the
// single-use mandates for the payment.
func (c Charge) Take(ctx context.Context, tx *ent.Tx, pmID, mdtID string, backups []schematype.BackupPaymentMethod) error {
	if err := c.take(ctx, tx, pmID, mdtID, "input."); err != nil {
		return err
	}
	for i, b := range backups {
		if err := c.take(ctx, tx, b.PaymentMethodID, b.MandateID, fmt.Sprintf("input.backupPaymentMethods[%d].", i)); err != nil {
			return err
		}
	}
	return nil
}

// take checks that payment method pmID is an active card of the customer
// and that mandate mdtID allows the charge on it, and takes a single-use
// mandate for the payment. at prefixes the input fields errors name
// ("input." or "input.backupPaymentMethods[i].").
func (c Charge) take(ctx context.Context, tx *ent.Tx, pmID, mdtID, at string) error {
	pm, err := tx.PaymentMethod.Get(ctx, pmID)
	if ent.IsNotFound(err) {
		return apierror.NotFoundID(at+"paymentMethodID", pmID)
	} else if err != nil {
		return err
	}
	if pm.CustomerID != c.CustomerID {
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
	if field, reason, msg := MandateRefusal(m, c.PaymentID, c.CustomerID, pm.ID, c.Cadence, c.Amount, c.Currency); reason != "" {
		if field == "input.mandateID" {
			field = at + "mandateID"
		}
		return apierror.InvalidReason(field, reason, "%s", msg)
	}
	return reserveMandate(ctx, tx, m, c.PaymentID, at+"mandateID")
}

// reserveMandate takes a single-use mandate for the payment: given back if
// the payment fails, is canceled or succeeds on another card
// (ReleaseMandates).
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

// ReleaseMandates frees the single-use mandates payment paymentID held
// and did not charge (its own, its backups'), once it is over; one it
// charged is inactive by then (UseMandate).
func ReleaseMandates(ctx context.Context, tx *ent.Tx, paymentID string) error {
	if _, err := tx.Mandate.Update().
		Where(mandate.ReservedPaymentID(paymentID), mandate.StatusEQ(mandate.StatusActive)).
		ClearReservedPaymentID().
		Save(ctx); err != nil {
		return fmt.Errorf("release the mandate of %s: %w", paymentID, err)
	}
	return nil
}

// UseMandate marks a single-use mandate inactive once it has been charged.
func UseMandate(ctx context.Context, tx *ent.Tx, id string) error {
	_, err := tx.Mandate.Update().
		Where(mandate.ID(id), mandate.UseLimitEQ(mandate.UseLimitSingleUse), mandate.StatusEQ(mandate.StatusActive)).
		SetStatus(mandate.StatusInactive).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("use single-use mandate %s: %w", id, err)
	}
	return nil
}

// Backup is a backup payment method a payment moves to, and why.
type Backup struct {
	schematype.BackupPaymentMethod
	Reason string
}

// NextBackup returns the first of p's backups after the payment method it
// charges now that can be charged at now: an active, unexpired payment
// method of the customer whose mandate still allows the charge. why says
// what is wrong with the current one. Nil when there is none.
func NextBackup(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, now time.Time, why string) (*Backup, error) {
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
		_, reason, _ := MandateRefusal(m, p.ID, p.CustomerID, pm.ID, p.Cadence, p.Amount, p.Currency)
		switch {
		case pm.Status != paymentmethod.StatusActive:
			skipped = append(skipped, fmt.Sprintf("%s is %s", pm.ID, pm.Status))
		case CardExpired(pm.ExpMonth, pm.ExpYear, now):
			skipped = append(skipped, pm.ID+" is past its expiry")
		case reason != "":
			skipped = append(skipped, fmt.Sprintf("%s: %s", pm.ID, reason))
		default:
			reason := fmt.Sprintf("%s on %s; moving to backup %s", why, p.PaymentMethodID, pm.ID)
			if len(skipped) > 0 {
				reason += " (skipped " + strings.Join(skipped, ", ") + ")"
			}
			return &Backup{BackupPaymentMethod: b, Reason: reason}, nil
		}
	}
	return nil, nil
}

// MarkPaymentMethod sets the status of payment method id (expired,
// invalid) after a decline, with the rule that decided it.
func MarkPaymentMethod(ctx context.Context, tx *ent.Tx, id string, status paymentmethod.Status, reason string) error {
	if err := tx.PaymentMethod.UpdateOneID(id).SetStatus(status).SetInvalidReason(reason).Exec(ctx); err != nil {
		return fmt.Errorf("mark payment method %s: %w", status, err)
	}
	return nil
}

// TakeUpdatedCard saves a processor's newer data for payment method id
// (its account updater's), with an event, when it differs from what is
// saved and is not expired itself; updated reports that it was. The
// caller retries the payments that waited for it (Lifecycle).
func TakeUpdatedCard(ctx context.Context, tx *ent.Tx, id string, card connector.Card, now time.Time) (updated bool, err error) {
	pm, err := tx.PaymentMethod.Get(ctx, id)
	if err != nil {
		return false, fmt.Errorf("read payment method: %w", err)
	}
	same := pm.ExpMonth == card.ExpMonth && pm.ExpYear == card.ExpYear && pm.Last4 == card.Last4 &&
		(card.Fingerprint == "" || pm.Fingerprint == card.Fingerprint)
	if same || CardExpired(card.ExpMonth, card.ExpYear, now) || pm.Status == paymentmethod.StatusInvalid {
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
	return true, events.Emit(ctx, tx, events.Event{AccountID: pm.AccountID, Type: events.PaymentMethodUpdated, ObjectID: pm.ID, ObjectType: "payment_method", Version: 1, Data: map[string]any{
		"id": pm.ID, "customer_id": pm.CustomerID, "last4": pm.Last4, "exp_month": pm.ExpMonth, "exp_year": pm.ExpYear,
		"reason": "account_updater",
	}})
}
