package stripe_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/processors/connector"
)

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
