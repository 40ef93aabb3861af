package graph_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// sample is one line of a /metrics scrape.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads /metrics through the process's handler.
func scrape(t *testing.T, b *apitest.Bundle) []sample {
	t.Helper()
	rec := httptest.NewRecorder()
	b.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	var out []sample
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		require.NoError(t, err, line)
		s := sample{name: line[:sp], labels: map[string]string{}, value: v}
		if i := strings.IndexByte(s.name, '{'); i >= 0 {
			for _, kv := range strings.Split(strings.TrimSuffix(s.name[i+1:], "}"), ",") {
				k, val, _ := strings.Cut(kv, "=")
				s.labels[k] = strings.Trim(val, `"`)
			}
			s.name = s.name[:i]
		}
		out = append(out, s)
	}
	return out
}

// find returns the samples of name whose labels include want.
func find(samples []sample, name string, want map[string]string) []sample {
	var out []sample
	for _, s := range samples {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// requireSample fails unless a sample of name with the labels has a value
// at least min, and returns the first.
func requireSample(t *testing.T, samples []sample, name string, labels map[string]string, min float64) sample {
	t.Helper()
	got := find(samples, name, labels)
	require.NotEmpty(t, got, "no %s%v in the scrape; have %v", name, labels, find(samples, name, nil))
	require.GreaterOrEqual(t, got[0].value, min, "%s%v", name, labels)
	for _, s := range got {
		for _, forbidden := range []string{"account", "account_id", "payment", "payment_id", "processor_id"} {
			require.NotContains(t, s.labels, forbidden, "%s has an ID label", name)
		}
	}
	return got[0]
}

// dueNow makes a payment's next attempt due now, as if its planned time
// had come.
func dueNow(t *testing.T, st *storage.Store, id string) {
	t.Helper()
	now := time.Now().UTC().Add(-time.Second)
	require.NoError(t, st.Client.OffSessionPayment.UpdateOneID(id).SetDueAt(now).SetNextAttemptAt(now).
		Exec(viewer.SystemContext(context.Background())))
}

// TestMetricsAfterAFlow runs what an operator watches (a payment declined
// and retried, a processor eliminated by an outage, a webhook that fails
// then is delivered, an idempotency conflict, rate-limited requests and a
// training run) and finds each in one scrape of /metrics, with its labels.
func TestMetricsAfterAFlow(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		var hooks atomic.Int32
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if hooks.Add(1) == 1 {
				w.WriteHeader(http.StatusInternalServerError) // the first delivery fails
			}
		}))
		t.Cleanup(hook.Close)
		b := apitest.NewWith(t, st, func(c *app.Config) {
			apitest.AllowPrivateURLs(c)
			c.RateLimit, c.RateBurst = 0.001, 20
			c.WebhookBackoff = time.Millisecond
		})
		a := b.A

		r := b.Do(t, a.Keys.Secret, `mutation($in: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $in) { webhookEndpoint { id } } }`,
			map[string]any{"in": map[string]any{"url": hook.URL, "eventTypes": []string{"off_session_payment.created"}}})
		r.RequireOK(t)

		// A soft decline, retried under the smart strategy with no model.
		c := b.NewChain(t, a, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds"})
		in := apitest.PaymentInput(c, 1500, map[string]any{"retryStrategy": "smart", "idempotencyKey": "obs-1"})
		r = b.CreatePayment(t, a.Keys.Secret, in)
		r.RequireOK(t)
		pid := r.String(t, "createOffSessionPayment.id")
		b.RunDue(t)
		dueNow(t, st, pid)
		b.RunDue(t)
		require.Equal(t, "pending_retry", b.Payment(t, a.Keys.Secret, pid)["status"])

		// The same key with another amount.
		in["amount"] = 1600
		b.CreatePayment(t, a.Keys.Secret, in).RequireError(t, "CONFLICT")

		// A processor in an outage fails technically until it is eliminated.
		outage := b.NewAccount(t, "Outage")
		b.Do(t, outage.Keys.Secret, `mutation($id: ID!) { updateProcessor(id: $id, input: {settings: {outage: "true"}}) { id } }`,
			map[string]any{"id": outage.ProcessorID}).RequireOK(t)
		oc := b.NewChain(t, outage, apitest.ChainOptions{})
		r = b.CreatePayment(t, outage.Keys.Secret, apitest.PaymentInput(oc, 900, map[string]any{"retryStrategy": "heuristic"}))
		r.RequireOK(t)
		opid := r.String(t, "createOffSessionPayment.id")
		b.RunDue(t)
		for range 2 {
			dueNow(t, st, opid)
			b.RunDue(t)
		}

		// The webhook: one failed attempt, then delivered.
		require.NoError(t, b.Proc.Deliverer.RunDue(context.Background()))
		time.Sleep(5 * time.Millisecond)
		require.NoError(t, b.Proc.Deliverer.RunDue(context.Background()))

		// Over the mutation budget, and a burst of invalid keys.
		var aliases strings.Builder
		for i := range 21 {
			fmt.Fprintf(&aliases, `c%d: createCustomer(input: {name: "x", email: "x@example.com", country: "US", timeZone: "UTC"}) { id } `, i)
		}
		b.Do(t, b.B.Keys.Secret, "mutation { "+aliases.String()+"}", nil).RequireError(t, "RATE_LIMITED")

		// A training run with no history fails at once.
		b.Do(t, a.Keys.Admin, `mutation { trainRetryModel(input: {seed: 1}) { id } }`, nil).RequireOK(t)
		require.Eventually(t, func() bool {
			return len(find(scrape(t, b), "offsession_model_training_runs_total", map[string]string{"outcome": "failed"})) > 0
		}, 20*time.Second, 20*time.Millisecond, "no training run in /metrics")

		// Last: the address is throttled after it.
		for range 25 {
			b.Do(t, "sk_test_not_a_key", `{ __typename }`, nil)
		}
		samples := scrape(t, b)

		requireSample(t, samples, "offsession_attempts_total", map[string]string{"processor": "simulator", "outcome": "declined", "decline_class": "soft"}, 2)
		requireSample(t, samples, "offsession_attempts_total", map[string]string{"processor": "simulator", "outcome": "technical_error", "decline_class": "technical"}, 3)
		requireSample(t, samples, "offsession_processor_call_duration_seconds_count", map[string]string{"processor": "simulator"}, 5)
		requireSample(t, samples, "offsession_processor_call_duration_seconds_bucket", map[string]string{"processor": "simulator", "le": "+Inf"}, 5)
		requireSample(t, samples, "offsession_attempt_start_lag_seconds_count", nil, 5)
		requireSample(t, samples, "offsession_claim_batch_size_count", map[string]string{"queue": "payments"}, 5)
		requireSample(t, samples, "offsession_claim_batch_size_count", map[string]string{"queue": "webhooks"}, 2)
		requireSample(t, samples, "offsession_payments", map[string]string{"status": "pending_retry"}, 2)
		require.Len(t, find(samples, "offsession_payments", nil), 9, "every status is reported")
		requireSample(t, samples, "offsession_due_payments", nil, 0)
		requireSample(t, samples, "offsession_webhook_deliveries_pending", nil, 0)
		requireSample(t, samples, "offsession_webhook_oldest_pending_age_seconds", nil, 0)
		requireSample(t, samples, "offsession_store_scrape_success", nil, 1)
		requireSample(t, samples, "offsession_webhook_delivery_attempts_total", map[string]string{"result": "http_error"}, 1)
		requireSample(t, samples, "offsession_webhook_delivery_attempts_total", map[string]string{"result": "delivered"}, 1)
		requireSample(t, samples, "offsession_processor_eliminations_total", map[string]string{"processor": "simulator"}, 1)
		requireSample(t, samples, "offsession_processors_eliminated", nil, 1)
		requireSample(t, samples, "offsession_retry_decisions_total", map[string]string{"strategy": "smart", "kind": "no_model", "model_version": "none"}, 2)
		requireSample(t, samples, "offsession_retry_decisions_total", map[string]string{"strategy": "technical", "kind": "rule"}, 3)
		requireSample(t, samples, "offsession_model_training_duration_seconds_count", map[string]string{"outcome": "failed"}, 1)
		requireSample(t, samples, "offsession_idempotency_conflicts_total", map[string]string{"operation": "createOffSessionPayment"}, 1)
		requireSample(t, samples, "offsession_rate_limited_requests_total", map[string]string{"reason": "mutations_budget"}, 1)
		requireSample(t, samples, "offsession_rate_limited_requests_total", map[string]string{"reason": "invalid_keys"}, 1)
		requireSample(t, samples, "offsession_http_request_duration_seconds_count", map[string]string{"route": "/graphql", "status": "200"}, 1)

		// Every metric the Grafana dashboard plots is one the scrape has.
		dash, err := os.ReadFile("../deploy/grafana/offsession.json")
		require.NoError(t, err)
		names := regexp.MustCompile(`offsession_[a-z_]+`).FindAllString(string(dash), -1)
		require.NotEmpty(t, names)
		for _, n := range names {
			if n == "offsession_attempt_unknown_outcomes_total" {
				continue // the flow has no unknown outcome (a series appears with the first)
			}
			require.NotEmpty(t, find(samples, n, nil), "the dashboard plots %s, which /metrics does not have", n)
		}
	})
}
