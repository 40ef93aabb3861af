// Package stripe is the connector to Stripe, on the official stripe-go SDK:
// off-session PaymentIntents confirmed under the attempt's idempotency key,
// their outcomes in the engine's vocabulary (processors/connector), lookups
// of unknown outcomes, card refreshes and imports of saved cards.
package stripe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/processors/connector"
)

// Settings of a stripe processor (Processor.settings). The secret key is the
// processor's credentials and the API base URL its base_url.
const (
	// stripeSettingSendNetworkTransactionID: "false" leaves out the stored
	// credential's network transaction ID, for an account on which Stripe
	// refuses the parameter.
	stripeSettingSendNetworkTransactionID = "send_network_transaction_id"
)

const (
	// stripeNetworkTransactionIDParam carries the network transaction ID of
	// the stored credential on a merchant-initiated payment. stripe-go v82
	// has no field for it (nor does Stripe's public OpenAPI spec); it is the
	// parameter other Stripe integrations send for it.
	stripeNetworkTransactionIDParam = "payment_method_options[card][mit_exemption][network_transaction_id]"
	// stripeMetadataIdempotencyKey names the metadata entry holding the
	// idempotency key, to find the charge behind an unknown outcome.
	stripeMetadataIdempotencyKey = "offsession_idempotency_key"
	// stripeMaxIdempotencyKey is the longest key Stripe (and the SDK) takes.
	stripeMaxIdempotencyKey = 255
	// stripeHTTPTimeout bounds a call whose context has no deadline; it is
	// the SDK's own default.
	stripeHTTPTimeout = 80 * time.Second
	// stripeRedacted replaces the secret key wherever a message would quote it.
	stripeRedacted = "[redacted]"
)

// stripeConnector talks to Stripe, or a Stripe-compatible server such as
// stripe-mock, for one configured processor. It charges Stripe
// PaymentMethods (pm_...) through the official SDK and reports what Stripe
// answered, nothing more:
//
//	Stripe's answer                                         connector.Outcome / error
//	------------------------------------------------------  ----------------------------------------------
//	200, status succeeded or requires_capture               connector.Approved, Reference = PaymentIntent ID
//	200, requires_payment_method with last_payment_error    connector.Declined, codes from last_payment_error
//	200, requires_action (authentication asked for)         connector.Declined, authentication_required
//	200, processing (the issuer has not answered yet)       error wrapping connector.ErrUnknownOutcome
//	200, any other status (nothing was charged)             connector.TechnicalError
//	card_error (402)                                        Declined: DeclineCode = decline_code, else code;
//	                                                        NetworkDeclineCode = network_decline_code;
//	                                                        NetworkAdviceCode = network_advice_code;
//	                                                        Message = message (and advice_code, if any)
//	401 (bad key), 403 (key lacks permission)               connector.TechnicalError, a fixed message: Stripe's own
//	                                                        quotes part of the key
//	429 rate_limit / lock_timeout                           TechnicalError: Stripe did not run the request
//	400 or 409 idempotency_error (key reused, other         ErrUnknownOutcome: this request was not run, but
//	parameters)                                             the key's first request may have charged
//	409 idempotency_key_in_use                              ErrUnknownOutcome: the first call with the key
//	                                                        is still running
//	other 4xx (invalid_request_error, resource_missing)     TechnicalError: refused before processing
//	5xx, api_error                                          ErrUnknownOutcome: Stripe may have charged
//	refused connection, DNS or TLS failure (never sent)     connector.TechnicalError
//	timeout once connected, reset or dropped connection,    ErrUnknownOutcome: the request may have arrived
//	unreadable body
//
// Stripe saves no idempotent result for requests it refuses before running
// them (validation, authentication, rate limits), so repeating those with the
// same key runs them afresh; it does save 5xx results, so a repeat of an
// unknown outcome may get the same 500 back until the key expires (24 h).
// Every PaymentIntent carries the idempotency key in its metadata so that
// such a charge can still be found.
//
// Stripe's advice_code (try_again_later, do_not_try_again,
// confirm_card_data) is Stripe's advice, not the network's, and connector.Outcome has
// no field for it: it is kept in Message, never in NetworkAdviceCode, whose
// values retry.Classify reads as Mastercard merchant advice codes.
type stripeConnector struct {
	client *stripe.Client
	// key is kept only to scrub it out of messages; the SDK holds its own copy.
	key      string
	sendNTID bool
}

