// Package metrics defines offsession's Prometheus metrics, on a registry of
// their own that each built process makes (never the global default, so
// tests can build several processes). Each package records its events
// through the methods here, at the one place each event happens; every
// method is safe on a nil *Metrics, which records nothing.
//
// Labels are few and bounded: processor types, outcomes, decline classes,
// strategies, model versions, queue names. Never an account, a payment or
// any other object's ID.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are one process's metrics.
type Metrics struct {
	// Registry holds them, with the Go and process collectors.
	Registry *prometheus.Registry

	httpRequests         *prometheus.HistogramVec
	attempts             *prometheus.CounterVec
	processorCalls       *prometheus.HistogramVec
	unknownOutcomes      *prometheus.CounterVec
	attemptLag           prometheus.Histogram
	claimBatch           *prometheus.HistogramVec
	webhookAttempts      *prometheus.CounterVec
	eliminations         *prometheus.CounterVec
	retryDecisions       *prometheus.CounterVec
	trainingRuns         *prometheus.CounterVec
	trainingDuration     *prometheus.HistogramVec
	idempotencyConflicts *prometheus.CounterVec
	rateLimited          *prometheus.CounterVec
}

// New returns the metrics on a new registry.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		httpRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "offsession_http_request_duration_seconds",
			Help:    "HTTP requests by route and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "status"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offsession_attempts_total",
			Help: "Finished payment attempts by processor type, outcome (approved, declined, technical_error) and decline class (hard, soft, needs_new_card_data, technical; none when approved).",
		}, []string{"processor", "outcome", "decline_class"}),
		processorCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "offsession_processor_call_duration_seconds",
			Help:    "Latency of each authorization call to a processor, by processor type (a failover makes two calls in one attempt).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"processor"}),
		unknownOutcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offsession_attempt_unknown_outcomes_total",
			Help: "Processor calls whose outcome stayed unknown (timeout, stored 5xx): the call is repeated with the same idempotency key.",
		}, []string{"processor"}),
		attemptLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "offsession_attempt_start_lag_seconds",
			Help:    "Delay from when a payment's attempt was due to when a worker started it (payments on test clocks left out).",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}),
		claimBatch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "offsession_claim_batch_size",
			Help:    "Rows leased by one claim of due work, by queue (payments, webhooks); 0 for a claim that found nothing due.",
			Buckets: []float64{0, 1, 2, 4, 8, 16, 32, 64},
		}, []string{"queue"}),
		webhookAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offsession_webhook_delivery_attempts_total",
			Help: "Webhook delivery attempts by result: delivered, http_error (a non-2xx answer), timeout, connection_error; given_up counts deliveries abandoned after their last failure.",
		}, []string{"result"}),
		eliminations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offsession_processor_eliminations_total",
			Help: "Processors eliminated from routing after technical failures, by processor type.",
		}, []string{"processor"}),
		retryDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offsession_retry_decisions_total",
			Help: "Retry decisions after a failed attempt, by strategy (smart, heuristic, scheduled, none, technical), kind (model, anchored, explored, no_model for smart; rule for the others; stop when no retry follows) and model_version (smart, when a model was active; else none).",
		}, []string{"strategy", "kind", "model_version"}),
		trainingRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offsession_model_training_runs_total",
			Help: "Retry-model training runs by outcome (succeeded, failed).",
		}, []string{"outcome"}),
		trainingDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "offsession_model_training_duration_seconds",
			Help:    "Duration of retry-model training runs, by outcome.",
			Buckets: []float64{.1, .5, 1, 5, 15, 60, 300, 900, 3600},
		}, []string{"outcome"}),
		idempotencyConflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offsession_idempotency_conflicts_total",
			Help: "Create mutations refused because their idempotency key was used with other parameters or for another operation, by operation.",
		}, []string{"operation"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "offsession_rate_limited_requests_total",
			Help: "Requests refused with RATE_LIMITED, by reason: cost_budget, mutations_budget (per API key), invalid_keys (per client address).",
		}, []string{"reason"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.attempts, m.processorCalls, m.unknownOutcomes, m.attemptLag, m.claimBatch,
		m.webhookAttempts, m.eliminations, m.retryDecisions, m.trainingRuns, m.trainingDuration,
		m.idempotencyConflicts, m.rateLimited,
	)
	return m
}

