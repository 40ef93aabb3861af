package scheduler_test

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// Sizes of TestMemoryStaysFlatWithPendingRetries: ten times the pending
// retries, and the same due work at each size.
const (
	fewPending  = 2_000
	manyPending = 20_000
	pollRounds  = 5
	duePerRound = 20
)

// pollCost is what the scheduler's polls cost the process at one number of
// pending retries.
type pollCost struct {
	heap  uint64 // live heap after GC, once the polls are done
	alloc uint64 // bytes allocated by the polls, freed or not
}

// TestMemoryStaysFlatWithPendingRetries: memory stays flat however many
// retries are pending. With payments waiting for retries due in a month,
// the scheduler polls for due work, claims and runs a few payments that
// fall due, and neither what it keeps (the live heap after GC) nor what it
// allocates doing so grows with the number waiting: the database holds
// them and the claim reads only what is due. Ten times the pending
// retries must cost less than twice as much of either; a claim that read
// every pending payment, or a scheduler that kept anything per pending
// payment, costs about ten times as much. make bench measures the same at
// 1,000,000 pending in a server process (peak RSS).
func TestMemoryStaysFlatWithPendingRetries(t *testing.T) {
	// Not parallel: it measures the heap of the whole test binary.
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := viewer.SystemContext(context.Background())
		now := time.Now().UTC().Truncate(time.Second)
		clk := clockwork.NewFakeClockAt(now)
		proc, err := app.Build(st, app.Config{Workers: 2, PollInterval: poll, AttemptLease: 30 * time.Second, ProcessorTimeout: 10 * time.Second},
			clk, slog.New(slog.NewJSONHandler(io.Discard, nil)))
		require.NoError(t, err)
		acct, _, err := auth.CreateAccount(ctx, st.Client, "memory")
		require.NoError(t, err)
		prc, err := st.Client.Processor.Create().SetAccountID(acct.ID).SetName("Simulator").SetType(processor.TypeSimulator).Save(ctx)
		require.NoError(t, err)

		written := 0 // payments seeded so far, pending or due
		write := func(n int, cards int, brand paymentmethod.Brand, dueAt func(int) time.Time) {
			t.Helper()
			err := seed.DueRetries{
				AccountID: acct.ID, ProcessorID: prc.ID, Brand: brand, Cards: cards,
				First: written, N: n, Now: now, Token: func(int) string { return "pm_card_visa" }, DueAt: dueAt,
			}.Write(ctx, st.Client)
			require.NoError(t, err)
			written += n
		}
		pending := 0
		// pendUntil seeds retries due between 30 and 60 days from now up to
		// n pending, as make bench does: amex cards have no network budget,
		// so a thousand cards carry them all.
		pendUntil := func(n int) {
			write(n-pending, 1000, paymentmethod.BrandAmex, func(i int) time.Time {
				return now.Add(30*24*time.Hour + time.Duration(i%(30*24*3600))*time.Second)
			})
			pending = n
		}
		// measure runs the scheduler's poll pollRounds times, each with
		// duePerRound payments on cards of their own falling due, and checks
		// that it charged exactly those.
		measure := func() pollCost {
			t.Helper()
			var alloc uint64
			for range pollRounds {
				write(duePerRound, 0, paymentmethod.BrandVisa, func(int) time.Time { return now.Add(-time.Second) })
				before := allocated()
				require.NoError(t, proc.Scheduler.RunDuePayments(ctx))
				alloc += allocated() - before
				waiting, err := st.Client.OffSessionPayment.Query().
					Where(offsessionpayment.StatusEQ(offsessionpayment.StatusPendingRetry)).Count(ctx)
				require.NoError(t, err)
				require.Equal(t, pending, waiting, "the poll ran the due payments and left the pending ones")
			}
			return pollCost{heap: liveHeap(), alloc: alloc}
		}

		pendUntil(fewPending)
		few := measure()
		pendUntil(manyPending)
		many := measure()
		t.Logf("%d pending: live heap %.1f MiB, polls allocated %.1f MiB", fewPending, mib(few.heap), mib(few.alloc))
		t.Logf("%d pending: live heap %.1f MiB, polls allocated %.1f MiB", manyPending, mib(many.heap), mib(many.alloc))
		require.Less(t, many.heap, 2*few.heap, "the live heap grew with the pending retries")
		require.Less(t, many.alloc, 2*few.alloc, "the polls' allocations grew with the pending retries")
	})
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // finalizers queued by the first one have run
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// allocated is the bytes the process has allocated on the heap so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