// ErrLiveKeyOverHTTP: a live Stripe key (sk_live_, rk_live_) is only
// sent over https. A test-mode key may go to a local mock in clear text.
var ErrLiveKeyOverHTTP = errors.New("a live stripe key needs an https base URL")

// CheckConfig checks a Stripe secret key and API base URL before
// anything is sent; its errors never quote the key.
func CheckConfig(key, baseURL string) error {
	if key == "" {
		return errors.New("stripe secret key is not set")
	}
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("stripe base URL must be an absolute http(s) URL")
	}
	if u.Scheme != "https" && (strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_")) {
		return ErrLiveKeyOverHTTP
	}
	return nil
}

// New builds the connector for p. It returns an untyped nil
// connector.Connector on error so that the caller's nil check holds.
func New(p *ent.Processor, guard *netguard.Guard) (connector.Connector, error) {
	key := strings.TrimSpace(p.Credentials)
	base := p.BaseURL
	if base == "" {
		base = stripe.APIURL
	}
	if err := CheckConfig(key, base); err != nil {
		return nil, fmt.Errorf("processor %s: %w", p.ID, err)
	}
	client := stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		// The secret key goes only where the guard allows, checked at every
		// connection: a base URL that resolves to a private address later
		// is refused then.
		HTTPClient: &http.Client{Timeout: stripeHTTPTimeout, Transport: guard.Transport()},
		// The SDK logs requests, and error bodies that can quote the key;
		// everything it would say reaches the caller as an connector.Outcome or error.
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
		// Repeating is the caller's decision, made with the same key.
		MaxNetworkRetries: stripe.Int64(0),
		EnableTelemetry:   stripe.Bool(false),
		URL:               stripe.String(base),
	})))
	return &stripeConnector{
		client:   client,
		key:      key,
		sendNTID: p.Settings[stripeSettingSendNetworkTransactionID] != "false",
	}, nil
}

// splitStripeToken reads a token: a PaymentMethod ID (pm_...), or
// cus_.../pm_... for a PaymentMethod attached to a customer, which Stripe
// charges only with its customer named.
func splitStripeToken(token string) (customer, paymentMethod string) {
	if c, pm, ok := strings.Cut(token, "/"); ok {
		return c, pm
	}
	return "", token
}

func (s *stripeConnector) Authorize(ctx context.Context, req connector.AuthorizeRequest) (connector.Outcome, error) {
	if msg := stripeCheckIdempotencyKey(req.IdempotencyKey); msg != "" {
		return connector.Outcome{Result: connector.TechnicalError, Message: msg}, nil
	}
	customer, paymentMethod := splitStripeToken(req.Token)
	params := &stripe.PaymentIntentCreateParams{
		Amount:        stripe.Int64(req.Amount),
		Currency:      stripe.String(strings.ToLower(req.Currency)),
		PaymentMethod: stripe.String(paymentMethod),
		// Tokens are cards; naming the type also keeps Stripe from asking
		// for a return_url for redirecting methods no one can follow.
		PaymentMethodTypes: []*string{stripe.String("card")},
		OffSession:         stripe.Bool(true),
		Confirm:            stripe.Bool(true),
		Metadata:           map[string]string{},
	}
	if customer != "" {
		params.Customer = stripe.String(customer)
	}
	if req.ManualCapture {
		params.CaptureMethod = stripe.String(string(stripe.PaymentIntentCaptureMethodManual))
	}
	if req.Description != "" {
		params.Description = stripe.String(req.Description)
	}
	if req.StatementDescriptorSuffix != "" {
		params.StatementDescriptorSuffix = stripe.String(req.StatementDescriptorSuffix)
	}
	for k, v := range req.Metadata {
		params.Metadata[k] = v
	}
	params.Metadata[stripeMetadataIdempotencyKey] = req.IdempotencyKey
	if req.NetworkTransactionID != "" && s.sendNTID {
		params.AddExtra(stripeNetworkTransactionIDParam, req.NetworkTransactionID)
	}
	params.SetIdempotencyKey(req.IdempotencyKey)

	pi, err := s.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		out, failure := s.authorizeFailure(err)
		if errors.Is(failure, connector.ErrUnknownOutcome) {
			return s.afterStoredFailure(ctx, req, err, failure)
		}
		return out, failure
	}
	return s.authorizeResult(pi)
}

