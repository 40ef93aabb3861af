package stripe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/processors/stripemocktest"
	"github.com/offsession/offsession/retry"
)

// stripeTestKey is a test-mode secret key distinctive enough that finding
// it, or its tail, in any output is a leak.
const stripeTestKey = "sk_test_51OffsessionQz7Kx4WvNeverShown"

// localServers lets connectors reach the test servers on 127.0.0.1.
var localServers = netguard.New(netguard.Config{AllowPrivate: true})

// stripeConnector builds the stripe connector the way the engine does,
// through the registry.
func stripeConnector(t *testing.T, baseURL string, settings map[string]string) connector.Connector {
	t.Helper()
	conn, err := processors.NewRegistry(nil, localServers).Connector(&ent.Processor{
		ID:          "prc_stripe_test",
		Type:        processor.TypeStripe,
		Credentials: stripeTestKey,
		BaseURL:     baseURL,
		Settings:    settings,
	})
	require.NoError(t, err)
	return conn
}

func TestStripeConnectorConfiguration(t *testing.T) {
	t.Parallel()
	registry := processors.NewRegistry(nil, localServers)
	tests := []struct {
		name    string
		give    ent.Processor
		wantErr string
	}{
		{name: "default base URL", give: ent.Processor{Credentials: stripeTestKey}},
		{name: "no key", give: ent.Processor{BaseURL: "http://127.0.0.1:1"}, wantErr: "secret key is not set"},
		{name: "not a URL", give: ent.Processor{Credentials: stripeTestKey, BaseURL: "127.0.0.1:12111"}, wantErr: "absolute http(s) URL"},
		{name: "live key in clear text", give: ent.Processor{Credentials: "sk_live_51Secret", BaseURL: "http://stripe.internal:12111"}, wantErr: "needs an https base URL"},
		{name: "live key over https", give: ent.Processor{Credentials: "sk_live_51Secret", BaseURL: "https://stripe.internal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.give
			p.ID, p.Type = "prc_config", processor.TypeStripe
			conn, err := registry.Connector(&p)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, conn)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, conn)
			if p.Credentials != "" {
				require.NotContains(t, err.Error(), p.Credentials)
			}
		})
	}
}

