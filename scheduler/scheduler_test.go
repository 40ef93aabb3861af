package scheduler_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/demo"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/scheduler"
	"github.com/offsession/offsession/storage"
)

// poll is the scheduler's poll interval in these tests: long, so that only
// the fake clock, never the wall clock, makes it fall due.
const poll = time.Minute

// bundle builds a process on st whose clock is fake, with account A, the
// way apitest does with the real one.
func bundle(t *testing.T, st *storage.Store) (*apitest.Bundle, *clockwork.FakeClock) {
	t.Helper()
	clk := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))
	cfg := app.Config{RateLimit: 1e6, QueryCostLimit: 1e9, Workers: 2, PollInterval: poll, AttemptLease: 30 * time.Second, ProcessorTimeout: 10 * time.Second}
	proc, err := app.Build(st, cfg, clk, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	require.NoError(t, err)
	b := &apitest.Bundle{Store: st, Proc: proc, Handler: proc.Handler(demo.DefaultPlayground())}
	b.A = b.NewAccount(t, "Account A")
	return b, clk
}

func status(t *testing.T, b *apitest.Bundle, id string) string {
	t.Helper()
	return b.Payment(t, b.A.Keys.Secret, id)["status"].(string)
}

// TestSchedulerRunsDuePaymentsOnItsInjectedClock: gocron's jobs run on the
// clock the scheduler is given. A due payment waits while the fake clock
// stands still, however long the wall clock runs, and is charged once the
// fake clock reaches the poll.
func TestSchedulerRunsDuePaymentsOnItsInjectedClock(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b, clk := bundle(t, st)
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		r := b.CreatePayment(t, b.A.Keys.Secret, apitest.PaymentInput(c, 1234, nil))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")

		b.Proc.Scheduler.Start()
		t.Cleanup(func() { _ = b.Proc.Scheduler.Shutdown() })
		require.True(t, b.Proc.Scheduler.Running())
		// The jobs' timers are set on the fake clock (two start at once and
		// are set again; all of them wait for it).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, clk.BlockUntilContext(ctx, 5), "the jobs wait on the fake clock")
		time.Sleep(300 * time.Millisecond) // wall time passes; the fake clock does not
		require.Equal(t, "pending", status(t, b, id), "nothing runs before the fake clock reaches the poll")

		clk.Advance(poll)
		require.Eventually(t, func() bool { return status(t, b, id) == "succeeded" }, 20*time.Second, 20*time.Millisecond)
		atts := b.Payment(t, b.A.Keys.Secret, id)["attempts"].(map[string]any)["edges"].([]any)
		require.Len(t, atts, 1)
		started, err := time.Parse(time.RFC3339, atts[0].(map[string]any)["node"].(map[string]any)["startedAt"].(string))
		require.NoError(t, err)
		require.WithinDuration(t, clk.Now(), started, time.Second, "the attempt is stamped with the fake clock's time")
	})
}

// recordingLocker is a gocron.Locker that records the jobs it is asked to
// lock, and lets each through.
type recordingLocker struct {
	mu   sync.Mutex
	keys []string
}

func (l *recordingLocker) Lock(_ context.Context, key string) (gocron.Lock, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.keys, key) {
		l.keys = append(l.keys, key)
	}
	return unlock{}, nil
}

func (l *recordingLocker) locked() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.keys)
}

type unlock struct{}

func (unlock) Unlock(context.Context) error { return nil }

// TestSingletonJobsTakeTheDistributedLock: the jobs that must run on one
// replica at a time (expiring idempotency keys, resuming test clocks,
// guarding and retraining retry models) take the scheduler's locker before
// they run; the jobs every replica runs (claiming due payments and
// webhooks, whose leases keep replicas apart, and refreshing this
// replica's own routing statistics) do not.
func TestSingletonJobsTakeTheDistributedLock(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b, clk := bundle(t, st)
		p := b.Proc
		locker := &recordingLocker{}
		s, err := scheduler.New(scheduler.Jobs{Payments: p.Payments, Keys: p.Keys, Clocks: p.Clocks, Webhooks: p.Deliverer, Router: p.Router, DB: st.Client, Models: p.Models},
			clk, slog.New(slog.NewJSONHandler(io.Discard, nil)),
			scheduler.Config{PollInterval: poll, RetrainEvery: 2 * time.Hour, Locker: locker})
		require.NoError(t, err)
		s.Start()
		t.Cleanup(func() { _ = s.Shutdown() })
		singletons := []string{scheduler.JobExpireIdempotencyKeys, scheduler.JobResumeTestClocks, scheduler.JobGuardRetryModels, scheduler.JobRetrainRetryModels}
		require.Eventually(t, func() bool {
			clk.Advance(10 * time.Minute) // three hours of the fake clock in 18 ticks or more
			got := locker.locked()
			return !slices.ContainsFunc(singletons, func(k string) bool { return !slices.Contains(got, k) })
		}, 20*time.Second, 20*time.Millisecond, "each singleton job locks before it runs")
		for _, k := range []string{scheduler.JobRunDuePayments, scheduler.JobDeliverWebhooks, scheduler.JobRefreshRoutingStats} {
			require.NotContains(t, locker.locked(), k, "every replica runs %s", k)
		}
	})
}

