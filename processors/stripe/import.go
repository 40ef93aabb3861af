package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/offsession/offsession/processors/connector"
	"github.com/stripe/stripe-go/v82"
)

// ImportCard reads a card saved by Stripe's own flows: a SetupIntent or a
// PaymentIntent with setup_future_usage (Checkout Sessions use one of the
// two), or the PaymentMethod itself
// (https://docs.stripe.com/payments/save-and-reuse ,
// https://docs.stripe.com/payments/setup-intents). The network
// transaction ID is the charge's payment_method_details.card
// .network_transaction_id for a PaymentIntent
// (https://docs.stripe.com/api/charges/object); for a SetupIntent it is
// read from its latest SetupAttempt's card details where Stripe gives one.
func (s *stripeConnector) ImportCard(ctx context.Context, src connector.ImportSource) (connector.ImportedCard, error) {
	var (
		pm   *stripe.PaymentMethod
		ntid string
	)
	switch {
	case src.SetupIntentID != "":
		params := &stripe.SetupIntentRetrieveParams{}
		params.AddExpand("payment_method")
		params.AddExpand("latest_attempt")
		si, err := s.client.V1SetupIntents.Retrieve(ctx, src.SetupIntentID, params)
		if err != nil {
			return connector.ImportedCard{}, s.importError("setup intent "+src.SetupIntentID, err)
		}
		if si.Status != stripe.SetupIntentStatusSucceeded {
			return connector.ImportedCard{}, fmt.Errorf("%w: setup intent %s is %s, not succeeded", connector.ErrImportRefused, si.ID, si.Status)
		}
		pm = si.PaymentMethod
		if si.LastResponse != nil {
			var raw struct {
				LatestAttempt struct {
					PaymentMethodDetails struct {
						Card struct {
							NetworkTransactionID string `json:"network_transaction_id"`
						} `json:"card"`
					} `json:"payment_method_details"`
				} `json:"latest_attempt"`
			}
			_ = json.Unmarshal(si.LastResponse.RawJSON, &raw)
			ntid = raw.LatestAttempt.PaymentMethodDetails.Card.NetworkTransactionID
		}
	case src.PaymentIntentID != "":
		params := &stripe.PaymentIntentRetrieveParams{}
		params.AddExpand("payment_method")
		params.AddExpand("latest_charge")
		pi, err := s.client.V1PaymentIntents.Retrieve(ctx, src.PaymentIntentID, params)
		if err != nil {
			return connector.ImportedCard{}, s.importError("payment intent "+src.PaymentIntentID, err)
		}
		if pi.Status != stripe.PaymentIntentStatusSucceeded && pi.Status != stripe.PaymentIntentStatusRequiresCapture {
			return connector.ImportedCard{}, fmt.Errorf("%w: payment intent %s is %s: its card was not authorized", connector.ErrImportRefused, pi.ID, pi.Status)
		}
		pm = pi.PaymentMethod
		if c := pi.LatestCharge; c != nil && c.PaymentMethodDetails != nil && c.PaymentMethodDetails.Card != nil {
			ntid = c.PaymentMethodDetails.Card.NetworkTransactionID
		}
	case src.PaymentMethodID != "":
		var err error
		if pm, err = s.client.V1PaymentMethods.Retrieve(ctx, src.PaymentMethodID, nil); err != nil {
			return connector.ImportedCard{}, s.importError("payment method "+src.PaymentMethodID, err)
		}
	default:
		return connector.ImportedCard{}, fmt.Errorf("%w: no object named", connector.ErrImportRefused)
	}
	if pm == nil || pm.Card == nil {
		return connector.ImportedCard{}, fmt.Errorf("%w: the object has no card payment method", connector.ErrImportRefused)
	}
	out := connector.ImportedCard{
		Card: connector.Card{Last4: pm.Card.Last4, Fingerprint: pm.Card.Fingerprint, ExpMonth: int(pm.Card.ExpMonth), ExpYear: int(pm.Card.ExpYear)},
		// A card attached to a customer is charged with its customer.
		Token:   pm.ID,
		Brand:   string(pm.Card.Brand),
		Funding: string(pm.Card.Funding),
		Country: pm.Card.Country,

		NetworkTransactionID: ntid,
	}
	if pm.Customer != nil && pm.Customer.ID != "" {
		out.Token = pm.Customer.ID + "/" + pm.ID
	}
	return out, nil
}

// importError maps a failed read: a missing object is the caller's error,
// anything else Stripe's.
func (s *stripeConnector) importError(what string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceMissing {
		return fmt.Errorf("%w: stripe has no %s", connector.ErrImportRefused, what)
	}
	return s.callError("retrieve "+what, err)
}
