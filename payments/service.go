// Package payments is offsession's core: off-session payments, their
// attempts and authorizations. Resolvers call its methods; the scheduler
// calls RunDue. It loads, asks the deciding packages (lifecycle, routing,
// retry) and applies, in the one status writer (lifecycle.go), with the
// events of each change; customers checks the card and mandate of every
// charge.
//
// It must never call a processor inside a database transaction, nor call one
// before the attempt, with its idempotency key, is committed.
package payments

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"entgo.io/ent/dialect"
	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/retry/history"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/testclocks"
	"github.com/offsession/offsession/tracing"
)

// Defaults of Config.
const (
	AttemptLeaseDefault          = 30 * time.Second
	ProcessorTimeoutDefault      = 10 * time.Second
	AuthorizationValidityDefault = 7 * 24 * time.Hour
	UnknownOutcomeBackoffDefault = 15 * time.Second
	// UnknownOutcomeReviewAfterDefault is well inside the 24 hours for
	// which Stripe keeps a key's first answer.
	UnknownOutcomeReviewAfterDefault = 2 * time.Hour
)

// Config tunes the service. Zero fields take their defaults.
type Config struct {
	// Keys are the idempotency keys of create mutations, shared with the
	// other services that create; default keys kept for
	// idempotency.TTLDefault (24 hours).
	Keys *idempotency.Keys
	// AttemptLease is how long a worker holds a claimed payment. If the
	// worker dies, another takes the payment over after it. It must be
	// longer than ProcessorTimeout. Default AttemptLeaseDefault (30 s).
	AttemptLease time.Duration
	// ProcessorTimeout bounds one call to a processor. Default
	// ProcessorTimeoutDefault (10 s).
	ProcessorTimeout time.Duration
	// AuthorizationValidity is how long a manual-capture authorization can
	// be captured. Default AuthorizationValidityDefault (7 days).
	AuthorizationValidity time.Duration
	// UnknownOutcomeBackoff is how long to wait before repeating a processor
	// call whose outcome is unknown. Default UnknownOutcomeBackoffDefault
	// (15 s).
	UnknownOutcomeBackoff time.Duration
	// UnknownOutcomeReviewAfter bounds, on the payment's clock, how long an
	// attempt's outcome may stay unknown before the payment goes to
	// requires_review (eight calls bound it sooner, after about an hour).
	// It must be shorter than the processors' idempotency-key retention.
	// Default UnknownOutcomeReviewAfterDefault (2 hours).
	UnknownOutcomeReviewAfter time.Duration
	// Router picks each attempt's processors; default a router with
	// default statistics.
	Router *routing.Router
	// SmartPlanner plans the smart strategy's retries; default a
	// SmartPlanner without exploration.
	SmartPlanner retry.Planner
	// Models gives each account's active retry model, resolved before the
	// smart strategy plans; nil: none, and the heuristic plans.
	Models retry.ModelSource
	// Owner names this process in leases; default storage.LeaseOwner (host,
	// process ID and a random suffix).
	Owner string
	// Metrics records attempts, claims and retry decisions; nil records
	// nothing.
	Metrics *metrics.Metrics
	// Tracer traces attempts and processor calls; nil: not traced.
	Tracer trace.TracerProvider
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.AttemptLease == 0 {
		c.AttemptLease = AttemptLeaseDefault
	}
	if c.ProcessorTimeout == 0 {
		c.ProcessorTimeout = ProcessorTimeoutDefault
	}
	if c.AuthorizationValidity == 0 {
		c.AuthorizationValidity = AuthorizationValidityDefault
	}
	if c.UnknownOutcomeReviewAfter == 0 {
		c.UnknownOutcomeReviewAfter = UnknownOutcomeReviewAfterDefault
	}
	if c.UnknownOutcomeBackoff == 0 {
		c.UnknownOutcomeBackoff = UnknownOutcomeBackoffDefault
	}
	if c.Router == nil {
		c.Router = routing.NewRouter(routing.NewStats(routing.StatsConfig{}), uint64(time.Now().UnixNano()))
	}
	if c.Owner == "" {
		c.Owner = storage.LeaseOwner()
	}
	return c
}

// Validate checks c once its defaults are set.
func (c Config) Validate() error {
	if c.AttemptLease <= c.ProcessorTimeout {
		return fmt.Errorf("attempt lease (%s) must be longer than the processor timeout (%s)", c.AttemptLease, c.ProcessorTimeout)
	}
	return nil
}

// Service is the payments service.
type Service struct {
	store      *storage.Store
	db         *ent.Client
	clock      clockwork.Clock
	processors *processors.Registry
	keys       *idempotency.Keys
	retry      *retry.Engine
	history    history.Loader
	router     *routing.Router
	log        *slog.Logger
	cfg        Config
	metrics    *metrics.Metrics
	tracer     trace.Tracer
	procTypes  metrics.ProcessorTypes
}

// New returns a payments service on store, with time from clock.
func New(store *storage.Store, clock clockwork.Clock, registry *processors.Registry, log *slog.Logger, cfg Config) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("payments config: %w", err)
	}
	if cfg.Keys == nil {
		cfg.Keys = idempotency.New(store.Client, clock, 0).WithMetrics(cfg.Metrics)
	}
	return &Service{
		store:      store,
		db:         store.Client,
		clock:      clock,
		processors: registry,
		keys:       cfg.Keys,
		retry:      retry.NewEngine(cfg.SmartPlanner),
		history:    history.Loader{Postgres: store.Dialect == dialect.Postgres, Models: cfg.Models},
		router:     cfg.Router,
		log:        log,
		cfg:        cfg,
		metrics:    cfg.Metrics,
		tracer:     tracing.Tracer(cfg.Tracer),
	}, nil
}

// Owner is the name this process uses in leases.
func (s *Service) Owner() string { return s.cfg.Owner }

// now is the wall clock, in UTC (SQLite compares times as text).
func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// nowOn returns the time on a test clock, or on the wall clock if clockID is
// nil: payments of customers on a test clock run on its time.
func (s *Service) nowOn(ctx context.Context, db *ent.Client, clockID *string) (time.Time, error) {
	return testclocks.Now(ctx, db, s.clock, clockID)
}

func (s *Service) tx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	return storage.WithTx(ctx, s.db, fn)
}
