// Command bench measures offsession's throughput and prints one table of
// medians over several runs, each on a fresh database: SQLite always,
// PostgreSQL when TEST_DATABASE_URL is set. `make bench` runs it.
//
// These machines are shared and noisy: compare medians, and ratios between
// rows measured in the same run, not single numbers.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"entgo.io/ent/dialect"
	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/demo"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/scheduler"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

func main() {
	if os.Getenv(envServeChild) == "1" {
		os.Exit(app.Main([]string{"serve"}, os.Stdout, os.Stderr))
	}
	runs := flag.Int("runs", 5, "runs per measure; the table shows the median")
	creates := flag.Int("creates", 1000, "payments created through GraphQL per run")
	attempts := flag.Int("attempts", 2000, "due payments attempted per run")
	clients := flag.Int("clients", 8, "concurrent GraphQL clients")
	pendingList := flag.String("pending", "10000,1000000", "pending retries for the retry bench, comma-separated; empty skips it")
	backlog := flag.Int("backlog", 2000, "due retries per throughput round of the retry bench")
	decisions := flag.Int("decisions", 2000, "routing decisions timed per run")
	flag.StringVar(&only, "only", "", "run only the rows of the first table whose measure contains this")
	flag.IntVar(&workers, "workers", scheduler.WorkersDefault, "the scheduler's workers in the attempt rows")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (this process: the server side and the clients) to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}

	dialects := []string{dialect.SQLite}
	if os.Getenv("TEST_DATABASE_URL") != "" {
		dialects = append(dialects, dialect.Postgres)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "measure\tstore\tmedian\tmin\tmax\truns\t")
	var ratios []string
	for _, d := range dialects {
		created := row(tw, fmt.Sprintf("payments created per second (GraphQL, %d clients)", *clients), d, *runs, func(ctx context.Context, b *bundle) (float64, error) {
			return b.createRate(ctx, *creates, *clients)
		})
		for _, c := range []int{8, 64} {
			rows(tw, []string{
				fmt.Sprintf("createOffSessionPayment p50 latency, ms (GraphQL, %d clients)", c),
				fmt.Sprintf("createOffSessionPayment p99 latency, ms (GraphQL, %d clients)", c),
			}, d, *runs, func(ctx context.Context, b *bundle) ([]float64, error) {
				return b.createLatency(*creates, c)
			})
		}
		row(tw, fmt.Sprintf("createCustomer per second (GraphQL, %d clients)", *clients), d, *runs, func(ctx context.Context, b *bundle) (float64, error) {
			return b.customerRate(ctx, *creates, *clients)
		})
		row(tw, fmt.Sprintf("savePaymentMethod per second (GraphQL, %d clients)", *clients), d, *runs, func(ctx context.Context, b *bundle) (float64, error) {
			return b.savePaymentMethodRate(ctx, *creates, *clients)
		})
		attempted := row(tw, fmt.Sprintf("attempts executed per second (%d workers)", workers), d, *runs, func(ctx context.Context, b *bundle) (float64, error) {
			return b.attemptRate(ctx, *attempts)
		})
		row(tw, fmt.Sprintf("attempts executed per second (%d workers, routing: %d processors, %d routes)", workers, routeProcessors, routeCount), d, *runs, func(ctx context.Context, b *bundle) (float64, error) {
			if _, err := b.configureRouting(ctx); err != nil {
				return 0, err
			}
			return b.attemptRate(ctx, *attempts)
		})
		rows(tw, []string{
			fmt.Sprintf("routing decision, median µs (%d routes, %d processors)", routeCount, routeProcessors),
			fmt.Sprintf("routing decision, p99 µs (%d routes, %d processors)", routeCount, routeProcessors),
		}, d, *runs, func(ctx context.Context, b *bundle) ([]float64, error) {
			return b.routeDecisions(ctx, *decisions)
		})
		if d == dialect.Postgres && strings.Contains("TPC-B transactions per second", only) {
			if tps := tpcbRuns(*runs); tps > 0 {
				fmt.Fprintf(tw, "TPC-B transactions per second (pgbench, %d clients, %d threads, scale %d)\t%s\t%.0f\t\t\t%d\t\n", tpcbClients, tpcbThreads, tpcbScale, d, tps, *runs)
				if created > 0 && attempted > 0 {
					ratios = append(ratios, fmt.Sprintf("PostgreSQL against its own TPC-B in this run: payments created %.2fx, attempts executed %.2fx", created/tps, attempted/tps))
				}
			}
		}
	}
	tw.Flush()
	for _, r := range ratios {
		fmt.Println(r)
	}
	if *pendingList != "" {
		var results []retryResult
		rb := retryBench{backlog: *backlog, rounds: 3, steady: 2000}
		for _, d := range dialects {
			for _, f := range strings.Split(*pendingList, ",") {
				pending, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || pending < rb.backlog*rb.rounds+rb.steady {
					fmt.Fprintf(os.Stderr, "pending %q: want a number of at least %d\n", f, rb.backlog*rb.rounds+rb.steady)
					os.Exit(2)
				}
				fmt.Fprintf(os.Stderr, "retry bench: %s with %d pending...\n", d, pending)
				r, err := rb.run(context.Background(), d, pending)
				if err != nil {
					fmt.Fprintf(os.Stderr, "retry bench on %s with %d pending: %v\n", d, pending, err)
					continue
				}
				results = append(results, r)
			}
		}
		fmt.Println()
		tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
		printRetryResults(tw, results)
		tw.Flush()
	}
	if len(dialects) == 1 {
		fmt.Println("(set TEST_DATABASE_URL=postgres://... for the PostgreSQL rows)")
	}
}

