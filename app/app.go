// Package app wires offsession together: configuration, storage, the
// payments service, the scheduler and the HTTP server, and the commands of
// the offsession binary (serve, migrate, demo, account). server.go's main
// calls Main.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"entgo.io/ent/dialect"
	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/demo"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/graph"
	"github.com/offsession/offsession/httpapi"
	"github.com/offsession/offsession/httpapi/playground"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/lifecycle"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/ratelimit"
	"github.com/offsession/offsession/requestid"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/retry/policies"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
	"github.com/offsession/offsession/scheduler"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/testclocks"
	"github.com/offsession/offsession/tracing"
	"github.com/offsession/offsession/viewer"
	"github.com/offsession/offsession/webhooks"
)

const usage = `offsession: a self-hosted engine for off-session payments.

Usage:
  offsession serve   [flags]         run the server
  offsession demo    [flags]         seed a demo account, print its keys, and serve
  offsession migrate [flags]         apply database migrations
  offsession account create NAME     create an account and print its API keys
  offsession model export|train|list|activate   the retry model (see offsession model)

Flags (each also an environment variable, see README.md):
`

// Main runs the offsession command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "model" {
		if err := modelCommand(context.Background(), rest, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "offsession model:", err)
			return 1
		}
		return 0
	}
	if cmd == "account" {
		if len(rest) == 0 || rest[0] != "create" {
			fmt.Fprint(stderr, usage)
			return 2
		}
		cmd, rest = "account create", rest[1:]
	}
	fs := flag.NewFlagSet("offsession "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	vars := cfg.bind(fs)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if err := applyEnv(fs, vars, os.LookupEnv); err != nil {
		fmt.Fprintln(stderr, "offsession:", err)
		return 2
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(stderr, "offsession:", err)
		return 2
	}
	level, _ := cfg.level()
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, cfg, log, nil, stdout)
	case "demo":
		err = serve(ctx, cfg, log, seedDemo, stdout)
	case "migrate":
		err = migrate(ctx, cfg, log, stdout)
	case "account create":
		err = createAccount(ctx, cfg, log, fs.Args(), stdout)
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		log.Error("offsession stopped", "command", cmd, "err", err)
		return 1
	}
	return 0
}

// openStore opens and migrates the configured database.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*storage.Store, error) {
	st, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	log.Info("database ready", "url", storage.Redact(cfg.DatabaseURL), "dialect", st.Dialect, "migrations_applied", applied)
	return st, nil
}

// Process is a built offsession: services and scheduler on one store.
type Process struct {
	// Metrics are the process's own, served at /metrics.
	Metrics *metrics.Metrics
	// Tracer is the process's tracer provider (a no-op one when traces
	// are off).
	Tracer     trace.TracerProvider
	Store      *storage.Store
	Payments   *payments.Service
	Keys       *idempotency.Keys
	Customers  *customers.Service
	Clocks     *testclocks.Service
	Processors *processors.Configs
	Routes     *routes.Service
	Policies   *policies.Service
	Scheduler  *scheduler.Scheduler
	Deliverer  *webhooks.Deliverer
	Router     *routing.Router
	Models     *models.Service
	Endpoints  *webhooks.Endpoints
	log        *slog.Logger
	cfg        Config
	proxies    []netip.Prefix
	origins    []string
	clock      clockwork.Clock
}

// Observability is what a process reports to: tracing.FromEnv's provider
// when the environment asks for traces, an in-memory one in tests.
type Observability struct {
	// Tracer traces the process; nil: no traces.
	Tracer trace.TracerProvider
}

// Build wires a process on store, without traces. The scheduler is built,
// not started.
func Build(store *storage.Store, cfg Config, clock clockwork.Clock, log *slog.Logger) (*Process, error) {
	return BuildObserved(store, cfg, clock, log, Observability{})
}