// authorizeResult maps a PaymentIntent that Stripe returned with 200.
func (s *stripeConnector) authorizeResult(pi *stripe.PaymentIntent) (connector.Outcome, error) {
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusRequiresCapture:
		return connector.Outcome{Result: connector.Approved, Reference: pi.ID}, nil
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		if e := pi.LastPaymentError; e != nil && e.Type == stripe.ErrorTypeCard {
			var raw struct {
				LastPaymentError stripeErrorCodes `json:"last_payment_error"`
			}
			if pi.LastResponse != nil {
				_ = json.Unmarshal(pi.LastResponse.RawJSON, &raw)
			}
			out := s.declined(e, raw.LastPaymentError)
			out.Reference = pi.ID
			return out, nil
		}
		if e := pi.LastPaymentError; e != nil {
			return connector.Outcome{
				Result:    connector.TechnicalError,
				Reference: pi.ID,
				Message:   fmt.Sprintf("stripe: payment intent %s is requires_payment_method after %s", pi.ID, s.describe(e)),
			}, nil
		}
	case stripe.PaymentIntentStatusRequiresAction:
		// Off-session, no customer is there to authenticate: Stripe's own
		// answer in that case is the authentication_required decline.
		return connector.Outcome{
			Result:      connector.Declined,
			DeclineCode: string(stripe.DeclineCodeAuthenticationRequired),
			Reference:   pi.ID,
			Message:     "stripe: the payment requires the customer to authenticate",
		}, nil
	case stripe.PaymentIntentStatusProcessing:
		return connector.Outcome{}, fmt.Errorf("stripe: payment intent %s is still processing: %w", pi.ID, connector.ErrUnknownOutcome)
	}
	return connector.Outcome{
		Result:    connector.TechnicalError,
		Reference: pi.ID,
		Message:   fmt.Sprintf("stripe: payment intent %s is %s after confirmation", pi.ID, pi.Status),
	}, nil
}

// authorizeFailure maps an error from creating the PaymentIntent.
func (s *stripeConnector) authorizeFailure(err error) (connector.Outcome, error) {
	var se *stripe.Error
	if !errors.As(err, &se) {
		if errors.Is(err, netguard.ErrNotAllowed) {
			return connector.Outcome{Result: connector.TechnicalError, Message: "stripe: the base URL's address is not allowed"}, nil
		}
		if stripeNeverSent(err) {
			return connector.Outcome{Result: connector.TechnicalError, Message: "stripe: " + s.scrub(err.Error())}, nil
		}
		return connector.Outcome{}, s.unknown("create payment intent", err)
	}
	switch {
	case se.Type == stripe.ErrorTypeCard:
		out := s.declined(se, stripeErrorCodesOf(se))
		if se.PaymentIntent != nil {
			out.Reference = se.PaymentIntent.ID
		}
		return out, nil
	case stripeOutcomeUnknown(se):
		return connector.Outcome{}, fmt.Errorf("stripe: create payment intent: %s: %w", s.describe(se), connector.ErrUnknownOutcome)
	}
	return connector.Outcome{Result: connector.TechnicalError, Message: "stripe: " + s.describe(se)}, nil
}