// row prints one row and returns its median (0 if it did not run).
func row(w io.Writer, name, d string, runs int, measure func(context.Context, *bundle) (float64, error)) float64 {
	m := rows(w, []string{name}, d, runs, func(ctx context.Context, b *bundle) ([]float64, error) {
		v, err := measure(ctx, b)
		return []float64{v}, err
	})
	if m == nil {
		return 0
	}
	return m[0]
}

// only, when set, keeps the rows whose measure contains it.
var only string

// workers is the scheduler's worker count in every bundle.
var workers int

// rows prints one row per name: measure returns one value per name from
// each run, each on a fresh database. It returns the medians, or nil.
func rows(w io.Writer, names []string, d string, runs int, measure func(context.Context, *bundle) ([]float64, error)) []float64 {
	if !strings.Contains(strings.Join(names, "\n"), only) {
		return nil
	}
	got := make([][]float64, len(names))
	for range runs {
		b, err := newBundle(d)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s on %s: %v\n", names[0], d, err)
			return nil
		}
		v, err := measure(context.Background(), b)
		b.close()
		if err == nil && len(v) != len(names) {
			err = fmt.Errorf("%d values for %d rows", len(v), len(names))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s on %s: %v\n", names[0], d, err)
			return nil
		}
		for i := range names {
			got[i] = append(got[i], v[i])
		}
	}
	medians := make([]float64, len(names))
	for i, name := range names {
		slices.Sort(got[i])
		medians[i] = got[i][len(got[i])/2]
		fmt.Fprintf(w, "%s\t%s\t%.0f\t%.0f\t%.0f\t%d\t\n", name, d, medians[i], got[i][0], got[i][len(got[i])-1], runs)
	}
	return medians
}

type bundle struct {
	store   *storage.Store
	proc    *app.Process
	handler http.Handler
	key     string
	prc     string // the account's first processor
	svc     *payments.Service
	ctx     context.Context // the account's
	cus     string
	pm      string
	mdt     string
	cleanup func()
}

