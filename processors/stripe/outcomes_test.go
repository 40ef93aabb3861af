package stripe_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
)

// TestStripeOutcomeOfEveryDocumentedAnswer serves Stripe's documented
// answers and checks the connector's Outcome or error for each, and for
// each outcome the class retry.Classify gives it, so that the mapping is
// proven from Stripe's body to the retry decision.
func TestStripeOutcomeOfEveryDocumentedAnswer(t *testing.T) {
	t.Parallel()
	declined := "Your card was declined."
	type want = stripeWant
	decline := func(code, network, advice string, class retry.Class) want {
		return want{
			out:   connector.Outcome{Result: connector.Declined, DeclineCode: code, NetworkDeclineCode: network, NetworkAdviceCode: advice, Reference: "pi_3Declined"},
			class: class,
		}
	}
	technical := func(message string) want {
		return want{out: connector.Outcome{Result: connector.TechnicalError}, message: message, class: retry.Technical}
	}
	unknown := want{unknown: true}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		url     string // instead of a server for handler
		timeout time.Duration
		want    want
	}{
		// Declines, one per documented decline code.
		{name: "insufficient_funds", handler: stripeAnswer(402, stripeCardError("card_declined", "insufficient_funds", "Your card has insufficient funds.", nil)),
			want: decline("insufficient_funds", "", "", retry.Soft).withMessage("Your card has insufficient funds.")},
		{name: "do_not_honor", handler: stripeAnswer(402, stripeCardError("card_declined", "do_not_honor", declined, nil)),
			want: decline("do_not_honor", "", "", retry.Soft)},
		{name: "generic_decline", handler: stripeAnswer(402, stripeCardError("card_declined", "generic_decline", declined, nil)),
			want: decline("generic_decline", "", "", retry.Soft)},
		{name: "lost_card", handler: stripeAnswer(402, stripeCardError("card_declined", "lost_card", declined, nil)),
			want: decline("lost_card", "", "", retry.Hard)},
		{name: "stolen_card", handler: stripeAnswer(402, stripeCardError("card_declined", "stolen_card", declined, nil)),
			want: decline("stolen_card", "", "", retry.Hard)},
		{name: "pickup_card", handler: stripeAnswer(402, stripeCardError("card_declined", "pickup_card", declined, nil)),
			want: decline("pickup_card", "", "", retry.Hard)},
		{name: "expired_card", handler: stripeAnswer(402, stripeCardError("expired_card", "expired_card", "Your card has expired.", map[string]string{"param": "exp_month"})),
			want: decline("expired_card", "", "", retry.NeedsNewCardData)},
		{name: "expired_card as code only", handler: stripeAnswer(402, stripeCardError("expired_card", "", "Your card has expired.", nil)),
			want: decline("expired_card", "", "", retry.NeedsNewCardData)},
		{name: "incorrect_number", handler: stripeAnswer(402, stripeCardError("incorrect_number", "incorrect_number", "Your card number is incorrect.", map[string]string{"param": "number"})),
			want: decline("incorrect_number", "", "", retry.Hard)},
		{name: "processing_error", handler: stripeAnswer(402, stripeCardError("processing_error", "", "An error occurred while processing your card. Try again in a little bit.", nil)),
			want: decline("processing_error", "", "", retry.Technical)},
		{name: "authentication_required", handler: stripeAnswer(402, stripeCardError("authentication_required", "authentication_required", "Your card was declined. This transaction requires authentication.", nil)),
			want: decline("authentication_required", "", "", retry.Hard)},
		{name: "card_velocity_exceeded", handler: stripeAnswer(402, stripeCardError("card_declined", "card_velocity_exceeded", "Your card was declined for making repeated attempts too frequently or exceeding its amount limit.", nil)),
			want: decline("card_velocity_exceeded", "", "", retry.Soft)},
		{name: "try_again_later", handler: stripeAnswer(402, stripeCardError("card_declined", "try_again_later", declined, nil)),
			want: decline("try_again_later", "", "", retry.Soft)},
		{name: "withdrawal_count_limit_exceeded", handler: stripeAnswer(402, stripeCardError("card_declined", "withdrawal_count_limit_exceeded", declined, nil)),
			want: decline("withdrawal_count_limit_exceeded", "", "", retry.Soft)},
		{name: "revocation_of_authorization", handler: stripeAnswer(402, stripeCardError("card_declined", "revocation_of_authorization", declined, nil)),
			want: decline("revocation_of_authorization", "", "", retry.Hard)},
		{name: "highest_risk_level", handler: stripeAnswer(402, stripeCardError("card_declined", "highest_risk_level", declined, nil)),
			want: decline("highest_risk_level", "", "", retry.Hard)},

		// The network's codes travel with the decline.
		{name: "network_decline_code 51 with insufficient_funds",
			handler: stripeAnswer(402, stripeCardError("card_declined", "insufficient_funds", "Your card has insufficient funds.", map[string]string{"network_decline_code": "51"})),
			want:    decline("insufficient_funds", "51", "", retry.Soft)},
		{name: "network_decline_code R0 (Visa category 1) under do_not_honor",
			handler: stripeAnswer(402, stripeCardError("card_declined", "do_not_honor", declined, map[string]string{"network_decline_code": "R0"})),
			want:    decline("do_not_honor", "R0", "", retry.Hard)},
		{name: "network_decline_code 54 under generic_decline",
			handler: stripeAnswer(402, stripeCardError("card_declined", "generic_decline", declined, map[string]string{"network_decline_code": "54"})),
			want:    decline("generic_decline", "54", "", retry.NeedsNewCardData)},
		{name: "network_advice_code 24",
			handler: stripeAnswer(402, stripeCardError("card_declined", "do_not_honor", declined, map[string]string{"network_decline_code": "05", "network_advice_code": "24"})),
			want:    decline("do_not_honor", "05", "24", retry.Soft).withNotBefore(time.Hour)},
		{name: "network_advice_code 02",
			handler: stripeAnswer(402, stripeCardError("card_declined", "insufficient_funds", "Your card has insufficient funds.", map[string]string{"network_decline_code": "51", "network_advice_code": "02"})),
			want:    decline("insufficient_funds", "51", "02", retry.Soft).withNotBefore(72 * time.Hour)},
		{name: "network_advice_code 03",
			handler: stripeAnswer(402, stripeCardError("card_declined", "generic_decline", declined, map[string]string{"network_advice_code": "03"})),
			want:    decline("generic_decline", "", "03", retry.Hard)},
		{name: "network_advice_code 01",
			handler: stripeAnswer(402, stripeCardError("card_declined", "do_not_honor", declined, map[string]string{"network_advice_code": "01"})),
			want:    decline("do_not_honor", "", "01", retry.NeedsNewCardData)},
		// Stripe's advice_code is Stripe's, not the network's: it is kept in
		// the message and never read as a Mastercard advice code.
		{name: "advice_code try_again_later",
			handler: stripeAnswer(402, stripeCardError("card_declined", "insufficient_funds", "Your card has insufficient funds.", map[string]string{"advice_code": "try_again_later"})),
			want:    decline("insufficient_funds", "", "", retry.Soft).withMessage("Your card has insufficient funds. (advice_code try_again_later)")},
		{name: "advice_code with every network code",
			handler: stripeAnswer(402, stripeCardError("card_declined", "generic_decline", declined, map[string]string{"advice_code": "do_not_try_again", "network_decline_code": "05", "network_advice_code": "03"})),
			want:    decline("generic_decline", "05", "03", retry.Hard).withMessage("advice_code do_not_try_again")},
		{name: "card_error without a payment intent",
			handler: stripeAnswer(402, `{"error":{"type":"card_error","code":"card_declined","decline_code":"do_not_honor","message":"Your card was declined."}}`),
			want:    want{out: connector.Outcome{Result: connector.Declined, DeclineCode: "do_not_honor"}, class: retry.Soft}},

		// Refused before processing: technical, safe to try again.
		{name: "429 rate_limit_error", handler: stripeAnswer(429, stripeError("rate_limit_error", "rate_limit", "Too many requests hit the API too quickly.")),
			want: technical("HTTP 429 rate_limit_error/rate_limit: Too many requests")},
		{name: "429 rate_limit as invalid_request_error", handler: stripeAnswer(429, stripeError("invalid_request_error", "rate_limit", "Request rate limit exceeded.")),
			want: technical("HTTP 429")},
		{name: "429 lock_timeout", handler: stripeAnswer(429, stripeError("invalid_request_error", "lock_timeout", "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.")),
			want: technical("lock_timeout")},
		{name: "401 authentication_error", handler: stripeAnswer(401, stripeError("authentication_error", "", "Invalid API Key provided: sk_test_****************************hown")),
			want: technical("the secret key was refused (HTTP 401)")},
		{name: "403 permission_error", handler: stripeAnswer(403, stripeError("permission_error", "", "The provided key does not have the required permissions for this endpoint.")),
			want: technical("HTTP 403")},
		{name: "400 invalid_request_error", handler: stripeAnswer(400, stripeError("invalid_request_error", "parameter_missing", "Missing required param: amount.")),
			want: technical("HTTP 400 invalid_request_error/parameter_missing: Missing required param: amount.")},
		{name: "404 resource_missing", handler: stripeAnswer(404, stripeError("invalid_request_error", "resource_missing", "No such PaymentMethod: 'pm_gone'")),
			want: technical("No such PaymentMethod")},

		// Stripe may have acted: unknown, repeated with the same key. A key
		// reused with other parameters did nothing now, but its first
		// request may have charged.
		{name: "409 idempotency_error", handler: stripeAnswer(409, stripeError("idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters they were first used with.")),
			want: unknown},
		{name: "409 idempotency_key_in_use", handler: stripeAnswer(409, stripeError("invalid_request_error", "idempotency_key_in_use", "There is currently another in-progress request using this Idempotent Key.")),
			want: unknown},
		{name: "500 api_error", handler: stripeAnswer(500, stripeError("api_error", "", "An unknown error occurred")), want: unknown},
		{name: "503 api_error", handler: stripeAnswer(503, stripeError("api_error", "", "Service unavailable")), want: unknown},
		{name: "502 without a JSON body", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		}, want: unknown},
		{name: "connection dropped mid-response", handler: dropMidResponse, want: unknown},
		{name: "connection closed without an answer", handler: closeWithoutAnswer, want: unknown},
		{name: "no answer before the deadline", handler: func(w http.ResponseWriter, r *http.Request) {
			// The server notices the client has gone only once the body is read.
			_, _ = io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}, timeout: 100 * time.Millisecond, want: want{unknown: true, errIs: context.DeadlineExceeded}},
		{name: "connection refused", url: "refused", want: technical("connection refused")},

		// Answers with a PaymentIntent.
		{name: "200 succeeded", handler: stripeAnswer(200, stripePaymentIntent("succeeded", nil)),
			want: want{out: connector.Outcome{Result: connector.Approved, Reference: "pi_3Answered"}, class: retry.Approved}},
		{name: "200 requires_capture", handler: stripeAnswer(200, stripePaymentIntent("requires_capture", nil)),
			want: want{out: connector.Outcome{Result: connector.Approved, Reference: "pi_3Answered"}, class: retry.Approved}},
		{name: "200 requires_payment_method with last_payment_error", handler: stripeAnswer(200, stripePaymentIntent("requires_payment_method", map[string]any{
			"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds.",
			"network_decline_code": "51", "network_advice_code": "24",
		})), want: want{
			out:   connector.Outcome{Result: connector.Declined, DeclineCode: "insufficient_funds", NetworkDeclineCode: "51", NetworkAdviceCode: "24", Reference: "pi_3Answered"},
			class: retry.Soft, notBefore: time.Hour,
		}},
		{name: "200 requires_action", handler: stripeAnswer(200, stripePaymentIntent("requires_action", nil)),
			want: want{out: connector.Outcome{Result: connector.Declined, DeclineCode: "authentication_required", Reference: "pi_3Answered"}, class: retry.Hard}},
		{name: "200 processing", handler: stripeAnswer(200, stripePaymentIntent("processing", nil)), want: unknown},
		{name: "200 canceled", handler: stripeAnswer(200, stripePaymentIntent("canceled", nil)),
			want: want{out: connector.Outcome{Result: connector.TechnicalError, Reference: "pi_3Answered"}, message: "canceled", class: retry.Technical}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base := refusedURL(t)
			if tt.url == "" {
				srv := httptest.NewServer(tt.handler)
				t.Cleanup(srv.Close)
				base = srv.URL
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				t.Cleanup(cancel)
			}
			out, err := stripeConnector(t, base, nil).Authorize(ctx, connector.AuthorizeRequest{
				IdempotencyKey: "att_" + strings.ReplaceAll(tt.name, " ", "_"),
				Token:          "pm_card_visa",
				Amount:         1999,
				Currency:       "usd",
			})
			if tt.want.unknown {
				require.ErrorIs(t, err, connector.ErrUnknownOutcome)
				if tt.want.errIs != nil {
					require.ErrorIs(t, err, tt.want.errIs)
				}
				require.Equal(t, connector.Outcome{}, out)
				return
			}
			require.NoError(t, err)
			require.Contains(t, out.Message, tt.want.message)
			out.Message = ""
			require.Equal(t, tt.want.out, out)
			c := retry.Classify(out)
			require.Equal(t, tt.want.class, c.Class, c.Rule)
			require.Equal(t, tt.want.notBefore, c.NotBefore, c.Rule)
		})
	}
}

// stripeWant is what the connector should make of one answer.
type stripeWant struct {
	out       connector.Outcome
	message   string // contained in out.Message
	unknown   bool   // an error wrapping ErrUnknownOutcome
	errIs     error  // also wrapped, if set
	class     retry.Class
	notBefore time.Duration
}

func (w stripeWant) withMessage(m string) stripeWant { w.message = m; return w }

func (w stripeWant) withNotBefore(d time.Duration) stripeWant { w.notBefore = d; return w }
