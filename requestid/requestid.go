// Package requestid names each HTTP request: the caller's X-Request-ID
// when it is short and plain, a fresh one otherwise. The ID is echoed in
// the response header, carried in the request's context, written on every
// log line made with that context (LogHandler) and in GraphQL errors.
//
// It never trusts the header's content beyond its shape: an ID that could
// break a log line or a header is replaced, not cleaned.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Header is the request and response header of the ID.
const Header = "X-Request-ID"

// MaxLen is the longest ID accepted from a caller.
const MaxLen = 128

type key struct{}

// request is what a request's context knows of it for its log lines: its
// ID, and the GraphQL operation once it is known (SetOperation).
type request struct {
	id        string
	operation atomic.Pointer[string]
}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, &request{id: id})
}

// FromContext returns the request ID in ctx, or "".
func FromContext(ctx context.Context) string {
	if r, ok := ctx.Value(key{}).(*request); ok {
		return r.id
	}
	return ""
}

// SetOperation names the GraphQL operation the request in ctx runs, such
// as "mutation createOffSessionPayment": every later log line of the
// request carries it, the request's own access line included.
func SetOperation(ctx context.Context, name string) {
	if r, ok := ctx.Value(key{}).(*request); ok {
		r.operation.Store(&name)
	}
}

// Operation returns the operation SetOperation named, or "".
func Operation(ctx context.Context) string {
	if r, ok := ctx.Value(key{}).(*request); ok {
		if op := r.operation.Load(); op != nil {
			return *op
		}
	}
	return ""
}

// Valid reports whether a caller's ID is accepted: 1 to MaxLen letters,
// digits and - _ . : / + = @.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// New returns a fresh ID: req_ and 32 hex digits.
func New() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// Middleware names each request and echoes its ID in the response.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(Header)
		if !Valid(id) {
			id = New()
		}
		w.Header().Set(Header, id)
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetAttributes(attribute.String("offsession.request_id", id))
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	})
}

// LogHandler wraps h so that every record logged with a request's context
// carries request_id, operation once it is known, and, when the request is
// traced, trace_id and span_id.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(logHandler); ok {
		return h
	}
	return logHandler{h}
}

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := FromContext(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if op := Operation(ctx); op != "" {
		r.AddAttrs(slog.String("operation", op))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.Handler.WithGroup(name)}
}
