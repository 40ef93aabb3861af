package stripe_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

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