// TestStripeAgainstStripeMock sends every call the connector makes to
// stripe-mock, which validates requests against Stripe's OpenAPI spec, and
// checks what stripe-mock received.
func TestStripeAgainstStripeMock(t *testing.T) {
	t.Parallel()
	rec := stripemocktest.NewRecorder(t, stripemocktest.Start(t))
	conn := stripeConnector(t, rec.URL, nil)
	ctx := context.Background()

	requireHeaders := func(t *testing.T, got stripemocktest.Request, key string) {
		t.Helper()
		require.Equal(t, key, got.Header.Get("Idempotency-Key"))
		require.Equal(t, "Bearer "+stripeTestKey, got.Header.Get("Authorization"), "the key is sent as a bearer token")
		require.NotEmpty(t, got.Header.Get("Stripe-Version"))
	}

	// Each step needs the one before it, so they run in order.
	rec.PlayStatus.Store(true)
	t.Run("authorize with automatic capture", func(t *testing.T) {
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{
			IdempotencyKey:            "att_auto_1",
			Token:                     "pm_card_visa",
			NetworkTransactionID:      "ntid123456",
			Amount:                    1999,
			Currency:                  "USD",
			Cadence:                   "recurring",
			Description:               "Plan, March",
			StatementDescriptorSuffix: "PLAN MAR",
			Metadata:                  map[string]string{"payment": "osp_1"},
		})
		require.NoError(t, err)
		require.Equal(t, connector.Approved, out.Result)
		require.True(t, strings.HasPrefix(out.Reference, "pi_"), out.Reference)

		got := rec.Last(t)
		require.Equal(t, http.MethodPost, got.Method)
		require.Equal(t, "/v1/payment_intents", got.Path)
		requireHeaders(t, got, "att_auto_1")
		require.Equal(t, url.Values{
			"amount":                               {"1999"},
			"currency":                             {"usd"},
			"payment_method":                       {"pm_card_visa"},
			"payment_method_types[0]":              {"card"},
			"off_session":                          {"true"},
			"confirm":                              {"true"},
			"description":                          {"Plan, March"},
			"statement_descriptor_suffix":          {"PLAN MAR"},
			"metadata[payment]":                    {"osp_1"},
			"metadata[offsession_idempotency_key]": {"att_auto_1"},
			"payment_method_options[card][mit_exemption][network_transaction_id]": {"ntid123456"},
		}, got.Form)
	})

	var authorized string
	t.Run("authorize with manual capture for a customer's card", func(t *testing.T) {
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{
			IdempotencyKey: "att_manual_1",
			Token:          "cus_Joan/pm_card_mastercard",
			Amount:         5000,
			Currency:       "eur",
			ManualCapture:  true,
		})
		require.NoError(t, err)
		require.Equal(t, connector.Approved, out.Result)
		authorized = out.Reference

		got := rec.Last(t)
		requireHeaders(t, got, "att_manual_1")
		require.Equal(t, "manual", got.Form.Get("capture_method"))
		require.Equal(t, "cus_Joan", got.Form.Get("customer"))
		require.Equal(t, "pm_card_mastercard", got.Form.Get("payment_method"))
		require.Equal(t, "true", got.Form.Get("off_session"))
		require.Equal(t, "true", got.Form.Get("confirm"))
		require.False(t, got.Form.Has("payment_method_options[card][mit_exemption][network_transaction_id]"), "no network transaction ID was given")
		require.False(t, got.Form.Has("description"))
		require.False(t, got.Form.Has("statement_descriptor_suffix"))
	})

	t.Run("capture", func(t *testing.T) {
		require.NotEmpty(t, authorized)
		err := conn.Capture(ctx, connector.CaptureRequest{
			IdempotencyKey:   "osp_1-capture",
			AuthorizationKey: "att_manual_1",
			Reference:        authorized,
			Amount:           4200,
		})
		require.NoError(t, err)
		got := rec.Last(t)
		require.Equal(t, "/v1/payment_intents/"+authorized+"/capture", got.Path)
		requireHeaders(t, got, "osp_1-capture")
		require.Equal(t, url.Values{"amount_to_capture": {"4200"}}, got.Form)
	})

	t.Run("void", func(t *testing.T) {
		err := conn.Void(ctx, connector.VoidRequest{
			IdempotencyKey:   "osp_1-void",
			AuthorizationKey: "att_manual_1",
			Reference:        authorized,
		})
		require.NoError(t, err)
		got := rec.Last(t)
		require.Equal(t, "/v1/payment_intents/"+authorized+"/cancel", got.Path)
		requireHeaders(t, got, "osp_1-void")
	})

	t.Run("network transaction ID switched off", func(t *testing.T) {
		conn := stripeConnector(t, rec.URL, map[string]string{"send_network_transaction_id": "false"})
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{
			IdempotencyKey: "att_no_ntid", Token: "pm_card_visa", NetworkTransactionID: "ntid123456", Amount: 100, Currency: "usd",
		})
		require.NoError(t, err)
		require.Equal(t, connector.Approved, out.Result)
		require.False(t, rec.Last(t).Form.Has("payment_method_options[card][mit_exemption][network_transaction_id]"))
	})

	t.Run("a key stripe-mock refuses", func(t *testing.T) {
		// stripe-mock's 401 quotes the Authorization header it was sent.
		const badKey = "sk_tst_NotAValidLookingKey"
		conn, err := processors.NewRegistry(nil, localServers).Connector(&ent.Processor{
			ID: "prc_bad_key", Type: processor.TypeStripe, Credentials: badKey, BaseURL: rec.URL,
		})
		require.NoError(t, err)
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{IdempotencyKey: "att_bad_key", Token: "pm_card_visa", Amount: 100, Currency: "usd"})
		require.NoError(t, err)
		require.Equal(t, connector.TechnicalError, out.Result)
		require.Equal(t, "stripe: the secret key was refused (HTTP 401)", out.Message)
		require.Equal(t, "Bearer "+badKey, rec.Last(t).Header.Get("Authorization"))
	})

	rec.PlayStatus.Store(false)
	t.Run("stripe-mock's canned status is not an approval", func(t *testing.T) {
		// requires_payment_method, and a last_payment_error that is no card
		// error: nothing was charged, and there is no decline to report.
		out, err := conn.Authorize(ctx, connector.AuthorizeRequest{IdempotencyKey: "att_canned", Token: "pm_card_visa", Amount: 100, Currency: "usd"})
		require.NoError(t, err)
		require.Equal(t, connector.TechnicalError, out.Result)
		require.Contains(t, out.Message, "requires_payment_method")
	})
}