// BuildObserved is Build reporting to obs. Every process has metrics of
// its own (Process.Metrics), and a logger that writes each request's ID.
func BuildObserved(store *storage.Store, cfg Config, clock clockwork.Clock, log *slog.Logger, obs Observability) (*Process, error) {
	proxies, err := cfg.trustedProxies()
	if err != nil {
		return nil, err
	}
	origins, err := httpapi.ParseOrigins(cfg.CORSOrigins)
	if err != nil {
		return nil, err
	}
	if obs.Tracer == nil {
		obs.Tracer = tracing.Off()
	}
	log = slog.New(requestid.LogHandler(log.Handler()))
	store = store.Traced(obs.Tracer)
	mtr := metrics.New()
	router := routing.NewRouter(routing.NewStats(routing.StatsConfig{ProbeInterval: cfg.ProbeInterval}), uint64(clock.Now().UnixNano()))
	mdl := models.New(store.Client, clock, log).WithMetrics(mtr)
	smart := cfg.SmartPlanner
	if smart == nil {
		smart = retry.NewSmartPlanner(cfg.ExplorationShare, uint64(clock.Now().UnixNano()))
	}
	guard := netguard.New(netguard.Config{AllowPrivate: cfg.AllowPrivateURLs, Lookup: cfg.URLLookup})
	if cfg.AllowPrivateURLs {
		log.Warn("webhook and processor URLs may reach private addresses (OFFSESSION_ALLOW_PRIVATE_URLS): for development only")
	}
	registry := processors.NewRegistry(store.Client, guard)
	keys := idempotency.New(store.Client, clock, 0).WithMetrics(mtr)
	svc, err := payments.New(store, clock, registry, log, payments.Config{
		Keys:             keys,
		AttemptLease:     cfg.AttemptLease,
		ProcessorTimeout: cfg.ProcessorTimeout,
		Router:           router,
		SmartPlanner:     smart,
		Models:           mdl,
		Metrics:          mtr,
		Tracer:           obs.Tracer,
	})
	if err != nil {
		return nil, err
	}
	clocks := testclocks.New(store.Client, keys, clock, svc, svc.Owner(), log)
	schedCfg := scheduler.Config{Workers: cfg.Workers, PollInterval: cfg.PollInterval, RetrainEvery: cfg.RetrainEvery}
	if store.Dialect == dialect.Postgres {
		schedCfg.Locker = scheduler.NewPostgresLocker(store.DB)
	}
	deliverer := webhooks.NewDeliverer(store, clock, log, webhooks.DelivererConfig{Owner: svc.Owner(), BackoffBase: cfg.WebhookBackoff, Guard: guard, Metrics: mtr})
	sched, err := scheduler.New(scheduler.Jobs{Payments: svc, Keys: keys, Clocks: clocks, Webhooks: deliverer, Router: router, DB: store.Client, Models: mdl}, clock, log, schedCfg)
	if err != nil {
		return nil, err
	}
	mtr.ObserveStore(func(ctx context.Context) (metrics.Snapshot, error) {
		now := clock.Now()
		var snap metrics.Snapshot
		var err error
		if snap.PaymentsByStatus, snap.DuePayments, err = metrics.CountPayments(ctx, store.Client, now); err != nil {
			return snap, err
		}
		snap.PendingWebhooks, snap.OldestPendingWebhook, err = deliverer.Queue(ctx, now)
		return snap, err
	}, lifecycle.Statuses, router.Stats().Eliminated, 5*time.Second, log)
	return &Process{
		Metrics: mtr, Tracer: obs.Tracer,
		Store: store, Payments: svc, Keys: keys, Clocks: clocks, Scheduler: sched, Deliverer: deliverer, Router: router, Models: mdl,
		Customers:  customers.New(store.Client, keys, clock, registry, svc),
		Processors: processors.NewConfigs(store.Client, keys, guard),
		Routes:     routes.NewService(store.Client, keys),
		Policies:   policies.New(store.Client, keys),
		Endpoints:  webhooks.NewEndpoints(store.Client, clock, events.Types, guard).WithMetrics(mtr),
		log:        log, cfg: cfg, proxies: proxies, origins: origins, clock: clock,
	}, nil
}

