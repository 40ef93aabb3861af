package processors

import (
	"context"
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v82"
)

// Resolver is a connector that can find out what became of a call whose
// outcome is unknown, without making the call again.
type Resolver interface {
	// Lookup finds the authorization that a call under req's idempotency
	// key made. found is true only when the processor holds one in a final
	// state (approved, declined); otherwise the caller knows no more than
	// before and must not move on as if nothing was charged.
	Lookup(ctx context.Context, req AuthorizeRequest) (out Outcome, found bool, err error)
}

// stripeLookupLimit bounds how many of a customer's latest PaymentIntents
// are read to find one by its metadata.
const stripeLookupLimit = 100

// Lookup finds the PaymentIntent made under req's idempotency key by the key
// in its metadata. With a customer it lists the customer's PaymentIntents,
// newest first: the list API has no indexing delay. Without one it searches,
// and Stripe's search is eventually consistent (under a minute behind,
// up to an hour during outages: https://docs.stripe.com/search), so a
// PaymentIntent not found yet may still exist.
func (s *stripeConnector) Lookup(ctx context.Context, req AuthorizeRequest) (Outcome, bool, error) {
	customer, _ := splitStripeToken(req.Token)
	var seq stripe.Seq2[*stripe.PaymentIntent, error]
	if customer != "" {
		params := &stripe.PaymentIntentListParams{Customer: stripe.String(customer)}
		params.Limit = stripe.Int64(stripeLookupLimit)
		seq = s.client.V1PaymentIntents.List(ctx, params)
	} else {
		params := &stripe.PaymentIntentSearchParams{}
		params.Query = fmt.Sprintf("metadata['%s']:'%s'", stripeMetadataIdempotencyKey, strings.ReplaceAll(req.IdempotencyKey, "'", `\'`))
		seq = s.client.V1PaymentIntents.Search(ctx, params)
	}
	read := 0
	for pi, err := range seq {
		if err != nil {
			return Outcome{}, false, s.callError("look up the payment intent", err)
		}
		if read++; read > stripeLookupLimit {
			break
		}
		if pi.Metadata[stripeMetadataIdempotencyKey] != req.IdempotencyKey {
			continue
		}
		switch pi.Status {
		case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusRequiresCapture, stripe.PaymentIntentStatusRequiresAction:
		case stripe.PaymentIntentStatusRequiresPaymentMethod:
			if pi.LastPaymentError == nil || pi.LastPaymentError.Type != stripe.ErrorTypeCard {
				return Outcome{}, false, nil // not decided: confirmation may not have run
			}
		default:
			return Outcome{}, false, nil
		}
		out, err := s.authorizeResult(pi)
		return out, err == nil, err
	}
	return Outcome{}, false, nil
}
