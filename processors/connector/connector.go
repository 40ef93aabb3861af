// Package connector is the vocabulary between the engine and a payment
// processor's connector: what is asked (AuthorizeRequest, CaptureRequest,
// VoidRequest), what the processor said (Outcome), and the optional
// abilities a connector may have. It is a leaf: the retry and routing
// packages read outcomes without importing storage or the connectors.
package connector

import (
	"context"
	"errors"
	"time"
)

// Result is what the processor said about an authorization.
type Result string

const (
	// Approved: the card was authorized.
	Approved Result = "approved"
	// Declined: the issuer or the processor refused the card.
	Declined Result = "declined"
	// TechnicalError: the processor failed before deciding, and says so
	// (connection refused, an outage, a 5xx that did not process). Nothing
	// was charged; another processor may be tried at once.
	TechnicalError Result = "technical_error"
)

// ErrUnknownOutcome wraps a failure after which the processor may or may not
// have processed the request (a timeout, a dropped connection). The caller
// must not move on: it repeats the same call, with the same idempotency key,
// until the processor answers.
var ErrUnknownOutcome = errors.New("processor outcome unknown")

// AuthorizeRequest asks a processor to authorize (and, unless ManualCapture,
// capture) an off-session, merchant-initiated payment.
type AuthorizeRequest struct {
	// IdempotencyKey is written on the attempt before the call and sent again
	// on any repeat of it.
	IdempotencyKey string
	// Repeat: an earlier call with this key ended with an unknown outcome.
	Repeat               bool
	Token                string
	NetworkTransactionID string
	Amount               int64
	Currency             string
	ManualCapture        bool
	// Cadence is "recurring" or "unscheduled".
	Cadence                   string
	Description               string
	StatementDescriptorSuffix string
	Metadata                  map[string]string
	// The card, as far as a processor would know it from the token.
	CardBrand, CardFunding, CardCountry string
	// At is the time on the payment's clock (a test clock's, or the wall
	// clock's): connectors that simulate take time from it alone.
	At time.Time
}

// Outcome is a processor's answer to an authorization.
type Outcome struct {
	Result Result
	// DeclineCode is the processor's decline code, in Stripe's vocabulary
	// (insufficient_funds, do_not_honor, ...).
	DeclineCode string
	// NetworkAdviceCode is the card network's merchant advice code, such as
	// Mastercard's "24" (retry after one hour).
	NetworkAdviceCode string
	// NetworkDeclineCode is the raw response code from the network, such as
	// Visa's "51".
	NetworkDeclineCode string
	// Reference is the processor's ID for the authorization.
	Reference string
	Message   string
}

// CaptureRequest captures an authorization made with ManualCapture.
type CaptureRequest struct {
	IdempotencyKey string
	// AuthorizationKey is the idempotency key the authorization was made with.
	AuthorizationKey string
	Reference        string
	Amount           int64
}

// VoidRequest releases an authorization that will not be captured.
type VoidRequest struct {
	IdempotencyKey   string
	AuthorizationKey string
	Reference        string
}

// Connector talks to one configured processor.
type Connector interface {
	// Authorize returns the processor's outcome, or an error wrapping
	// ErrUnknownOutcome when it cannot tell whether the processor acted.
	Authorize(ctx context.Context, req AuthorizeRequest) (Outcome, error)
	Capture(ctx context.Context, req CaptureRequest) error
	Void(ctx context.Context, req VoidRequest) error
}
