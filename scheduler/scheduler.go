// Package scheduler runs offsession's background work with gocron. The
// database decides what is due (each payment's due_at, see payments.ClaimDue);
// gocron decides when to look, and a bounded pool of workers does the work.
// It keeps nothing per pending payment in memory, so memory does not grow
// with the number of pending retries.
//
// On PostgreSQL several replicas run side by side: payments are claimed with
// leases and SKIP LOCKED, and singleton jobs run behind an advisory lock.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
	"github.com/offsession/offsession/testclocks"
	"github.com/offsession/offsession/viewer"
	"github.com/offsession/offsession/webhooks"
)

// Defaults of Config.
const (
	WorkersDefault      = 4
	PollIntervalDefault = 200 * time.Millisecond
	// GuardEvery is how often active retry models are judged against
	// their control groups (models.Service.Guard).
	GuardEvery = time.Hour
	// RetrainEveryDefault is how often retry models are retrained.
	RetrainEveryDefault = 7 * 24 * time.Hour
)

// Job names: stable, because a distributed lock is keyed by them.
const (
	JobRunDuePayments        = "run-due-payments"
	JobExpireIdempotencyKeys = "expire-idempotency-keys"
	JobResumeTestClocks      = "resume-test-clocks"
	JobDeliverWebhooks       = "deliver-webhooks"
	JobRefreshRoutingStats   = "refresh-routing-stats"
	JobGuardRetryModels      = "guard-retry-models"
	JobRetrainRetryModels    = "retrain-retry-models"
)

// Config tunes the scheduler. Zero fields take their defaults.
type Config struct {
	// Workers is how many payments are worked on at once. Default
	// WorkersDefault.
	Workers int
	// PollInterval is how often due payments are claimed when none were
	// due at the last look. Default PollIntervalDefault.
	PollInterval time.Duration
	// RetrainEvery is the retrain job's cadence; 0 leaves it out. (Not
	// defaulted: 0 means off.)
	RetrainEvery time.Duration
	// Locker, when set, keeps each singleton job to one replica at a time.
	// Use NewPostgresLocker on PostgreSQL; leave nil on SQLite.
	Locker gocron.Locker
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = WorkersDefault
	}
	if c.PollInterval <= 0 {
		c.PollInterval = PollIntervalDefault
	}
	return c
}

// Jobs are what the scheduler runs.
type Jobs struct {
	Payments *payments.Service
	// Keys has its expired idempotency keys deleted.
	Keys *idempotency.Keys
	// Clocks, when set, has stalled test-clock advances finished.
	Clocks   *testclocks.Service
	Webhooks *webhooks.Deliverer
	Router   *routing.Router
	DB       *ent.Client
	// Models, when set, has its retry models guarded and retrained.
	Models *models.Service
}

// Scheduler runs the background jobs.
type Scheduler struct {
	cron     gocron.Scheduler
	payments *payments.Service
	keys     *idempotency.Keys
	webhooks *webhooks.Deliverer
	clock    clockwork.Clock
	log      *slog.Logger
	cfg      Config
	started  atomic.Bool
}

// routingWindow is how far back the routing statistics are rebuilt from.
const routingWindow = time.Hour

// jobSpec is a recurring job: its cadence, its work and gocron's options.
type jobSpec struct {
	every time.Duration
	task  func(context.Context) error
	opts  []gocron.JobOption
}

