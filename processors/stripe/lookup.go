package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/offsession/offsession/processors/connector"
	"github.com/stripe/stripe-go/v82"
)

// stripeLookupLimit bounds how many of a customer's latest PaymentIntents
// are read to find one by its metadata.
const stripeLookupLimit = 100

// Lookup finds the PaymentIntent made under req's idempotency key; see
// findIntent.
func (s *stripeConnector) Lookup(ctx context.Context, req connector.AuthorizeRequest) (connector.Outcome, bool, error) {
	pi, _, err := s.findIntent(ctx, req)
	if err != nil || pi == nil {
		return connector.Outcome{}, false, err
	}
	return s.finalOutcome(pi)
}

// finalOutcome is the outcome of a PaymentIntent in a final state; found
// is false for one whose confirmation may not have run or is still
// running.
func (s *stripeConnector) finalOutcome(pi *stripe.PaymentIntent) (connector.Outcome, bool, error) {
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusRequiresCapture, stripe.PaymentIntentStatusRequiresAction:
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		if pi.LastPaymentError == nil || pi.LastPaymentError.Type != stripe.ErrorTypeCard {
			return connector.Outcome{}, false, nil
		}
	default:
		return connector.Outcome{}, false, nil
	}
	out, err := s.authorizeResult(pi)
	return out, err == nil, err
}

// findIntent finds the PaymentIntent made under req's idempotency key by
// the key in its metadata. With a customer it lists the customer's
// PaymentIntents, newest first: the list API has no indexing delay, so
// consistent is true and a nil PaymentIntent means Stripe holds none.
// Without one it searches, and Stripe's search is eventually consistent
// (under a minute behind, up to an hour during outages:
// https://docs.stripe.com/search), so a PaymentIntent not found yet may
// still exist.
func (s *stripeConnector) findIntent(ctx context.Context, req connector.AuthorizeRequest) (pi *stripe.PaymentIntent, consistent bool, err error) {
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
			return nil, false, s.callError("look up the payment intent", err)
		}
		if read++; read > stripeLookupLimit {
			// Not among the customer's latest: not proof that none exists.
			return nil, false, nil
		}
		if pi.Metadata[stripeMetadataIdempotencyKey] == req.IdempotencyKey {
			return pi, customer != "", nil
		}
	}
	return nil, customer != "", nil
}

// afterStoredFailure settles a repeated call that Stripe answered with a
// 5xx. A repeat meets the key's stored first answer, or runs afresh when
// there was none; either way the key's requests have finished, as a
// request still running would be answered 409 idempotency_key_in_use
// (https://docs.stripe.com/api/idempotent_requests). If the list, which has
// no indexing delay, then shows no PaymentIntent under the key, nothing was
// charged under it: a technical failure, and the next attempt goes out
// under a key of its own. Otherwise the outcome stays unknown.
//
// raw is the SDK's error; unknown is the error wrapping connector.ErrUnknownOutcome
// that is returned while the outcome stays unknown.
func (s *stripeConnector) afterStoredFailure(ctx context.Context, req connector.AuthorizeRequest, raw, unknown error) (connector.Outcome, error) {
	var se *stripe.Error
	if !req.Repeat || !errors.As(raw, &se) || se.HTTPStatusCode < http.StatusInternalServerError {
		return connector.Outcome{}, unknown
	}
	pi, consistent, err := s.findIntent(ctx, req)
	switch {
	case err != nil || !consistent:
		return connector.Outcome{}, unknown
	case pi == nil:
		return connector.Outcome{Result: connector.TechnicalError, Message: fmt.Sprintf(
			"stripe: %s to a repeat of the key, and no payment intent under it: nothing was charged", s.describe(se))}, nil
	}
	if out, found, err := s.finalOutcome(pi); found && err == nil {
		return out, nil
	}
	return connector.Outcome{}, unknown
}
