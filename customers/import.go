package customers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/validate"
)

// ImportPaymentMethodInput is the input of importPaymentMethod: a card saved
// by a processor's own flows, named by exactly one of its objects.
type ImportPaymentMethodInput struct {
	IdempotencyKey          *string              `json:"-"`
	CustomerID              string               `json:"customerID"`
	ProcessorID             string               `json:"processorID"`
	SetupIntentID           *string              `json:"setupIntentID,omitempty"`
	PaymentIntentID         *string              `json:"paymentIntentID,omitempty"`
	PaymentMethodID         *string              `json:"paymentMethodID,omitempty"`
	ReplacesPaymentMethodID *string              `json:"replacesPaymentMethodID,omitempty"`
	Metadata                schematype.StringMap `json:"metadata,omitempty"`
}

// ImportPaymentMethod reads a card that the processor saved (a Stripe
// SetupIntent, a PaymentIntent with setup_future_usage, or a PaymentMethod)
// and saves it as savePaymentMethod does, with the processor's token, the
// card's details and the network transaction ID of the payment that saved
// it.
func (s *Service) ImportPaymentMethod(ctx context.Context, in ImportPaymentMethodInput) (*ent.PaymentMethod, error) {
	if err := validate.ID("input.customerID", in.CustomerID, "cus"); err != nil {
		return nil, err
	}
	if err := validate.ID("input.processorID", in.ProcessorID, "prc"); err != nil {
		return nil, err
	}
	var (
		src   connector.ImportSource
		field string
		named int
	)
	for _, f := range []struct {
		name string
		v    *string
		to   *string
	}{
		{"input.setupIntentID", in.SetupIntentID, &src.SetupIntentID},
		{"input.paymentIntentID", in.PaymentIntentID, &src.PaymentIntentID},
		{"input.paymentMethodID", in.PaymentMethodID, &src.PaymentMethodID},
	} {
		if f.v == nil {
			continue
		}
		named++
		field, *f.to = f.name, strings.TrimSpace(*f.v)
		if !opaqueToken.MatchString(*f.to) {
			return nil, apierror.Invalid(f.name, "must be a processor's object ID")
		}
	}
	if named != 1 {
		return nil, apierror.Invalid("input", "name exactly one of setupIntentID, paymentIntentID, paymentMethodID")
	}
	proc, err := s.db.Processor.Get(ctx, in.ProcessorID)
	if ent.IsNotFound(err) {
		return nil, apierror.NotFoundID("input.processorID", in.ProcessorID)
	} else if err != nil {
		return nil, err
	}
	conn, err := s.processors.Connector(proc)
	if err != nil {
		return nil, apierror.InvalidReason("input.processorID", "processor_cannot_import", "processor %s cannot be called", proc.ID)
	}
	imp, ok := conn.(connector.CardImporter)
	if !ok {
		return nil, apierror.InvalidReason("input.processorID", "processor_cannot_import", "processor %s (%s) does not import cards", proc.ID, proc.Type)
	}
	card, err := imp.ImportCard(ctx, src)
	if errors.Is(err, connector.ErrImportRefused) {
		return nil, apierror.InvalidReason(field, "import_refused", "%s", err.Error())
	} else if err != nil {
		return nil, fmt.Errorf("import from processor %s: %w", proc.ID, err)
	}
	brand := paymentmethod.Brand(card.Brand)
	if paymentmethod.BrandValidator(brand) != nil {
		brand = paymentmethod.BrandUnknown
	}
	funding := paymentmethod.Funding(card.Funding)
	if paymentmethod.FundingValidator(funding) != nil {
		funding = paymentmethod.FundingUnknown
	}
	details := CardDetailsInput{Brand: brand, Funding: funding, Last4: card.Last4, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear,
		Fingerprint: card.Fingerprint}
	if card.Country != "" {
		c := strings.ToUpper(card.Country)
		details.IssuingCountry = &c
	}
	return s.SavePaymentMethod(ctx, SavePaymentMethodInput{
		IdempotencyKey:          in.IdempotencyKey,
		CustomerID:              in.CustomerID,
		Card:                    details,
		ProcessorTokens:         []schematype.ProcessorToken{{ProcessorID: proc.ID, Token: card.Token, NetworkTransactionID: card.NetworkTransactionID}},
		Metadata:                in.Metadata,
		ReplacesPaymentMethodID: in.ReplacesPaymentMethodID,
	})
}