// New returns a scheduler; Start runs it.
func New(jobs Jobs, clock clockwork.Clock, log *slog.Logger, cfg Config) (*Scheduler, error) {
	svc, deliverer := jobs.Payments, jobs.Webhooks
	if svc == nil || deliverer == nil || jobs.Keys == nil || jobs.Router == nil || jobs.DB == nil {
		return nil, errors.New("new scheduler: Payments, Keys, Webhooks, Router and DB are needed")
	}
	cfg = cfg.WithDefaults()
	cron, err := gocron.NewScheduler(gocron.WithClock(clock), gocron.WithStopTimeout(30*time.Second))
	if err != nil {
		return nil, fmt.Errorf("new scheduler: %w", err)
	}
	s := &Scheduler{cron: cron, payments: svc, keys: jobs.Keys, webhooks: deliverer, clock: clock, log: log, cfg: cfg}
	singleton := func(name string) []gocron.JobOption {
		opts := []gocron.JobOption{gocron.WithName(name), gocron.WithSingletonMode(gocron.LimitModeReschedule)}
		if cfg.Locker != nil {
			opts = append(opts, gocron.WithDistributedJobLocker(cfg.Locker))
		}
		return opts
	}
	specs := []jobSpec{
		// Every replica claims due payments: leases keep them apart.
		{cfg.PollInterval, s.RunDuePayments, []gocron.JobOption{
			gocron.WithName(JobRunDuePayments), gocron.WithSingletonMode(gocron.LimitModeReschedule),
		}},
		// Every replica delivers webhooks too: leases keep them apart.
		{cfg.PollInterval, deliverer.RunDue, []gocron.JobOption{
			gocron.WithName(JobDeliverWebhooks), gocron.WithSingletonMode(gocron.LimitModeReschedule),
		}},
		{10 * time.Minute, s.expireIdempotencyKeys, singleton(JobExpireIdempotencyKeys)},
		// Every replica keeps its own copy of the routing statistics.
		{30 * time.Second, func(ctx context.Context) error {
			return routes.Refresh(ctx, jobs.Router, jobs.DB, clock.Now(), routingWindow)
		}, []gocron.JobOption{
			gocron.WithName(JobRefreshRoutingStats), gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithStartAt(gocron.WithStartImmediately()),
		}},
	}
	if jobs.Clocks != nil {
		specs = append(specs, jobSpec{time.Minute, jobs.Clocks.Resume, append(singleton(JobResumeTestClocks), gocron.WithStartAt(gocron.WithStartImmediately()))})
	}
	if jobs.Models != nil {
		specs = append(specs, jobSpec{GuardEvery, jobs.Models.Guard, singleton(JobGuardRetryModels)})
		if cfg.RetrainEvery > 0 {
			specs = append(specs, jobSpec{cfg.RetrainEvery, jobs.Models.Retrain, singleton(JobRetrainRetryModels)})
		}
	}
	for _, j := range specs {
		task := j.task
		if _, err := cron.NewJob(gocron.DurationJob(j.every), gocron.NewTask(func(ctx context.Context) {
			// Background work is offsession's own: it spans accounts.
			if err := task(viewer.SystemContext(ctx)); err != nil && !errors.Is(err, context.Canceled) {
				log.ErrorContext(ctx, "background job failed", "err", err)
			}
		}), j.opts...); err != nil {
			return nil, fmt.Errorf("new job: %w", err)
		}
	}
	return s, nil
}

// Start starts the jobs.
func (s *Scheduler) Start() {
	s.cron.Start()
	s.started.Store(true)
}

// Running reports whether the scheduler has started and not stopped.
func (s *Scheduler) Running() bool { return s.started.Load() }

// Shutdown stops the jobs, waiting for running ones to finish.
func (s *Scheduler) Shutdown() error {
	s.started.Store(false)
	return s.cron.Shutdown()
}

// RunDuePayments works on due payments with the pool of workers until none
// is due. Each worker claims one payment at a time, when it is free, so a
// lease starts when the work does and never runs out in a queue.
func (s *Scheduler) RunDuePayments(ctx context.Context) error {
	owner := s.payments.Owner()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		claimErr error
	)
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				due, err := s.payments.ClaimDue(ctx, s.clock.Now(), 1, owner)
				if err != nil {
					mu.Lock()
					claimErr = err
					mu.Unlock()
					return
				}
				if len(due) == 0 {
					return
				}
				s.runOne(ctx, due[0], owner)
			}
		}()
	}
	wg.Wait()
	return claimErr
}

// runOne runs one payment. Its failure, even a panic, must not stop the
// others: its lease runs out and it is claimed again.
func (s *Scheduler) runOne(ctx context.Context, id, owner string) {
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(ctx, "panic running a due payment", "payment", id, "panic", v)
		}
	}()
	if err := s.payments.RunDue(ctx, id, owner); err != nil {
		s.log.ErrorContext(ctx, "run due payment", "payment", id, "err", err)
	}
}

func (s *Scheduler) expireIdempotencyKeys(ctx context.Context) error {
	n, err := s.keys.Expire(ctx)
	if n > 0 {
		s.log.InfoContext(ctx, "expired idempotency keys", "count", n)
	}
	return err
}
