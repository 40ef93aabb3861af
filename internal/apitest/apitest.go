// Package apitest drives a whole offsession process in tests: the real
// HTTP handler (authentication, limits, GraphQL) on a real database, with
// two accounts and helpers that make objects through the API.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/demo"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// Account is a test account with its keys and a simulator processor.
type Account struct {
	ID          string
	Keys        auth.Keys
	ProcessorID string
}

// Bundle is a built process with two accounts.
type Bundle struct {
	Store   *storage.Store
	Proc    *app.Process
	Handler http.Handler
	A, B    Account
	logs    *lockedWriter
}

// Logs returns everything the process logged so far.
func (b *Bundle) Logs() string { return b.logs.String() }

// New builds a process on st with two accounts, A and B.
func New(t testing.TB, st *storage.Store) *Bundle {
	return NewWith(t, st, nil)
}

// NewWith is New with the configuration changed by configure.
func NewWith(t testing.TB, st *storage.Store, configure func(*app.Config)) *Bundle {
	t.Helper()
	return NewObserved(t, st, configure, app.Observability{})
}

// NewObserved is NewWith reporting to obs (an in-memory tracer, say).
func NewObserved(t testing.TB, st *storage.Store, configure func(*app.Config), obs app.Observability) *Bundle {
	t.Helper()
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := app.Config{RateLimit: 1e6, QueryCostLimit: 1e9, Workers: 4, PollInterval: 20 * time.Millisecond, AttemptLease: 30 * time.Second, ProcessorTimeout: 10 * time.Second}
	if configure != nil {
		configure(&cfg)
	}
	proc, err := app.BuildObserved(st, cfg, clockwork.NewRealClock(), log, obs)
	require.NoError(t, err)
	b := &Bundle{Store: st, Proc: proc, Handler: proc.Handler(demo.DefaultPlayground()), logs: logs}
	b.A = b.NewAccount(t, "Account A")
	b.B = b.NewAccount(t, "Account B")
	return b
}

// AllowPrivateURLs configures a bundle whose webhook endpoints and
// processors are test servers on 127.0.0.1, which the URL guard refuses
// by default: apitest.NewWith(t, st, apitest.AllowPrivateURLs).
func AllowPrivateURLs(c *app.Config) { c.AllowPrivateURLs = true }

// NewAccount makes an account with keys and a simulator processor.
func (b *Bundle) NewAccount(t testing.TB, name string) Account {
	t.Helper()
	acct, keys, err := auth.CreateAccount(viewer.SystemContext(context.Background()), b.Store.Client, name)
	require.NoError(t, err)
	a := Account{ID: acct.ID, Keys: keys}
	r := b.Do(t, keys.Secret, `mutation { createProcessor(input: {name: "Simulator", type: simulator, credentials: "sim_secret_do_not_leak"}) { id } }`, nil)
	r.RequireOK(t)
	a.ProcessorID = r.String(t, "createProcessor.id")
	return a
}

// RunDue runs the payments that are due, as the workers would.
func (b *Bundle) RunDue(t testing.TB) {
	t.Helper()
	require.NoError(t, b.Proc.Scheduler.RunDuePayments(context.Background()))
}

// Error is one GraphQL error.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code.
func (e Error) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Field is the error's extensions.field.
func (e Error) Field() string { s, _ := e.Extensions["field"].(string); return s }

// Response is a GraphQL response.
type Response struct {
	Status int
	Data   map[string]any `json:"data"`
	Errors []Error        `json:"errors"`
	Raw    string
}

// RequireOK fails the test if the response has errors.
func (r Response) RequireOK(t testing.TB) {
	t.Helper()
	require.Empty(t, r.Errors, "unexpected errors: %s", r.Raw)
}

// RequireError fails the test unless the response has exactly one error,
// with the code, and returns it.
func (r Response) RequireError(t testing.TB, code string) Error {
	t.Helper()
	require.Len(t, r.Errors, 1, "want one %s error: %s", code, r.Raw)
	require.Equal(t, code, r.Errors[0].Code(), r.Raw)
	return r.Errors[0]
}

// Get returns the value at a dotted path in data ("createCustomer.id",
// "payments.edges.0.node").
func (r Response) Get(t testing.TB, path string) any {
	t.Helper()
	var cur any = r.Data
	for _, part := range splitPath(path) {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			var i int
			_, err := fmt.Sscanf(part, "%d", &i)
			require.NoError(t, err, "path %s", path)
			require.Less(t, i, len(c), "path %s in %s", path, r.Raw)
			cur = c[i]
		default:
			t.Fatalf("path %s: no %q in %s", path, part, r.Raw)
		}
	}
	return cur
}

// String returns the string at path.
func (r Response) String(t testing.TB, path string) string {
	t.Helper()
	s, ok := r.Get(t, path).(string)
	require.True(t, ok, "path %s is not a string in %s", path, r.Raw)
	return s
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}

// Do posts a GraphQL request with the key ("" for none).
func (b *Bundle) Do(t testing.TB, key, query string, vars map[string]any) Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return b.Post(t, key, body)
}

// Post posts a raw body to /graphql.
func (b *Bundle) Post(t testing.TB, key string, body []byte) Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	b.Handler.ServeHTTP(rec, req)
	raw, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	r := Response{Status: rec.Code, Raw: string(raw)}
	require.NoError(t, json.Unmarshal(raw, &r), "response is not JSON: %s", raw)
	return r
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.w)
}