func newBundle(d string) (*bundle, error) {
	ctx := context.Background()
	u, cleanup, err := freshURL(d)
	if err != nil {
		return nil, err
	}
	st, err := storage.Open(ctx, u)
	if err != nil {
		cleanup()
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	proc, err := app.Build(st, app.Config{RateLimit: 1e9, Workers: workers, PollInterval: 10 * time.Millisecond, AttemptLease: 30 * time.Second, ProcessorTimeout: 10 * time.Second}, clockwork.NewRealClock(), log)
	if err != nil {
		return nil, err
	}
	acct, keys, err := auth.CreateAccount(viewer.SystemContext(ctx), st.Client, "bench")
	if err != nil {
		return nil, err
	}
	b := &bundle{store: st, proc: proc, handler: proc.Handler(demo.DefaultPlayground()), key: keys.Secret, svc: proc.Payments,
		ctx: viewer.AccountContext(ctx, acct.ID), cleanup: func() { st.Close(); cleanup() }}
	prc, err := b.proc.Processors.Create(b.ctx, processors.CreateInput{Name: "Simulator", Type: processor.TypeSimulator})
	if err != nil {
		return nil, err
	}
	cus, err := b.proc.Customers.CreateCustomer(b.ctx, customers.CreateCustomerInput{})
	if err != nil {
		return nil, err
	}
	pm, err := b.proc.Customers.SavePaymentMethod(b.ctx, customers.SavePaymentMethodInput{
		CustomerID: cus.ID,
		Card: customers.CardDetailsInput{Brand: paymentmethod.BrandVisa, Funding: paymentmethod.FundingCredit,
			Last4: "4242", ExpMonth: 12, ExpYear: time.Now().Year() + 2, Fingerprint: "fp_bench"},
		ProcessorTokens: []schematype.ProcessorToken{{ProcessorID: prc.ID, Token: "pm_card_visa"}},
	})
	if err != nil {
		return nil, err
	}
	text := "bench"
	m, err := b.proc.Customers.CreateMandate(b.ctx, customers.CreateMandateInput{
		CustomerID: cus.ID, PaymentMethodID: pm.ID, Usage: mandate.UsageUnscheduled,
		Terms:      customers.MandateTermsInput{Text: &text, Version: "1", TimingAndFrequency: "x", AmountDetermination: "x", CancellationPolicy: "x"},
		Acceptance: customers.MandateAcceptanceInput{Type: mandate.AcceptanceTypeOffline, AcceptedAt: time.Now().Add(-time.Hour)},
		Limits:     customers.MandateLimitsInput{UseLimit: mandate.UseLimitMultiUse, MaxAmount: 1_000_000, Currency: "usd"},
	})
	if err != nil {
		return nil, err
	}
	b.prc, b.cus, b.pm, b.mdt = prc.ID, cus.ID, pm.ID, m.ID
	return b, nil
}

func (b *bundle) close() { b.cleanup() }

// createRate posts createOffSessionPayment n times from the given number of
// concurrent clients, through the whole HTTP handler.
func (b *bundle) createRate(ctx context.Context, n, clients int) (float64, error) {
	return b.mutationRate(n, clients, createMutation, b.createInput)
}

const createMutation = `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id status } }`

// createInput is the i-th payment's input.
func (b *bundle) createInput(i int64) map[string]any {
	return map[string]any{
		"idempotencyKey": fmt.Sprintf("bench-%d", i), "customerID": b.cus, "paymentMethodID": b.pm, "mandateID": b.mdt,
		"amount": 100 + i, "currency": "usd", "cadence": "unscheduled",
	}
}

// customerRate posts createCustomer n times, as createRate does.
func (b *bundle) customerRate(ctx context.Context, n, clients int) (float64, error) {
	return b.mutationRate(n, clients, `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`,
		func(i int64) map[string]any {
			return map[string]any{"idempotencyKey": fmt.Sprintf("bench-cus-%d", i), "name": "Bench", "email": "bench@example.com", "country": "US"}
		})
}

// savePaymentMethodRate posts savePaymentMethod n times, each a new card of
// the bench's customer, as createRate does.
func (b *bundle) savePaymentMethodRate(ctx context.Context, n, clients int) (float64, error) {
	return b.mutationRate(n, clients, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`,
		func(i int64) map[string]any {
			return map[string]any{
				"idempotencyKey": fmt.Sprintf("bench-pm-%d", i), "customerID": b.cus,
				"card": map[string]any{"brand": "visa", "funding": "credit", "last4": "4242", "expMonth": 12,
					"expYear": time.Now().Year() + 2, "issuingCountry": "US", "fingerprint": fmt.Sprintf("fp_bench_%d", i)},
				"processorTokens": []map[string]any{{"processorID": b.prc, "token": fmt.Sprintf("pm_bench_%d", i)}},
			}
		})
}

// mutationRate posts the mutation q n times from the given number of
// concurrent clients, through the whole HTTP handler, with input in(i) for
// the i-th request, and returns requests per second.
func (b *bundle) mutationRate(n, clients int, q string, in func(i int64) map[string]any) (float64, error) {
	rate, _, err := b.mutationRun(n, clients, q, in)
	return rate, err
}

// createLatency posts createOffSessionPayment n times from clients and
// returns the p50 and p99 latency of a request, in milliseconds.
func (b *bundle) createLatency(n, clients int) ([]float64, error) {
	_, took, err := b.mutationRun(n, clients, createMutation, b.createInput)
	if err != nil {
		return nil, err
	}
	slices.Sort(took)
	ms := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))]) / float64(time.Millisecond) }
	return []float64{ms(0.50), ms(0.99)}, nil
}

// mutationRun is mutationRate with the latency of every request.
func (b *bundle) mutationRun(n, clients int, q string, in func(i int64) map[string]any) (float64, []time.Duration, error) {
	took := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				body, _ := json.Marshal(map[string]any{"query": q, "variables": map[string]any{"in": in(i)}})
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+b.key)
				rec := httptest.NewRecorder()
				sent := time.Now()
				b.handler.ServeHTTP(rec, req)
				took[i-1] = time.Since(sent)
				if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
					firstErr.CompareAndSwap(nil, fmt.Errorf("request %d: %d %s", i, rec.Code, rec.Body.String()))
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, nil, err
	}
	return float64(n) / elapsed.Seconds(), took, nil
}

// attemptRate makes n payments due and times the workers through them.
func (b *bundle) attemptRate(ctx context.Context, n int) (float64, error) {
	for i := range n {
		if _, err := b.svc.CreateOffSessionPayment(b.ctx, payments.CreateOffSessionPaymentInput{
			CustomerID: b.cus, PaymentMethodID: b.pm, MandateID: b.mdt,
			Amount: int64(100 + i), Currency: "usd", Cadence: offsessionpayment.CadenceUnscheduled,
		}); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	if err := b.proc.Scheduler.RunDuePayments(ctx); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	done, err := b.store.Client.OffSessionPayment.Query().
		Where(offsessionpayment.StatusEQ(offsessionpayment.StatusSucceeded)).
		Count(b.ctx)
	if err != nil {
		return 0, err
	}
	if done != n {
		return 0, fmt.Errorf("%d of %d payments succeeded", done, n)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// freshURL returns an empty database of the dialect and a function that
// drops it.
func freshURL(d string) (string, func(), error) {
	if d == dialect.SQLite {
		dir, err := os.MkdirTemp("", "offsession-bench-")
		if err != nil {
			return "", nil, err
		}
		return "sqlite://" + filepath.Join(dir, "bench.db"), func() { os.RemoveAll(dir) }, nil
	}
	base := os.Getenv("TEST_DATABASE_URL")
	var r [6]byte
	_, _ = rand.Read(r[:])
	schema := "bench_" + hex.EncodeToString(r[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() }, nil
}
