package stripe

import (
	"context"
	"errors"
	"fmt"

	"github.com/offsession/offsession/processors/connector"
)

// RefreshCard reads the PaymentMethod behind token. Stripe's card account
// updater changes a saved card's expiry or number in place when the
// issuer reports a new one ("Stripe automatically updates saved cards":
// https://docs.stripe.com/payments/cards/overview#automatic-card-updates).
func (s *stripeConnector) RefreshCard(ctx context.Context, token string) (connector.Card, error) {
	_, pmID := splitStripeToken(token)
	pm, err := s.client.V1PaymentMethods.Retrieve(ctx, pmID, nil)
	if err != nil {
		return connector.Card{}, s.callError("retrieve payment method "+pmID, err)
	}
	if pm.Card == nil {
		return connector.Card{}, errors.New("stripe: payment method " + pmID + " is not a card")
	}
	if pm.Card.ExpMonth < 1 || pm.Card.ExpMonth > 12 || pm.Card.Last4 == "" {
		return connector.Card{}, fmt.Errorf("stripe: payment method %s has no usable card data", pmID)
	}
	return connector.Card{Last4: pm.Card.Last4, Fingerprint: pm.Card.Fingerprint, ExpMonth: int(pm.Card.ExpMonth), ExpYear: int(pm.Card.ExpYear)}, nil
}