// Handler serves the registry at /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// HTTPRequest records a served request.
func (m *Metrics) HTTPRequest(route, status string, d time.Duration) {
	if m != nil {
		m.httpRequests.WithLabelValues(route, status).Observe(d.Seconds())
	}
}

// AttemptFinished records an attempt's final outcome; declineClass is ""
// for an approval.
func (m *Metrics) AttemptFinished(processor, outcome, declineClass string) {
	if m == nil {
		return
	}
	if declineClass == "" {
		declineClass = "none"
	}
	m.attempts.WithLabelValues(processor, outcome, declineClass).Inc()
}

// ProcessorCall records the latency of one call to a processor.
func (m *Metrics) ProcessorCall(processor string, d time.Duration) {
	if m != nil {
		m.processorCalls.WithLabelValues(processor).Observe(d.Seconds())
	}
}

// UnknownOutcome records a call whose outcome stayed unknown.
func (m *Metrics) UnknownOutcome(processor string) {
	if m != nil {
		m.unknownOutcomes.WithLabelValues(processor).Inc()
	}
}

// AttemptStarted records how late an attempt started after it was due.
func (m *Metrics) AttemptStarted(lag time.Duration) {
	if m != nil {
		m.attemptLag.Observe(max(lag, 0).Seconds())
	}
}

// Claimed records one claim of due work that leased n rows.
func (m *Metrics) Claimed(queue string, n int) {
	if m != nil {
		m.claimBatch.WithLabelValues(queue).Observe(float64(n))
	}
}

// The results of a webhook delivery attempt.
const (
	WebhookDelivered       = "delivered"
	WebhookHTTPError       = "http_error"
	WebhookTimeout         = "timeout"
	WebhookConnectionError = "connection_error"
	WebhookGivenUp         = "given_up"
)

// WebhookAttempt records one delivery attempt's result, or a delivery
// given up (WebhookGivenUp).
func (m *Metrics) WebhookAttempt(result string) {
	if m != nil {
		m.webhookAttempts.WithLabelValues(result).Inc()
	}
}

// ProcessorEliminated records a processor taken out of routing.
func (m *Metrics) ProcessorEliminated(processor string) {
	if m != nil {
		m.eliminations.WithLabelValues(processor).Inc()
	}
}

// RetryDecision records what the retry engine decided after a failed
// attempt; modelVersion is "" when no model was used.
func (m *Metrics) RetryDecision(strategy, kind, modelVersion string) {
	if m == nil {
		return
	}
	if modelVersion == "" {
		modelVersion = "none"
	}
	m.retryDecisions.WithLabelValues(strategy, kind, modelVersion).Inc()
}

// TrainingRun records a finished training run.
func (m *Metrics) TrainingRun(outcome string, d time.Duration) {
	if m != nil {
		m.trainingRuns.WithLabelValues(outcome).Inc()
		m.trainingDuration.WithLabelValues(outcome).Observe(d.Seconds())
	}
}

// IdempotencyConflict records a create refused for its idempotency key.
func (m *Metrics) IdempotencyConflict(operation string) {
	if m != nil {
		m.idempotencyConflicts.WithLabelValues(operation).Inc()
	}
}

// The reasons a request is rate limited.
const (
	RateLimitedCost        = "cost_budget"
	RateLimitedMutations   = "mutations_budget"
	RateLimitedInvalidKeys = "invalid_keys"
)

// RateLimited records a request refused by a rate limit.
func (m *Metrics) RateLimited(reason string) {
	if m != nil {
		m.rateLimited.WithLabelValues(reason).Inc()
	}
}
