package customers

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/carddata"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/validate"
)

// SavePaymentMethodInput is the input of savePaymentMethod: the card details
// that are safe to store and one token per processor.
type SavePaymentMethodInput struct {
	IdempotencyKey  *string                     `json:"-"`
	CustomerID      string                      `json:"customerID"`
	Card            CardDetailsInput            `json:"card"`
	ProcessorTokens []schematype.ProcessorToken `json:"processorTokens"`
	Metadata        schematype.StringMap        `json:"metadata,omitempty"`
	// ReplacesPaymentMethodID updates that payment method in place with new
	// card data (a new expiry from an account updater, say) instead of
	// saving a new one: its mandates stay, and payments that wait for the
	// new data are retried at once.
	ReplacesPaymentMethodID *string `json:"replacesPaymentMethodID,omitempty"`
}

// CardDetailsInput is what may be stored of a card: never its number or CVC.
type CardDetailsInput struct {
	Brand          paymentmethod.Brand   `json:"brand"`
	Funding        paymentmethod.Funding `json:"funding"`
	Last4          string                `json:"last4"`
	ExpMonth       int                   `json:"expMonth"`
	ExpYear        int                   `json:"expYear"`
	IssuingCountry *string               `json:"issuingCountry,omitempty"`
	Fingerprint    string                `json:"fingerprint"`
}

var (
	fourDigits  = regexp.MustCompile(`^\d{4}$`)
	opaqueToken = regexp.MustCompile(`^[A-Za-z0-9_\-.:]{1,255}$`)
	// processorToken is an opaque token, or two joined by one "/": the form
	// of a card attached to a processor's customer (Stripe's cus_.../pm_...,
	// charged only with its customer named).
	processorToken = regexp.MustCompile(`^[A-Za-z0-9_\-.:]{1,127}(/[A-Za-z0-9_\-.:]{1,127})?$`)
)

// SavePaymentMethod saves a card for a customer.
func (s *Service) SavePaymentMethod(ctx context.Context, in SavePaymentMethodInput) (*ent.PaymentMethod, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	return idempotency.Create(ctx, s.keys, "savePaymentMethod", in.IdempotencyKey, in, func(tx *ent.Tx) (*ent.PaymentMethod, string, error) {
		if err := s.checkPaymentMethodRefs(ctx, tx.Client(), &in); err != nil {
			return nil, "", err
		}
		if in.ReplacesPaymentMethodID != nil {
			pm, err := s.replaceCardData(ctx, tx, *in.ReplacesPaymentMethodID, in)
			return pm, *in.ReplacesPaymentMethodID, err
		}
		c := tx.PaymentMethod.Create().
			SetCustomerID(in.CustomerID).
			SetMetadata(in.Metadata)
		setCard(c.Mutation(), in)
		pm, err := c.Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return pm, pm.ID, nil
	}, s.db.PaymentMethod.Get)
}

// checkPaymentMethodRefs checks what a new payment method refers to: its
// customer (and the card's expiry on the customer's clock), its
// processors, the payment method it replaces.
func (s *Service) checkPaymentMethodRefs(ctx context.Context, db *ent.Client, in *SavePaymentMethodInput) error {
	cus, err := db.Customer.Get(ctx, in.CustomerID)
	if ent.IsNotFound(err) {
		return apierror.NotFoundID("input.customerID", in.CustomerID)
	} else if err != nil {
		return err
	}
	// A card is judged on its customer's clock: a customer on a test clock
	// lives at the clock's time, where the card may still be valid.
	now, err := s.nowOn(ctx, db, cus.TestClockID)
	if err != nil {
		return err
	}
	if CardExpired(in.Card.ExpMonth, in.Card.ExpYear, now) {
		return apierror.InvalidReason("input.card.expYear", "card_expired", "the card expired at the end of %02d/%d", in.Card.ExpMonth, in.Card.ExpYear)
	}
	seen := map[string]bool{}
	for i, t := range in.ProcessorTokens {
		field := validate.FieldIndex("input.processorTokens", i, "processorID")
		if seen[t.ProcessorID] {
			return apierror.Invalid(field, "processor %s is given twice", t.ProcessorID)
		}
		seen[t.ProcessorID] = true
		if _, err := db.Processor.Get(ctx, t.ProcessorID); ent.IsNotFound(err) {
			return apierror.NotFoundID(field, t.ProcessorID)
		} else if err != nil {
			return err
		}
	}
	if in.ReplacesPaymentMethodID == nil {
		return nil
	}
	old, err := db.PaymentMethod.Get(ctx, *in.ReplacesPaymentMethodID)
	if ent.IsNotFound(err) {
		return apierror.NotFoundID("input.replacesPaymentMethodID", *in.ReplacesPaymentMethodID)
	} else if err != nil {
		return err
	}
	switch {
	case old.CustomerID != in.CustomerID:
		return apierror.InvalidReason("input.replacesPaymentMethodID", "payment_method_customer_mismatch", "the payment method belongs to another customer")
	case old.Status == paymentmethod.StatusInvalid:
		return apierror.InvalidReason("input.replacesPaymentMethodID", "payment_method_invalid",
			"a hard-declined payment method is never charged again: save the new card as a new payment method, with a new mandate")
	}
	return nil
}