// stripeErrorCodes are fields of Stripe's error object that stripe-go v82's
// Error type does not decode.
type stripeErrorCodes struct {
	NetworkDeclineCode string `json:"network_decline_code"`
	NetworkAdviceCode  string `json:"network_advice_code"`
	AdviceCode         string `json:"advice_code"`
}

// stripeErrorCodesOf reads stripeErrorCodes from the body of an error response.
func stripeErrorCodesOf(se *stripe.Error) stripeErrorCodes {
	var raw struct {
		Error stripeErrorCodes `json:"error"`
	}
	if se.LastResponse != nil {
		// A body the SDK decoded into se decodes here too; if not, the codes
		// are simply absent.
		_ = json.Unmarshal(se.LastResponse.RawJSON, &raw)
	}
	return raw.Error
}

// declined maps a card error.
func (s *stripeConnector) declined(se *stripe.Error, codes stripeErrorCodes) connector.Outcome {
	code := string(se.DeclineCode)
	if code == "" {
		code = string(se.Code)
	}
	msg := s.scrub(se.Msg)
	if codes.AdviceCode != "" {
		msg += " (advice_code " + codes.AdviceCode + ")"
	}
	return connector.Outcome{
		Result:             connector.Declined,
		DeclineCode:        code,
		NetworkDeclineCode: codes.NetworkDeclineCode,
		NetworkAdviceCode:  codes.NetworkAdviceCode,
		Message:            msg,
	}
}

// stripeOutcomeUnknown reports whether Stripe may have acted on a request
// it answered with an error.
func stripeOutcomeUnknown(se *stripe.Error) bool {
	switch {
	case se.HTTPStatusCode >= 500, se.Type == stripe.ErrorTypeAPI:
		return true
	case se.Type == stripe.ErrorTypeIdempotency:
		// The key was reused with other parameters, which Stripe answers
		// with 400 idempotency_error (https://docs.stripe.com/api/errors):
		// the first request with the key may have charged.
		return true
	case se.HTTPStatusCode == http.StatusConflict:
		// Either the key's first call is still running
		// (idempotency_key_in_use) or the key was reused with other
		// parameters (idempotency_error): this request did nothing, but the
		// first one with the key may have charged, and moving on to another
		// key could charge twice.
		return true
	}
	return false
}

// stripeNeverSent reports whether a transport error proves the request never
// reached the server: no connection was made, or TLS failed before any
// byte of the request was written. Anything else may have arrived.
func stripeNeverSent(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && (opErr.Op == "dial" || opErr.Op == "proxyconnect") {
		return true
	}
	var (
		dnsErr       *net.DNSError
		certErr      *tls.CertificateVerificationError
		authorityErr x509.UnknownAuthorityError
		hostErr      x509.HostnameError
		invalidErr   x509.CertificateInvalidError
		recordErr    tls.RecordHeaderError
	)
	return errors.As(err, &dnsErr) || errors.As(err, &certErr) || errors.As(err, &authorityErr) ||
		errors.As(err, &hostErr) || errors.As(err, &invalidErr) || errors.As(err, &recordErr)
}

// unknown wraps a failure after which Stripe may have acted. Transport
// errors are kept (scrubbed) for errors.Is on the context's error; the
// SDK's other errors are not, as their text quotes the response body.
func (s *stripeConnector) unknown(op string, err error) error {
	var (
		urlErr *url.Error
		netErr net.Error
	)
	if errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("stripe: %s: %w: %w", op, connector.ErrUnknownOutcome, stripeScrubbedError{err: err, key: s.key})
	}
	return fmt.Errorf("stripe: %s: the response could not be read: %w", op, connector.ErrUnknownOutcome)
}