// TestPostgresLockerKeepsAJobToOneReplica: two replicas whose schedulers
// share a database through PostgresLocker never run one job at once: at
// each tick of their clocks one runs it and the other skips it. Without the
// locker both run it at once, which the same count sees. (PostgreSQL only:
// on SQLite one server holds the file, there is no second replica.)
func TestPostgresLockerKeepsAJobToOneReplica(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		if st.Dialect != dialect.Postgres {
			t.Skip("replicas share PostgreSQL only")
		}
		ctx := context.Background()

		// The lock itself: one holder per key, free again once unlocked.
		l1, l2 := scheduler.NewPostgresLocker(st.DB), scheduler.NewPostgresLocker(st.DB)
		held, err := l1.Lock(ctx, "a-job")
		require.NoError(t, err)
		_, err = l2.Lock(ctx, "a-job")
		require.ErrorIs(t, err, scheduler.ErrLocked)
		other, err := l2.Lock(ctx, "another-job")
		require.NoError(t, err, "a lock is per job")
		require.NoError(t, other.Unlock(ctx))
		require.NoError(t, held.Unlock(ctx))
		again, err := l2.Lock(ctx, "a-job")
		require.NoError(t, err, "unlocked, the job can run elsewhere")
		require.NoError(t, again.Unlock(ctx))

		// Two replicas, each its own scheduler and clock, one job.
		run := func(t *testing.T, withLocker bool) (runs, most int64) {
			var running atomic.Int64
			var mu sync.Mutex
			clocks := []*clockwork.FakeClock{}
			for range 2 {
				clk := clockwork.NewFakeClock()
				opts := []gocron.SchedulerOption{gocron.WithClock(clk)}
				if withLocker {
					opts = append(opts, gocron.WithDistributedLocker(scheduler.NewPostgresLocker(st.DB)))
				}
				cron, err := gocron.NewScheduler(opts...)
				require.NoError(t, err)
				_, err = cron.NewJob(gocron.DurationJob(time.Minute), gocron.NewTask(func() {
					n := running.Add(1)
					mu.Lock()
					runs++
					most = max(most, n)
					mu.Unlock()
					time.Sleep(150 * time.Millisecond) // long enough for the other replica to try
					running.Add(-1)
				}), gocron.WithName("a-job"))
				require.NoError(t, err)
				cron.Start()
				t.Cleanup(func() { _ = cron.Shutdown() })
				clocks = append(clocks, clk)
			}
			const ticks = 5
			for range ticks {
				for _, clk := range clocks {
					bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					require.NoError(t, clk.BlockUntilContext(bctx, 1))
					cancel()
				}
				for _, clk := range clocks {
					clk.Advance(time.Minute)
				}
				time.Sleep(400 * time.Millisecond) // the tick's runs end
			}
			mu.Lock()
			defer mu.Unlock()
			return runs, most
		}
		runs, most := run(t, true)
		require.EqualValues(t, 1, most, "never two replicas at once")
		require.GreaterOrEqual(t, runs, int64(5), "one run per tick")
		require.Less(t, runs, int64(10), "the other replica skipped its turn")
		_, most = run(t, false)
		require.EqualValues(t, 2, most, "without the locker both replicas run it at once: the count would see a broken lock")
	})
}

// TestShutdownLeavesNoGoroutineBehind: a scheduler started, with its jobs
// run and a payment charged by its workers, leaves no goroutine of its own
// (gocron's, the workers', a job's) once Shutdown returns.
func TestShutdownLeavesNoGoroutineBehind(t *testing.T) {
	// Not parallel: goleak sees every goroutine of the test binary.
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b, clk := bundle(t, st)
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds"})
		r := b.CreatePayment(t, b.A.Keys.Secret, apitest.PaymentInput(c, 999, nil))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		// What runs now (the store's pool, the process's own) is not the
		// scheduler's.
		before := goleak.IgnoreCurrent()

		s := b.Proc.Scheduler
		s.Start()
		require.Eventually(t, func() bool {
			clk.Advance(poll)
			return status(t, b, id) == "pending_retry"
		}, 20*time.Second, 20*time.Millisecond, "the workers ran the payment")
		clk.Advance(time.Hour) // the hourly job too
		require.NoError(t, s.Shutdown())
		require.False(t, s.Running())
		goleak.VerifyNone(t, before,
			// database/sql opens and closes connections on its own.
			goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
			goleak.IgnoreTopFunction("database/sql.(*DB).connectionCleaner"))
	})
}

// TestNewRefusesMissingJobs: a scheduler without the services its jobs
// run is refused at construction, not left to fail on a nil when a job
// first comes due.
func TestNewRefusesMissingJobs(t *testing.T) {
	t.Parallel()
	_, err := scheduler.New(scheduler.Jobs{}, clockwork.NewFakeClock(), slog.New(slog.DiscardHandler), scheduler.Config{})
	require.ErrorContains(t, err, "Keys")
}