// setCard sets the card data of in on a payment method being created or
// updated.
func setCard(m *ent.PaymentMethodMutation, in SavePaymentMethodInput) {
	m.SetBrand(in.Card.Brand)
	m.SetFunding(in.Card.Funding)
	m.SetLast4(in.Card.Last4)
	m.SetExpMonth(in.Card.ExpMonth)
	m.SetExpYear(in.Card.ExpYear)
	m.SetFingerprint(in.Card.Fingerprint)
	m.SetProcessorTokens(in.ProcessorTokens)
	if in.Card.IssuingCountry != nil {
		m.SetIssuingCountry(*in.Card.IssuingCountry)
	}
}

// replaceCardData updates a payment method with new card data, makes it
// active again, and retries at once the payments that waited for it.
func (s *Service) replaceCardData(ctx context.Context, tx *ent.Tx, id string, in SavePaymentMethodInput) (*ent.PaymentMethod, error) {
	u := tx.PaymentMethod.UpdateOneID(id).
		Where(paymentmethod.StatusNEQ(paymentmethod.StatusInvalid)).
		SetStatus(paymentmethod.StatusActive).
		ClearInvalidReason()
	setCard(u.Mutation(), in)
	if len(in.Metadata) > 0 {
		u.SetMetadata(in.Metadata)
	}
	pm, err := u.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("update payment method %s: %w", id, err)
	}
	return pm, s.payments.RetryWaitingFor(ctx, tx, id)
}

func (in *SavePaymentMethodInput) validate() error {
	if err := validate.ID("input.customerID", in.CustomerID, "cus"); err != nil {
		return err
	}
	if in.ReplacesPaymentMethodID != nil {
		if err := validate.ID("input.replacesPaymentMethodID", *in.ReplacesPaymentMethodID, "pm"); err != nil {
			return err
		}
	}
	card := &in.Card
	if !fourDigits.MatchString(card.Last4) {
		return apierror.Invalid("input.card.last4", "must be the last four digits of the card")
	}
	if card.ExpMonth < 1 || card.ExpMonth > 12 {
		return apierror.Invalid("input.card.expMonth", "must be 1 to 12")
	}
	if card.ExpYear < 2000 || card.ExpYear > 2100 {
		return apierror.Invalid("input.card.expYear", "must be a four-digit year")
	}
	if card.IssuingCountry != nil {
		c, err := validate.Country("input.card.issuingCountry", *card.IssuingCountry)
		if err != nil {
			return err
		}
		card.IssuingCountry = &c
	}
	card.Fingerprint = strings.TrimSpace(card.Fingerprint)
	if !opaqueToken.MatchString(card.Fingerprint) || len(card.Fingerprint) > 64 {
		return apierror.Invalid("input.card.fingerprint", "must be 1 to 64 letters, digits or _-.:")
	}
	if err := validate.Text("input.card.fingerprint", card.Fingerprint, 64); err != nil {
		return err
	}
	if len(in.ProcessorTokens) == 0 {
		return apierror.Invalid("input.processorTokens", "at least one processor token is needed to charge the card")
	}
	for i, t := range in.ProcessorTokens {
		if err := validate.ID(validate.FieldIndex("input.processorTokens", i, "processorID"), t.ProcessorID, "prc"); err != nil {
			return err
		}
		field := validate.FieldIndex("input.processorTokens", i, "token")
		if carddata.LooksLikeCardNumber(t.Token) {
			return apierror.InvalidReason(field, "card_data_not_allowed", "looks like a card number: give the processor's token, never the card number")
		}
		if !processorToken.MatchString(t.Token) {
			return apierror.Invalid(field, "must be 1 to 255 letters, digits or _-.:, or two such parts joined by / (customer/payment method)")
		}
		if t.NetworkTransactionID != "" {
			if err := validate.Text(validate.FieldIndex("input.processorTokens", i, "networkTransactionID"), t.NetworkTransactionID, 64); err != nil {
				return err
			}
		}
	}
	return validate.Metadata("input.metadata", in.Metadata)
}

// CardExpired reports whether a card is past the last day of its expiry
// month.
func CardExpired(month, year int, now time.Time) bool {
	firstAfter := time.Date(year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC)
	return !now.Before(firstAfter)
}
