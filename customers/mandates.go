package customers

import (
	"context"
	"fmt"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/money"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/validate"
)

// CreateMandateInput is the input of createMandate: the customer's consent.
type CreateMandateInput struct {
	IdempotencyKey  *string                `json:"-"`
	CustomerID      string                 `json:"customerID"`
	PaymentMethodID string                 `json:"paymentMethodID"`
	Usage           mandate.Usage          `json:"usage"`
	Terms           MandateTermsInput      `json:"terms"`
	Acceptance      MandateAcceptanceInput `json:"acceptance"`
	Limits          MandateLimitsInput     `json:"limits"`
	Metadata        schematype.StringMap   `json:"metadata,omitempty"`
}

// MandateTermsInput is what the customer agreed to.
type MandateTermsInput struct {
	Text                *string `json:"text,omitempty"`
	URL                 *string `json:"url,omitempty"`
	Version             string  `json:"version"`
	TimingAndFrequency  string  `json:"timingAndFrequency"`
	AmountDetermination string  `json:"amountDetermination"`
	CancellationPolicy  string  `json:"cancellationPolicy"`
}

// MandateAcceptanceInput is how and when the customer agreed.
type MandateAcceptanceInput struct {
	Type       mandate.AcceptanceType `json:"type"`
	IPAddress  *string                `json:"ipAddress,omitempty"`
	UserAgent  *string                `json:"userAgent,omitempty"`
	AcceptedAt time.Time              `json:"acceptedAt"`
}

// MandateLimitsInput is what the mandate allows.
type MandateLimitsInput struct {
	UseLimit      mandate.UseLimit  `json:"useLimit"`
	MaxAmount     int64             `json:"maxAmount"`
	Currency      string            `json:"currency"`
	Interval      *mandate.Interval `json:"interval,omitempty"`
	IntervalCount *int              `json:"intervalCount,omitempty"`
}

// CreateMandate records a customer's consent to be charged off-session.
func (s *Service) CreateMandate(ctx context.Context, in CreateMandateInput) (*ent.Mandate, error) {
	if err := in.validate(s.clock.Now().UTC()); err != nil {
		return nil, err
	}
	return idempotency.Create(ctx, s.keys, "createMandate", in.IdempotencyKey, in, func(tx *ent.Tx) (*ent.Mandate, string, error) {
		if _, err := tx.Customer.Get(ctx, in.CustomerID); ent.IsNotFound(err) {
			return nil, "", apierror.NotFoundID("input.customerID", in.CustomerID)
		} else if err != nil {
			return nil, "", err
		}
		pm, err := tx.PaymentMethod.Get(ctx, in.PaymentMethodID)
		if ent.IsNotFound(err) {
			return nil, "", apierror.NotFoundID("input.paymentMethodID", in.PaymentMethodID)
		} else if err != nil {
			return nil, "", err
		}
		if pm.CustomerID != in.CustomerID {
			return nil, "", apierror.InvalidReason("input.paymentMethodID", "payment_method_customer_mismatch", "the payment method belongs to another customer")
		}
		l := in.Limits
		m, err := tx.Mandate.Create().
			SetCustomerID(in.CustomerID).
			SetPaymentMethodID(in.PaymentMethodID).
			SetUsage(in.Usage).
			SetNillableTermsText(in.Terms.Text).
			SetNillableTermsURL(in.Terms.URL).
			SetTermsVersion(in.Terms.Version).
			SetTimingAndFrequency(in.Terms.TimingAndFrequency).
			SetAmountDetermination(in.Terms.AmountDetermination).
			SetCancellationPolicy(in.Terms.CancellationPolicy).
			SetAcceptanceType(in.Acceptance.Type).
			SetNillableAcceptanceIPAddress(in.Acceptance.IPAddress).
			SetNillableAcceptanceUserAgent(in.Acceptance.UserAgent).
			SetAcceptedAt(in.Acceptance.AcceptedAt.UTC()).
			SetUseLimit(l.UseLimit).
			SetMaxAmount(l.MaxAmount).
			SetCurrency(l.Currency).
			SetNillableInterval(l.Interval).
			SetNillableIntervalCount(l.IntervalCount).
			SetMetadata(in.Metadata).
			Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return m, m.ID, nil
	}, s.db.Mandate.Get)
}

