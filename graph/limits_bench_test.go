package graph_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
)

// largestQueries are the costliest shapes a restricted key may send within
// the default limits (100 a page, cost 10000), and one it may not.
var largestQueries = []struct {
	name, query string
	refused     bool
}{
	{"events unbounded (refused)", `{ events(first: 1000000000) { edges { node { id type objectID objectType objectVersion data createdAt } } } }`, true},
	{"events 12 aliases x 100", aliased(12, `events(first: 100) { edges { node { id type objectID objectType objectVersion data createdAt } } }`), false},
	{"customers 100 > payments 5 > attempts 2", `{ customers(first: 100) { edges { node { id name email
		payments(first: 5) { edges { node { id amount status attempts(first: 2) { edges { node { id outcome declineCode } } } } } } } } } }`, false},
	{"payments 100 > attempts 7, every field", `{ offSessionPayments(first: 100) { edges { node { id amount currency status failureReason metadata description
		attempts(first: 7) { edges { node { id number outcome declineCode declineClass networkDeclineCode idempotencyKey startedAt finishedAt processorID } } } } } } }`, false},
}

// BenchmarkLargestRestrictedQuery measures the largest queries a restricted
// key can send against an account of 200 customers, 1,000 payments with
// their attempts and a few thousand events: the response size, the heap in
// use before and at the peak of the request (sampled every millisecond),
// and the bytes allocated. The unbounded page is refused before it runs.
//
//	nice -n 15 go test ./graph/ -run '^$' -bench LargestRestrictedQuery -benchtime 3x
func BenchmarkLargestRestrictedQuery(b *testing.B) {
	st := storagetest.Open(b, "sqlite3")
	bundle := apitest.New(b, st)
	for i := 0; i < 200; i++ {
		c := bundle.NewChain(b, bundle.A, apitest.ChainOptions{})
		for j := 0; j < 5; j++ {
			r := bundle.Do(b, bundle.A.Keys.Secret, `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`,
				map[string]any{"in": apitest.PaymentInput(c, 100+j, map[string]any{"description": "Monthly plan, invoice " + strings.Repeat("x", 40)})})
			r.RequireOK(b)
		}
	}
	bundle.RunDue(b)
	r := bundle.Do(b, bundle.A.Keys.Restricted, `{ events(first: 1) { totalCount } customers(first: 1) { totalCount } offSessionPayments(first: 1) { totalCount } }`, nil)
	r.RequireOK(b)
	b.Logf("account: %v events, %v customers, %v payments", r.Get(b, "events.totalCount"), r.Get(b, "customers.totalCount"), r.Get(b, "offSessionPayments.totalCount"))

	for _, q := range largestQueries {
		b.Run(q.name, func(b *testing.B) {
			body, err := json.Marshal(map[string]any{"query": q.query})
			require.NoError(b, err)
			var respBytes int
			var before, peak, alloc uint64
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				before, peak = ms.HeapInuse, ms.HeapInuse
				allocBefore := ms.TotalAlloc
				var top atomic.Uint64
				top.Store(ms.HeapInuse)
				done := make(chan struct{})
				sampled := make(chan struct{})
				go func() {
					defer close(sampled)
					tick := time.NewTicker(time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-done:
							return
						case <-tick.C:
							var s runtime.MemStats
							runtime.ReadMemStats(&s)
							if s.HeapInuse > top.Load() {
								top.Store(s.HeapInuse)
							}
						}
					}
				}()
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+bundle.A.Keys.Restricted)
				rec := httptest.NewRecorder()
				bundle.Handler.ServeHTTP(rec, req)
				runtime.ReadMemStats(&ms)
				close(done)
				<-sampled
				peak = max(top.Load(), ms.HeapInuse)
				alloc = ms.TotalAlloc - allocBefore
				respBytes = rec.Body.Len()
				var resp apitest.Response
				require.NoError(b, json.Unmarshal(rec.Body.Bytes(), &resp))
				if q.refused {
					require.Len(b, resp.Errors, 1, rec.Body.String()[:min(500, rec.Body.Len())])
					require.Equal(b, "BAD_USER_INPUT", resp.Errors[0].Code())
				} else {
					require.Empty(b, resp.Errors, rec.Body.String()[:min(500, rec.Body.Len())])
				}
			}
			b.ReportMetric(float64(respBytes), "resp-bytes")
			b.ReportMetric(float64(before)/(1<<20), "heap-before-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "heap-peak-MiB")
			b.ReportMetric(float64(alloc)/(1<<20), "alloc-MiB")
		})
	}
}