// stripeCardError is Stripe's documented body of a declined payment:
// a card_error with the PaymentIntent it left in requires_payment_method.
func stripeCardError(code, declineCode, message string, extra map[string]string) string {
	e := map[string]any{
		"type":            "card_error",
		"code":            code,
		"message":         message,
		"doc_url":         "https://docs.stripe.com/error-codes/" + strings.ReplaceAll(code, "_", "-"),
		"charge":          "ch_3Declined",
		"request_log_url": "https://dashboard.stripe.com/test/logs/req_123",
		"payment_method":  map[string]any{"id": "pm_card_visa", "object": "payment_method", "type": "card"},
		"payment_intent": map[string]any{
			"id":            "pi_3Declined",
			"object":        "payment_intent",
			"status":        "requires_payment_method",
			"client_secret": "pi_3Declined_secret_abc",
			"amount":        1999,
			"currency":      "usd",
		},
	}
	if declineCode != "" {
		e["decline_code"] = declineCode
	}
	for k, v := range extra {
		e[k] = v
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

// stripeError is Stripe's documented body of any other error.
func stripeError(typ, code, message string) string {
	e := map[string]any{"type": typ, "message": message}
	if code != "" {
		e["code"] = code
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return string(b)
}

// stripePaymentIntent is a PaymentIntent body with the given status.
func stripePaymentIntent(status string, lastPaymentError map[string]any) string {
	pi := map[string]any{"id": "pi_3Answered", "object": "payment_intent", "status": status, "amount": 1999, "currency": "usd"}
	if lastPaymentError != nil {
		pi["last_payment_error"] = lastPaymentError
	}
	b, _ := json.Marshal(pi)
	return string(b)
}

// stripeAnswer is a handler that answers with a status and a JSON body.
func stripeAnswer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_test")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// dropMidResponse sends the head of a response and part of its body, then
// closes the connection, as a network failure after Stripe acted would.
func dropMidResponse(w http.ResponseWriter, r *http.Request) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"id\": \"pi_3Lost\", \"object\": \"payment_")
	_ = buf.Flush()
	_ = conn.Close()
}

// closeWithoutAnswer reads the request and closes the connection.
func closeWithoutAnswer(w http.ResponseWriter, r *http.Request) {
	_, _ = io.ReadAll(r.Body)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

// refusedURL is the address of a port nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

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

// TestStripeCredentialNeverLeaks answers the connector in every way that
// could quote the secret key, and looks for the key in every Outcome,
// every error and everything written to stdout, stderr and the loggers.
// It does not run in parallel: it takes over the process's output.
func TestStripeCredentialNeverLeaks(t *testing.T) {
	echo := "Invalid API Key provided: " + stripeTestKey
	masked := "Invalid API Key provided: sk_test_****************************hown"
	answers := map[string]http.HandlerFunc{
		"401 quoting the key":    stripeAnswer(401, stripeError("invalid_request_error", "", echo)),
		"401 masking the key":    stripeAnswer(401, stripeError("authentication_error", "", masked)),
		"400 quoting the key":    stripeAnswer(400, stripeError("invalid_request_error", "api_key_expired", echo)),
		"402 quoting the key":    stripeAnswer(402, stripeCardError("card_declined", "generic_decline", echo, nil)),
		"500 quoting the key":    stripeAnswer(500, stripeError("api_error", "", echo)),
		"502 text quoting it":    func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502); _, _ = io.WriteString(w, echo) },
		"200 garbage quoting it": func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{"+echo) },
		"dropped":                dropMidResponse,
	}

	// outputs maps what was said to where it was said.
	outputs := map[string]string{}
	captured := captureOutput(t, func() {
		// The capture itself works: this line must come back.
		fmt.Fprintln(os.Stderr, "capture check")
		for name, handler := range answers {
			srv := httptest.NewServer(handler)
			conn := stripeConnector(t, srv.URL, nil)
			ctx := context.Background()
			out, err := conn.Authorize(ctx, connector.AuthorizeRequest{IdempotencyKey: "att_leak", Token: "pm_card_visa", Amount: 100, Currency: "usd"})
			outputs[name+": authorize"] = fmt.Sprintf("%+v %v %+v", out, err, err)
			err = conn.Capture(ctx, connector.CaptureRequest{IdempotencyKey: "cap_leak", Reference: "pi_1", Amount: 100})
			outputs[name+": capture"] = fmt.Sprintf("%v %+v", err, err)
			err = conn.Void(ctx, connector.VoidRequest{IdempotencyKey: "void_leak", Reference: "pi_1"})
			outputs[name+": void"] = fmt.Sprintf("%v %+v", err, err)
			srv.Close()
		}
		conn := stripeConnector(t, refusedURL(t), nil)
		out, err := conn.Authorize(context.Background(), connector.AuthorizeRequest{IdempotencyKey: "att_leak", Token: "pm_card_visa", Amount: 100, Currency: "usd"})
		outputs["refused: authorize"] = fmt.Sprintf("%+v %v", out, err)
	})
	require.Contains(t, captured, "capture check")
	outputs["stdout, stderr and loggers"] = captured

	// The key is named, never printed, should the test fail.
	secret := strings.TrimPrefix(stripeTestKey, "sk_test_")
	for where, said := range outputs {
		require.False(t, strings.Contains(said, secret), "the secret key leaked in %s", where)
		require.False(t, strings.Contains(said, "hown"), "a masked form of the key leaked in %s", where)
	}
	// The 401 is reported, in the connector's own words.
	require.Contains(t, outputs["401 quoting the key: authorize"], "the secret key was refused (HTTP 401)")
}

// captureOutput runs fn with os.Stdout, os.Stderr, the log package and the
// default slog logger all writing into one buffer, and returns it.
func captureOutput(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	var buf bytes.Buffer
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&buf, r)
		close(copied)
	}()
	stdout, stderr := os.Stdout, os.Stderr
	logOut, logFlags := log.Writer(), log.Flags()
	slogDefault := slog.Default()
	os.Stdout, os.Stderr = w, w
	log.SetOutput(w)
	slog.SetDefault(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer func() {
		os.Stdout, os.Stderr = stdout, stderr
		log.SetOutput(logOut)
		log.SetFlags(logFlags)
		slog.SetDefault(slogDefault)
	}()
	fn()
	require.NoError(t, w.Close())
	<-copied
	return buf.String()
}