// describe says what Stripe answered, in words safe to log and show.
func (s *stripeConnector) describe(se *stripe.Error) string {
	switch se.HTTPStatusCode {
	case http.StatusUnauthorized:
		// Stripe's message quotes part of the key.
		return "the secret key was refused (HTTP 401)"
	case http.StatusForbidden:
		return "the secret key may not make this request (HTTP 403)"
	}
	what := string(se.Type)
	if se.Code != "" {
		what += "/" + string(se.Code)
	}
	if se.HTTPStatusCode != 0 {
		// A last_payment_error inside a PaymentIntent has no status.
		what = fmt.Sprintf("HTTP %d %s", se.HTTPStatusCode, what)
	}
	if se.Msg != "" {
		what += ": " + s.scrub(se.Msg)
	}
	return what
}

// scrub removes the secret key from a message that might quote it.
func (s *stripeConnector) scrub(msg string) string {
	return strings.ReplaceAll(msg, s.key, stripeRedacted)
}

// stripeScrubbedError keeps a transport error for errors.Is and errors.As, with
// the secret key taken out of its text.
type stripeScrubbedError struct {
	err error
	key string
}

func (e stripeScrubbedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.key, stripeRedacted)
}

func (e stripeScrubbedError) Unwrap() error { return e.err }

// stripeCheckIdempotencyKey returns why a key cannot be sent, or "". Without
// a key the SDK would make up a fresh one, and a repeat could charge twice.
func stripeCheckIdempotencyKey(key string) string {
	switch {
	case strings.TrimSpace(key) == "":
		return "stripe: no idempotency key"
	case len(strings.TrimSpace(key)) > stripeMaxIdempotencyKey:
		return fmt.Sprintf("stripe: idempotency key longer than %d characters", stripeMaxIdempotencyKey)
	}
	return ""
}

func (s *stripeConnector) Capture(ctx context.Context, req connector.CaptureRequest) error {
	if req.Reference == "" {
		return errors.New("stripe: capture: no payment intent")
	}
	if msg := stripeCheckIdempotencyKey(req.IdempotencyKey); msg != "" {
		return errors.New(msg)
	}
	params := &stripe.PaymentIntentCaptureParams{}
	if req.Amount > 0 {
		params.AmountToCapture = stripe.Int64(req.Amount)
	}
	params.SetIdempotencyKey(req.IdempotencyKey)
	if _, err := s.client.V1PaymentIntents.Capture(ctx, req.Reference, params); err != nil {
		return s.callError("capture payment intent "+req.Reference, err)
	}
	return nil
}

func (s *stripeConnector) Void(ctx context.Context, req connector.VoidRequest) error {
	if req.Reference == "" {
		return errors.New("stripe: void: no payment intent")
	}
	if msg := stripeCheckIdempotencyKey(req.IdempotencyKey); msg != "" {
		return errors.New(msg)
	}
	params := &stripe.PaymentIntentCancelParams{}
	params.SetIdempotencyKey(req.IdempotencyKey)
	if _, err := s.client.V1PaymentIntents.Cancel(ctx, req.Reference, params); err != nil {
		return s.callError("cancel payment intent "+req.Reference, err)
	}
	return nil
}

// callError maps a failed capture or cancel: an error wrapping
// connector.ErrUnknownOutcome when Stripe may have acted, a plain one when it refused.
func (s *stripeConnector) callError(op string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		if stripeNeverSent(err) {
			return fmt.Errorf("stripe: %s: %w", op, stripeScrubbedError{err: err, key: s.key})
		}
		return s.unknown(op, err)
	}
	if stripeOutcomeUnknown(se) {
		return fmt.Errorf("stripe: %s: %s: %w", op, s.describe(se), connector.ErrUnknownOutcome)
	}
	return fmt.Errorf("stripe: %s: %s", op, s.describe(se))
}
