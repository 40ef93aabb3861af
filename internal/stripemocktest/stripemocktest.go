// Package stripemocktest runs stripe-mock, Stripe's own mock server, for
// tests: on loopback, one process per test, with a recording reverse proxy
// in front of it that keeps every request the stripe connector sends.
//
// stripe-mock is installed with
//
//	go install github.com/stripe/stripe-mock@v0.203.0
//
// A test that needs it is skipped when it is not installed, unless
// OFFSESSION_STRIPE_MOCK_TESTS=1, which makes its absence a failure (CI
// sets it).
package stripemocktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// EnvRequired set to 1 makes a missing stripe-mock a test failure instead
// of a skip.
const EnvRequired = "OFFSESSION_STRIPE_MOCK_TESTS"

// Find returns the stripe-mock binary: on PATH, else in
// $(go env GOPATH)/bin, else "".
func Find() string {
	if path, err := exec.LookPath("stripe-mock"); err == nil {
		return path
	}
	gopath := build.Default.GOPATH
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		gopath = strings.TrimSpace(string(out))
	}
	for _, dir := range filepath.SplitList(gopath) {
		path := filepath.Join(dir, "bin", "stripe-mock")
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	return ""
}

// Start runs stripe-mock on loopback until the test ends and returns its
// HTTP base URL. Without stripe-mock the test is skipped, or fails when
// EnvRequired is 1.
func Start(t testing.TB) string {
	t.Helper()
	bin := Find()
	if bin == "" {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatal("stripe-mock not found; install it with go install github.com/stripe/stripe-mock@v0.203.0")
		}
		t.Skip("stripe-mock not found (go install github.com/stripe/stripe-mock@v0.203.0; " + EnvRequired + "=1 makes this a failure)")
	}
	// Both listeners stay open until both ports are chosen, so they differ.
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	httpsLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	httpAddr, httpsAddr := httpLn.Addr().String(), httpsLn.Addr().String()
	require.NoError(t, httpLn.Close())
	require.NoError(t, httpsLn.Close())

	logFile, err := os.Create(filepath.Join(t.TempDir(), "stripe-mock.log"))
	require.NoError(t, err)
	cmd := exec.Command(bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = logFile.Close()
	})

	base := "http://" + httpAddr
	deadline := time.Now().Add(15 * time.Second)
	for {
		req, err := http.NewRequest(http.MethodGet, base+"/v1/balance", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			return base
		}
		select {
		case err := <-exited:
			exited <- err
			out, _ := os.ReadFile(logFile.Name())
			t.Fatalf("stripe-mock exited before listening: %v\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logFile.Name())
			t.Fatalf("stripe-mock did not listen on %s within 15s\n%s", httpAddr, out)
		}
	}
}

// Request is a request as stripe-mock received it.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Form   url.Values
}

// Recorder is a reverse proxy in front of stripe-mock that records every
// request. stripe-mock answers from canned fixtures, whose PaymentIntents
// are always requires_payment_method; with PlayStatus set, the proxy gives a
// created PaymentIntent the status Stripe would (succeeded, or
// requires_capture for manual capture), so that the connector's reading of
// approvals is exercised on stripe-mock's real response bodies.
type Recorder struct {
	URL        string
	PlayStatus atomic.Bool
	// EditResponse, when set before any request, edits the decoded body of
	// every 200 answer: for the fields that stripe-mock's fixtures leave
	// out or fix (a succeeded status, a network transaction ID, a
	// customer), which a test gives the values Stripe would.
	EditResponse func(r *http.Request, body map[string]any)

	mu       sync.Mutex
	requests []Request
}

type formKey struct{}

// NewRecorder starts a recording proxy to target, closed when the test ends.
func NewRecorder(t testing.TB, target string) *Recorder {
	t.Helper()
	targetURL, err := url.Parse(target)
	require.NoError(t, err)
	rec := &Recorder{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(targetURL)
			// Uncompressed bodies, so that ModifyResponse can read them.
			pr.Out.Header.Del("Accept-Encoding")
		},
		ModifyResponse: func(resp *http.Response) error {
			form, _ := resp.Request.Context().Value(formKey{}).(url.Values)
			play := rec.PlayStatus.Load() && resp.Request.Method == http.MethodPost && resp.Request.URL.Path == "/v1/payment_intents"
			if resp.StatusCode != http.StatusOK || (!play && rec.EditResponse == nil) {
				return nil
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			_ = resp.Body.Close()
			var pi map[string]any
			if err := json.Unmarshal(body, &pi); err != nil {
				return err
			}
			if play {
				pi["status"] = "succeeded"
				if form.Get("capture_method") == "manual" {
					pi["status"] = "requires_capture"
				}
			}
			if rec.EditResponse != nil {
				rec.EditResponse(resp.Request, pi)
			}
			if body, err = json.Marshal(pi); err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", fmt.Sprint(len(body)))
			return nil
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.mu.Lock()
		rec.requests = append(rec.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), formKey{}, form)))
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// Last returns the last request stripe-mock received.
func (r *Recorder) Last(t testing.TB) Request {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.requests)
	return r.requests[len(r.requests)-1]
}

// Requests returns every request stripe-mock received, oldest first.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Matching returns the requests with the method, path and Idempotency-Key.
func (r *Recorder) Matching(method, path, idempotencyKey string) []Request {
	var out []Request
	for _, req := range r.Requests() {
		if req.Method == method && req.Path == path && req.Header.Get("Idempotency-Key") == idempotencyKey {
			out = append(out, req)
		}
	}
	return out
}
