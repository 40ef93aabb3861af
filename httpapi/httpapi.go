// Package httpapi is offsession's HTTP surface: /graphql behind API-key
// authentication, rate and body limits; the GraphiQL playground at /;
// /healthz, /readyz and Prometheus /metrics. It logs every request as JSON,
// with the API key's ID, never the key.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/httpapi/playground"
	"github.com/offsession/offsession/viewer"
)

// Defaults of Config.
const (
	MaxBodyBytesDefault  = 1 << 20
	RatePerSecondDefault = 100
	RateBurstDefault     = 200
)

// Config tunes the HTTP surface. Zero fields take their defaults.
type Config struct {
	// MaxBodyBytes bounds a request body. Default MaxBodyBytesDefault (1 MiB).
	MaxBodyBytes int64
	// RatePerSecond and RateBurst bound each API key's requests: a token
	// bucket. Defaults RatePerSecondDefault and twice RatePerSecond.
	RatePerSecond float64
	RateBurst     float64
	// Playground is what GraphiQL starts with.
	Playground playground.Config
}

// Deps are what the handler serves.
type Deps struct {
	DB      *ent.Client
	GraphQL http.Handler
	// Ready reports whether the service can take traffic.
	Ready func(context.Context) error
	Log   *slog.Logger
}

// NewHandler returns the whole HTTP handler.
func NewHandler(d Deps, cfg Config) http.Handler {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = MaxBodyBytesDefault
	}
	if cfg.RatePerSecond == 0 {
		cfg.RatePerSecond = RatePerSecondDefault
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = 2 * cfg.RatePerSecond
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "offsession_http_request_duration_seconds",
		Help:    "HTTP requests by route and status.",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "status"})
	reg.MustRegister(requests)

	limiter := newRateLimiter(cfg.RatePerSecond, cfg.RateBurst)
	mux := http.NewServeMux()
	mux.Handle("/graphql", limitBody(cfg.MaxBodyBytes, authenticate(d.DB, limiter, d.GraphQL)))
	mux.Handle("GET /{$}", playground.Handler(cfg.Playground))
	mux.Handle("GET /playground/assets/", playground.Handler(cfg.Playground))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := d.Ready(ctx); err != nil {
			d.Log.WarnContext(ctx, "not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return logRequests(d.Log, requests, mux)
}

// errorBody is a GraphQL-shaped error response, for refusals made before
// GraphQL runs.
func errorBody(code apierror.Code, field, msg string) map[string]any {
	ext := map[string]any{"code": string(code)}
	if field != "" {
		ext["field"] = field
	}
	return map[string]any{"errors": []map[string]any{{"message": msg, "extensions": ext}}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// limitBody refuses a body over max bytes before anything reads it.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody(apierror.BadUserInput, "body", "request body is larger than "+strconv.FormatInt(max, 10)+" bytes"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody(apierror.BadUserInput, "body", "request body is larger than "+strconv.FormatInt(max, 10)+" bytes"))
			return
		case err != nil:
			writeJSON(w, http.StatusBadRequest, errorBody(apierror.BadUserInput, "body", "could not read the request body"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// authenticate puts the viewer of the bearer key in the request context.
// A request without a key goes on without a viewer (only introspection is
// then allowed); a bad key is refused here.
func authenticate(db *ent.Client, limiter *rateLimiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" {
			next.ServeHTTP(w, r)
			return
		}
		key, ok := auth.BearerKey(header)
		if !ok {
			writeJSON(w, http.StatusUnauthorized, errorBody(apierror.Unauthenticated, "Authorization", "send Authorization: Bearer <key>"))
			return
		}
		v, err := auth.Authenticate(r.Context(), db, key)
		if errors.Is(err, auth.ErrInvalidKey) {
			writeJSON(w, http.StatusUnauthorized, errorBody(apierror.Unauthenticated, "Authorization", "invalid API key"))
			return
		}
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, errorBody(apierror.Internal, "", "internal error"))
			return
		}
		if !limiter.allow(v.KeyID) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, errorBody(apierror.RateLimited, "", "too many requests for this API key; slow down"))
			return
		}
		keyID(r.Context()).set(v.KeyID)
		next.ServeHTTP(w, r.WithContext(viewer.NewContext(r.Context(), v)))
	})
}

// rateLimiter is a token bucket per API key.
type rateLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate, burst float64) *rateLimiter {
	return &rateLimiter{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

func (l *rateLimiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// requestInfo carries what the log line of a request needs from inner
// handlers.
type requestInfo struct{ keyID string }

type requestInfoKey struct{}

func keyID(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

func (ri *requestInfo) set(id string) { ri.keyID = id }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer (for the
// WebSocket upgrade).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func logRequests(log *slog.Logger, hist *prometheus.HistogramVec, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri)))
		elapsed := time.Since(start)
		route := r.URL.Path
		if route != "/graphql" && route != "/healthz" && route != "/readyz" && route != "/metrics" {
			route = "other"
		}
		hist.WithLabelValues(route, strconv.Itoa(sw.status)).Observe(elapsed.Seconds())
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			return
		}
		log.InfoContext(r.Context(), "http request",
			"method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration_ms", elapsed.Milliseconds(), "api_key", ri.keyID)
	})
}
