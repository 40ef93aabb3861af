package retry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func input(now time.Time) Input {
	return Input{
		Now: now, PaymentID: "osp_test", MaxRetries: 8,
		FirstAttemptAt: now, LastAttemptAt: now, RetryUntil: now.Add(14 * day),
		Decline: Classification{Class: Soft}, DeclineCode: "insufficient_funds",
		Earliest: now, Location: time.UTC,
	}
}

func TestEngineSharedRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := NewEngine(nil)
	now := time.Date(2026, 4, 7, 12, 0, 0, 0, time.UTC)

	in := input(now)
	in.Strategy = StrategyNone
	d, err := e.Next(ctx, in)
	require.NoError(t, err)
	require.True(t, d.Stop)
	require.Equal(t, StopRetriesExhausted, d.StopReason)

	in = input(now)
	in.Strategy, in.RetriesUsed = StrategyHeuristic, 8
	d, _ = e.Next(ctx, in)
	require.True(t, d.Stop, "all retries used")
	require.Equal(t, StopRetriesExhausted, d.StopReason)

	in = input(now)
	in.Strategy, in.Earliest, in.EarliestNote = StrategyHeuristic, now.Add(20*day), "visa budget full"
	d, _ = e.Next(ctx, in)
	require.True(t, d.Stop)
	require.Equal(t, StopExceededRetryWindow, d.StopReason)

	// A technical failure waits a little, does not use a retry, and backs off.
	in = input(now)
	in.Strategy, in.Decline, in.RetriesUsed, in.TechnicalStreak = StrategyScheduled, Classification{Class: Technical}, 8, 1
	d, _ = e.Next(ctx, in)
	require.False(t, d.Stop, "technical failures do not count against the retries")
	require.Equal(t, now.Add(5*time.Minute), d.At)
	in.TechnicalStreak = 3
	d, _ = e.Next(ctx, in)
	require.Equal(t, now.Add(time.Hour), d.At)
}

func TestScheduledPlanner(t *testing.T) {
	t.Parallel()
	e := NewEngine(nil)
	first := time.Date(2026, 4, 7, 12, 0, 0, 0, time.UTC)
	sched, err := ParseSchedule([]string{"1d", "3d", "5d", "7d"})
	require.NoError(t, err)
	for i, want := range []time.Duration{day, 3 * day, 5 * day, 7 * day} {
		in := input(first.Add(time.Duration(i) * day))
		in.Strategy, in.Schedule, in.FirstAttemptAt, in.RetriesUsed = StrategyScheduled, sched, first, i
		d, err := e.Next(context.Background(), in)
		require.NoError(t, err)
		require.False(t, d.Stop)
		require.Equal(t, first.Add(want), d.At, "retry %d", i+1)
		require.Equal(t, "scheduled", d.Record.Strategy)
	}
	in := input(first.Add(7 * day))
	in.Strategy, in.Schedule, in.FirstAttemptAt, in.RetriesUsed = StrategyScheduled, sched, first, 4
	d, _ := e.Next(context.Background(), in)
	require.True(t, d.Stop)
	require.Equal(t, StopRetriesExhausted, d.StopReason)

	// An advice code's wait moves a scheduled retry later.
	in = input(first)
	in.Strategy, in.Schedule, in.Earliest = StrategyScheduled, sched, first.Add(4*day)
	d, _ = e.Next(context.Background(), in)
	require.Equal(t, first.Add(4*day), d.At)
}

func TestHeuristicPlanner(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	e := NewEngine(nil)
	// Tuesday 7 April 2026, 23:30 in New York: a lack of funds.
	now := time.Date(2026, 4, 7, 23, 30, 0, 0, ny).UTC()
	in := input(now)
	in.Strategy, in.Location, in.PaymentID = StrategyHeuristic, ny, "osp_a"
	d, err := e.Next(context.Background(), in)
	require.NoError(t, err)
	local := d.At.In(ny)
	require.GreaterOrEqual(t, local.Hour(), dayStartHour, "in the customer's daytime: %s", local)
	require.Less(t, local.Hour(), dayEndHour, "in the customer's daytime: %s", local)
	require.True(t, d.At.After(now.Add(day-time.Minute)), "at least a day later")
	again, _ := e.Next(context.Background(), in)
	require.Equal(t, d.At, again.At, "the same payment and retry plan the same time")

	// Whatever the hour of the decline, the retry falls in the day.
	for h := 0; h < 24*7; h += 1 {
		in := input(time.Date(2026, 4, 1, 0, 17, 0, 0, ny).Add(time.Duration(h) * time.Hour).UTC())
		in.Strategy, in.Location, in.PaymentID, in.DeclineCode = StrategyHeuristic, ny, fmt.Sprintf("osp_%d", h), "try_again_later"
		d, err := e.Next(context.Background(), in)
		require.NoError(t, err)
		local := d.At.In(ny)
		require.True(t, local.Hour() >= dayStartHour && local.Hour() < dayEndHour, "decline at %s: retry at %s", in.Now.In(ny), local)
	}

	// Near a payday, a lack of funds waits for the day after it.
	in = input(time.Date(2026, 4, 13, 11, 0, 0, 0, ny).UTC())
	in.Strategy, in.Location, in.PaymentID = StrategyHeuristic, ny, "osp_b"
	d, _ = e.Next(context.Background(), in)
	require.Equal(t, 16, d.At.In(ny).Day(), "after the payday of the 15th: %s", d.At.In(ny))
	require.Contains(t, d.Record.Reason, "payday")

	// A do-not-retry-soon decline far from payday just spaces out.
	in.DeclineCode = "try_again_later"
	d, _ = e.Next(context.Background(), in)
	require.Equal(t, 14, d.At.In(ny).Day())

	// Spacing grows with each retry.
	var last time.Duration
	for n := 0; n < 5; n++ {
		in := input(time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC))
		in.Strategy, in.RetriesUsed, in.DeclineCode, in.RetryUntil = StrategyHeuristic, n, "try_again_later", in.Now.Add(60*day)
		d, _ := e.Next(context.Background(), in)
		gap := d.At.Sub(in.LastAttemptAt)
		require.Greater(t, gap, last, "retry %d", n+1)
		last = gap
	}

	// The last retry fits in before the window closes.
	in = input(now)
	in.Strategy, in.Location, in.RetriesUsed, in.RetryUntil = StrategyHeuristic, ny, 5, now.Add(2*day)
	d, _ = e.Next(context.Background(), in)
	require.False(t, d.Stop)
	require.False(t, d.At.After(in.RetryUntil))
}

func TestParseWindowAndSchedule(t *testing.T) {
	t.Parallel()
	for give, want := range map[string]time.Duration{"1w": 7 * day, "2w": 14 * day, "3w": 21 * day, "1m": 30 * day, "2m": 60 * day, "10d": 10 * day, "36h": 36 * time.Hour} {
		got, err := ParseWindow(give)
		require.NoError(t, err, give)
		require.Equal(t, want, got, give)
	}
	for _, bad := range []string{"", "3m", "0h", "61d", "x"} {
		_, err := ParseWindow(bad)
		require.Error(t, err, bad)
	}
	_, err := ParseSchedule([]string{"3d", "1d"})
	require.Error(t, err, "offsets must increase")
}