func (in *CreateMandateInput) validate(now time.Time) error {
	if err := validate.ID("input.customerID", in.CustomerID, "cus"); err != nil {
		return err
	}
	if err := validate.ID("input.paymentMethodID", in.PaymentMethodID, "pm"); err != nil {
		return err
	}
	t := in.Terms
	if (t.Text == nil || *t.Text == "") && (t.URL == nil || *t.URL == "") {
		return apierror.Invalid("input.terms.text", "the terms the customer agreed to are needed, as text or a URL")
	}
	if err := validate.OptionalText("input.terms.text", t.Text, 20000); err != nil {
		return err
	}
	if t.URL != nil {
		if err := validate.URL("input.terms.url", *t.URL); err != nil {
			return err
		}
	}
	for field, v := range map[string]string{
		"input.terms.version":             t.Version,
		"input.terms.timingAndFrequency":  t.TimingAndFrequency,
		"input.terms.amountDetermination": t.AmountDetermination,
		"input.terms.cancellationPolicy":  t.CancellationPolicy,
	} {
		if v == "" {
			return apierror.Invalid(field, "must not be empty")
		}
		if err := validate.Text(field, v, validate.MaxTextLen); err != nil {
			return err
		}
	}
	a := in.Acceptance
	if a.AcceptedAt.IsZero() || a.AcceptedAt.After(now.Add(5*time.Minute)) {
		return apierror.Invalid("input.acceptance.acceptedAt", "must be when the customer accepted, not in the future")
	}
	if a.Type == mandate.AcceptanceTypeOnline {
		if a.IPAddress == nil || a.UserAgent == nil || *a.UserAgent == "" {
			return apierror.Invalid("input.acceptance.ipAddress", "online acceptance needs the customer's IP address and user agent")
		}
		if err := validate.IP("input.acceptance.ipAddress", *a.IPAddress); err != nil {
			return err
		}
		if err := validate.Text("input.acceptance.userAgent", *a.UserAgent, 512); err != nil {
			return err
		}
	}
	l := &in.Limits
	if l.MaxAmount <= 0 || l.MaxAmount > money.MaxAmount {
		return apierror.Invalid("input.limits.maxAmount", "must be 1 to %d minor units", money.MaxAmount)
	}
	cur, err := money.Normalize(l.Currency)
	if err != nil {
		return apierror.Invalid("input.limits.currency", "%s", err)
	}
	l.Currency = cur
	if l.Interval != nil && in.Usage != mandate.UsageRecurring {
		return apierror.Invalid("input.limits.interval", "only recurring mandates have an interval")
	}
	if l.IntervalCount != nil && (l.Interval == nil || *l.IntervalCount < 1 || *l.IntervalCount > 365) {
		return apierror.Invalid("input.limits.intervalCount", "must be 1 to 365, with an interval")
	}
	return validate.Metadata("input.metadata", in.Metadata)
}

// RevokeMandate records that the customer withdrew consent. Payments on the
// mandate that await an attempt fail with rejected_by_partner in the same
// transaction: no attempt is made on a revoked mandate.
func (s *Service) RevokeMandate(ctx context.Context, id string, reason *string) (*ent.Mandate, error) {
	if err := validate.ID("id", id, "mdt"); err != nil {
		return nil, err
	}
	if err := validate.OptionalText("reason", reason, validate.MaxTextLen); err != nil {
		return nil, err
	}
	err := storage.WithTx(ctx, s.db, func(tx *ent.Tx) error {
		m, err := tx.Mandate.Get(ctx, id)
		if ent.IsNotFound(err) {
			return apierror.NotFoundID("id", id)
		} else if err != nil {
			return err
		}
		if m.Status == mandate.StatusRevoked {
			return apierror.Conflictf("id", "mandate_revoked", "the mandate is already revoked")
		}
		// Revoked on the customer's clock: a test clock's time if it is on one.
		cus, err := tx.Customer.Get(ctx, m.CustomerID)
		if err != nil {
			return fmt.Errorf("read customer: %w", err)
		}
		now, err := s.nowOn(ctx, tx.Client(), cus.TestClockID)
		if err != nil {
			return err
		}
		upd := tx.Mandate.UpdateOne(m).
			Where(mandate.StatusNEQ(mandate.StatusRevoked)).
			SetStatus(mandate.StatusRevoked).
			SetRevokedAt(now)
		if reason != nil {
			upd.SetRevocationReason(*reason)
		}
		if m, err = upd.Save(ctx); err != nil {
			return fmt.Errorf("revoke mandate %s: %w", id, err)
		}
		if err := events.Emit(ctx, tx, events.Event{AccountID: m.AccountID, Type: events.MandateRevoked, ObjectID: m.ID, ObjectType: "mandate", Version: 1, Data: events.MandateData(m)}); err != nil {
			return err
		}
		return s.payments.FailOnRevokedMandate(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return s.db.Mandate.Get(ctx, id)
}

// MandateRefusal says why mandate m does not allow the payment, or "" if it
// does. It is asked when the payment is created and again before every
// attempt: DESIGN.md rule 2.
func MandateRefusal(m *ent.Mandate, paymentID, customerID, paymentMethodID string, cadence offsessionpayment.Cadence, amount int64, currency string) (field, reason, message string) {
	switch {
	case m.Status == mandate.StatusRevoked:
		return "input.mandateID", "mandate_revoked", "the mandate was revoked"
	case m.Status != mandate.StatusActive:
		return "input.mandateID", "mandate_inactive", "the mandate is no longer active"
	case m.ReservedPaymentID != nil && *m.ReservedPaymentID != paymentID:
		return "input.mandateID", "mandate_in_use", "the single-use mandate is taken by another payment"
	case m.CustomerID != customerID:
		return "input.mandateID", "mandate_customer_mismatch", "the mandate belongs to another customer"
	case m.PaymentMethodID != paymentMethodID:
		return "input.mandateID", "mandate_payment_method_mismatch", "the mandate covers another payment method"
	case string(m.Usage) != string(cadence):
		return "input.cadence", "mandate_cadence_mismatch", fmt.Sprintf("the mandate allows %s charges, not %s", m.Usage, cadence)
	case m.Currency != currency:
		return "input.currency", "mandate_currency_mismatch", fmt.Sprintf("the mandate allows charges in %s", m.Currency)
	case amount > m.MaxAmount:
		return "input.amount", "amount_over_mandate_limit", fmt.Sprintf("the mandate allows at most %s %s per charge", money.Format(m.MaxAmount, m.Currency), m.Currency)
	}
	return "", "", ""
}
