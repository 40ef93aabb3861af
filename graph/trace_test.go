package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// spanNamed returns the one span of that name.
func spanNamed(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
		if s.Name == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %q among %v", name, names)
	return found[0]
}

// TestTraceFromMutationToProcessorCall: the payment's first attempt, made
// later by the scheduler, continues the trace of the mutation that
// created it, down to the processor call and the database.
func TestTraceFromMutationToProcessorCall(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
		b := apitest.NewObserved(t, st, nil, app.Observability{Tracer: tp})
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		exp.Reset()

		b.CreatePayment(t, b.A.Keys.Secret, apitest.PaymentInput(c, 1000, nil)).RequireOK(t)
		b.RunDue(t)
		spans := exp.GetSpans()

		server := spanNamed(t, spans, "POST /graphql")
		op := spanNamed(t, spans, "mutation createOffSessionPayment")
		att := spanNamed(t, spans, "payments.attempt")
		call := spanNamed(t, spans, "processor.authorize")
		id := server.SpanContext.TraceID()
		for _, s := range []tracetest.SpanStub{op, att, call} {
			require.Equal(t, id, s.SpanContext.TraceID(), "%s is in the mutation's trace", s.Name)
		}
		require.Equal(t, server.SpanContext.SpanID(), op.Parent.SpanID(), "the operation is a child of the request")
		require.Equal(t, op.SpanContext.SpanID(), att.Parent.SpanID(), "the attempt is a child of the operation")
		require.Equal(t, att.SpanContext.SpanID(), call.Parent.SpanID(), "the processor call is a child of the attempt")
		require.Equal(t, trace.SpanKindClient, call.SpanKind)

		// The database: the attempt's transactions and their statements.
		var txs, stmts int
		for _, s := range spans {
			switch {
			case s.Name == "db transaction" && s.Parent.SpanID() == att.SpanContext.SpanID():
				txs++
			case strings.HasPrefix(s.Name, "db ") && s.SpanContext.TraceID() == id:
				stmts++
			}
		}
		require.GreaterOrEqual(t, txs, 2, "the attempt's start and finish are transactions")
		require.Greater(t, stmts, txs)
	})
}

func oneError(t *testing.T, r apitest.Response) apitest.Error {
	t.Helper()
	require.Len(t, r.Errors, 1, r.Raw)
	return r.Errors[0]
}

// TestRequestID: the caller's X-Request-ID is echoed, written in the
// request's log lines and in its errors' extensions.requestId; a malformed
// one is replaced by a fresh ID.
func TestRequestID(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		post := func(key, reqID, query string) (*httptest.ResponseRecorder, apitest.Response) {
			body, _ := json.Marshal(map[string]any{"query": query})
			req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			if reqID != "" {
				req.Header.Set("X-Request-ID", reqID)
			}
			rec := httptest.NewRecorder()
			b.Handler.ServeHTTP(rec, req)
			var r apitest.Response
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &r), rec.Body.String())
			return rec, r
		}

		rec, r := post(b.A.Keys.Secret, "client-req-42", `{ node(id: "cus_0000000000000000000000") { id } }`)
		require.Equal(t, "client-req-42", rec.Header().Get("X-Request-ID"))
		e := oneError(t, r)
		require.Equal(t, "client-req-42", e.Extensions["requestId"])
		require.Contains(t, b.Logs(), `"request_id":"client-req-42"`, "the request's log line carries its ID")
		require.Contains(t, b.Logs(), `"operation":"query node"`, "and the operation it ran")

		// Refused before the operation runs (no key), and at parsing.
		_, r = post("", "client-req-43", `{ node(id: "cus_0000000000000000000000") { id } }`)
		require.Equal(t, "client-req-43", r.RequireError(t, "UNAUTHENTICATED").Extensions["requestId"])
		rec, r = post("sk_test_not_a_key", "client-req-45", `{ node(id: "cus_0000000000000000000000") { id } }`)
		require.Equal(t, 401, rec.Code)
		require.Equal(t, "client-req-45", r.RequireError(t, "UNAUTHENTICATED").Extensions["requestId"], "an error the HTTP layer writes itself")
		_, r = post(b.A.Keys.Secret, "client-req-44", `{ viewer { `)
		require.Equal(t, "client-req-44", r.RequireError(t, "BAD_USER_INPUT").Extensions["requestId"])

		for _, bad := range []string{"has space", "new\nline", strings.Repeat("x", 129), "quote\"d", "ünï"} {
			rec, r = post(b.A.Keys.Secret, bad, `{ node(id: "cus_0000000000000000000000") { id } }`)
			got := rec.Header().Get("X-Request-ID")
			require.NotEqual(t, bad, got)
			require.Regexp(t, `^req_[0-9a-f]{32}$`, got)
			require.Equal(t, got, oneError(t, r).Extensions["requestId"])
		}
	})
}
