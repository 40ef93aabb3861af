// Package httpapi is offsession's HTTP surface: /graphql behind API-key
// authentication, rate and body limits; the GraphiQL playground at /; the
// dashboard at /dashboard/; /healthz, /readyz and Prometheus /metrics. It
// logs every request as JSON, with the API key's ID, never the key.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/dashboard"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/httpapi/playground"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/ratelimit"
	"github.com/offsession/offsession/requestid"
	"github.com/offsession/offsession/tracing"
	"github.com/offsession/offsession/viewer"
)

// Defaults of Config.
const (
	MaxBodyBytesDefault = 1 << 20
)

// Config tunes the HTTP surface. Zero fields take their defaults.
type Config struct {
	// MaxBodyBytes bounds a request body. Default MaxBodyBytesDefault (1 MiB).
	MaxBodyBytes int64
	// InvalidKeyBurst invalid API keys from one client address are
	// answered 401; after them the address gets 429, with no key looked up,
	// until its bucket refills at InvalidKeyPerSecond. Defaults
	// InvalidKeyBurstDefault and InvalidKeyPerSecondDefault.
	InvalidKeyBurst     int
	InvalidKeyPerSecond float64
	// TrustedProxies are the proxies whose X-Forwarded-For names the client
	// address; without them it is RemoteAddr, and the header is ignored.
	TrustedProxies []netip.Prefix
	// Now is the throttle's clock. Default time.Now.
	Now func() time.Time
	// Playground is what GraphiQL starts with.
	Playground playground.Config
	// CORSOrigins are the origins (scheme://host[:port]) whose pages may
	// call /graphql from a browser; none: no cross-origin access.
	CORSOrigins []string
}

// Deps are what the handler serves.
type Deps struct {
	DB      *ent.Client
	GraphQL http.Handler
	// Ready reports whether the service can take traffic.
	Ready func(context.Context) error
	Log   *slog.Logger
	// Metrics are served at /metrics; default metrics of their own.
	Metrics *metrics.Metrics
	// Tracer makes each request's server span; nil: not traced.
	Tracer trace.TracerProvider
}

// NewHandler returns the whole HTTP handler.
func NewHandler(d Deps, cfg Config) http.Handler {
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = MaxBodyBytesDefault
	}
	if cfg.InvalidKeyBurst == 0 {
		cfg.InvalidKeyBurst = InvalidKeyBurstDefault
	}
	if cfg.InvalidKeyPerSecond == 0 {
		cfg.InvalidKeyPerSecond = InvalidKeyPerSecondDefault
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	invalidKeys := ratelimit.NewThrottle(cfg.InvalidKeyPerSecond, cfg.InvalidKeyBurst, MaxAddrsDefault)
	mux := http.NewServeMux()
	mux.Handle("/graphql", cors(cfg.CORSOrigins, limitBody(cfg.MaxBodyBytes, authenticate(d.DB, invalidKeys, d.Metrics, cfg, rateLimitedStatus(d.GraphQL)))))
	mux.Handle("GET /{$}", playground.Handler(cfg.Playground))
	mux.Handle("GET /playground/assets/", playground.Handler(cfg.Playground))
	mux.Handle("GET /dashboard/", dashboard.Handler())
	mux.Handle("GET /dashboard", http.RedirectHandler("/dashboard/", http.StatusMovedPermanently))
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
	mux.Handle("GET /metrics", d.Metrics.Handler())
	return tracing.Handler(d.Tracer, requestid.Middleware(logRequests(d.Log, d.Metrics, mux)))
}

// errorBody is a GraphQL-shaped error response, for refusals made before
// GraphQL runs.
// errorBody is the GraphQL error answer the HTTP layer writes itself,
// with the request's ID (echoed in w's header by requestid.Middleware) in
// its extensions, as GraphQL's own errors have it.
func errorBody(w http.ResponseWriter, code apierror.Code, field, msg string) map[string]any {
	ext := map[string]any{"code": string(code)}
	if field != "" {
		ext["field"] = field
	}
	if id := w.Header().Get(requestid.Header); id != "" {
		ext["requestId"] = id
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
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody(w, apierror.BadUserInput, "body", "request body is larger than "+strconv.FormatInt(max, 10)+" bytes"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody(w, apierror.BadUserInput, "body", "request body is larger than "+strconv.FormatInt(max, 10)+" bytes"))
			return
		case err != nil:
			writeJSON(w, http.StatusBadRequest, errorBody(w, apierror.BadUserInput, "body", "could not read the request body"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// authenticate puts the viewer of the bearer key in the request context.
// A request without a key goes on without a viewer (only introspection is
// then allowed; anything else is 401 from the GraphQL layer); a bad key is refused here, and an address that sent a
// burst of bad keys is refused before its key is looked up.
func authenticate(db *ent.Client, invalidKeys *ratelimit.Throttle, m *metrics.Metrics, cfg Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := clientAddr(r, cfg.TrustedProxies)
		// check is every key's check from this address: the throttle of
		// invalid keys, then the lookup.
		check := func(ctx context.Context, key string) (viewer.Viewer, error) {
			if blocked, _ := invalidKeys.Blocked(addr, cfg.Now()); blocked {
				m.RateLimited(metrics.RateLimitedInvalidKeys)
				return viewer.Viewer{}, auth.ErrThrottled
			}
			v, err := auth.Authenticate(ctx, db, key)
			if errors.Is(err, auth.ErrInvalidKey) {
				invalidKeys.Fail(addr, cfg.Now())
			}
			return v, err
		}
		header := r.Header.Get("Authorization")
		if header == "" {
			// A key may still come later (a WebSocket's connection_init).
			next.ServeHTTP(w, r.WithContext(auth.WithAuthenticator(r.Context(), check)))
			return
		}
		if blocked, after := invalidKeys.Blocked(addr, cfg.Now()); blocked {
			m.RateLimited(metrics.RateLimitedInvalidKeys)
			refuseThrottled(w, after)
			return
		}
		key, ok := auth.BearerKey(header)
		if !ok {
			invalidKeys.Fail(addr, cfg.Now())
			refuseUnauthenticated(w, false, "send Authorization: Bearer <key>")
			return
		}
		v, err := check(r.Context(), key)
		switch {
		case errors.Is(err, auth.ErrInvalidKey):
			refuseUnauthenticated(w, true, "invalid API key")
			return
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, errorBody(w, apierror.Internal, "", "internal error"))
			return
		}
		keyID(r.Context()).set(v.KeyID)
		next.ServeHTTP(w, r.WithContext(viewer.NewContext(r.Context(), v)))
	})
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

func logRequests(log *slog.Logger, m *metrics.Metrics, next http.Handler) http.Handler {
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
		m.HTTPRequest(route, strconv.Itoa(sw.status), elapsed)
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			return
		}
		log.InfoContext(r.Context(), "http request",
			"method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration_ms", elapsed.Milliseconds(), "api_key", ri.keyID)
	})
}