// Handler returns the process's HTTP handler, with the playground starting
// from pg.
func (p *Process) Handler(pg playground.Config) http.Handler {
	budgets := ratelimit.NewBudgets(ratelimit.Config{
		CostPerSecond: p.cfg.QueryCostLimit, CostBurst: p.cfg.QueryCostBurst, MinCostBurst: p.cfg.MaxComplexity,
		MutationsPerSecond: p.cfg.RateLimit, MutationBurst: p.cfg.RateBurst,
	})
	gql := graph.NewHandler(graph.NewResolver(graph.Services{DB: p.Store.Client, Store: p.Store, Clock: p.clock, Payments: p.Payments, Customers: p.Customers, Clocks: p.Clocks, Processors: p.Processors, Routes: p.Routes, Policies: p.Policies, Endpoints: p.Endpoints, Router: p.Router, Models: p.Models}), graph.Options{
		MaxComplexity: p.cfg.MaxComplexity, MaxPageSize: p.cfg.MaxPageSize, PageSize: p.cfg.PageSize,
		Budgets: budgets, Log: p.log, Metrics: p.Metrics, Tracer: p.Tracer, Origins: p.origins,
	})
	return httpapi.NewHandler(httpapi.Deps{
		DB:      p.Store.Client,
		GraphQL: gql,
		Log:     p.log,
		Metrics: p.Metrics,
		Tracer:  p.Tracer,
		Ready: func(ctx context.Context) error {
			if err := p.Store.DB.PingContext(ctx); err != nil {
				return fmt.Errorf("database: %w", err)
			}
			if !p.Scheduler.Running() {
				return errors.New("scheduler is not running")
			}
			return nil
		},
	}, httpapi.Config{Playground: pg, TrustedProxies: p.proxies, CORSOrigins: p.origins})
}

type seeder func(ctx context.Context, p *Process, stdout io.Writer) (playground.Config, error)

func seedDemo(ctx context.Context, p *Process, stdout io.Writer) (playground.Config, error) {
	s, err := demo.Seed(ctx, p.Store.Client, demo.Services{Payments: p.Payments, Customers: p.Customers, Processors: p.Processors, Clocks: p.Clocks}, p.Scheduler.RunDuePayments)
	if err != nil {
		return playground.Config{}, err
	}
	fmt.Fprintf(stdout, `
offsession demo account %s
  secret key:     %s
  restricted key: %s
  admin key:      %s
(keys are shown once; a new set is made at every start of the demo)

`, s.AccountID, s.Keys.Secret, s.Keys.Restricted, s.Keys.Admin)
	return demo.Playground(s), nil
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, seed seeder, stdout io.Writer) error {
	// One server per SQLite file: a second would share its scheduler's
	// work without the PostgreSQL locks that make that safe.
	release, err := storage.LockSQLite(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer release()
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	tp, stopTraces, err := tracing.FromEnv(ctx)
	if err != nil {
		return err
	}
	defer func() {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stopTraces(flushCtx); err != nil {
			log.Warn("flush traces", "err", err)
		}
	}()
	if tracing.Enabled(tp) {
		log.Info("tracing to OTLP over HTTP (OTEL_EXPORTER_OTLP_*)")
	}
	clock := clockwork.NewRealClock()
	p, err := BuildObserved(st, cfg, clock, log, Observability{Tracer: tp})
	if err != nil {
		return err
	}
	pg := demo.DefaultPlayground()
	if seed != nil {
		if pg, err = seed(ctx, p, stdout); err != nil {
			return fmt.Errorf("seed demo: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           p.Handler(pg),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	p.Scheduler.Start()
	addr := displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "offsession serving GraphQL at http://%s/graphql, the playground at http://%s/ and the dashboard at http://%s/dashboard/\n", addr, addr, addr)
	log.Info("serving", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		_ = p.Scheduler.Shutdown()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	httpErr := srv.Shutdown(shutdownCtx)
	return errors.Join(httpErr, p.Scheduler.Shutdown())
}

func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}

func migrate(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	st, err := storage.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	for _, v := range applied {
		fmt.Fprintln(stdout, "applied", v)
	}
	return nil
}

func createAccount(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" {
		return errors.New("usage: offsession account create NAME")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	acct, keys, err := auth.CreateAccount(viewer.SystemContext(ctx), st.Client, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "account %s\n  secret key:     %s\n  restricted key: %s\n  admin key:      %s\n(keys are shown once)\n",
		acct.ID, keys.Secret, keys.Restricted, keys.Admin)
	return nil
}
