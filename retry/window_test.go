package retry

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRetryWindowBoundary: the window includes its closing instant, for
// the planners as for the executor (which asks InWindow too).
func TestRetryWindowBoundary(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 4, 21, 12, 0, 0, 0, time.UTC)
	require.True(t, InWindow(until, until))
	require.True(t, InWindow(until.Add(-time.Nanosecond), until))
	require.False(t, InWindow(until.Add(time.Nanosecond), until))

	e := NewEngine(nil)
	first := until.Add(-14 * day)
	sched, err := ParseSchedule([]string{"14d"})
	require.NoError(t, err)
	in := input(first)
	in.Strategy, in.Schedule, in.FirstAttemptAt, in.RetryUntil = StrategyScheduled, sched, first, until
	d, err := e.Next(context.Background(), in)
	require.NoError(t, err)
	require.False(t, d.Stop, "a retry at the window's closing instant is planned")
	require.Equal(t, until, d.At)

	in.RetryUntil = until.Add(-time.Nanosecond)
	d, err = e.Next(context.Background(), in)
	require.NoError(t, err)
	require.True(t, d.Stop, "a retry a nanosecond after the window is not")
	require.Equal(t, StopExceededRetryWindow, d.StopReason)

	// The smart planner's candidates end at the closing instant, inclusive.
	in = input(until.Add(-3 * time.Hour))
	in.RetryUntil = until
	slots := CandidateSlots(in, time.Hour, 0)
	require.NotEmpty(t, slots)
	require.Equal(t, until, slots[len(slots)-1])
}

func TestWindowOpenAfter(t *testing.T) {
	t.Parallel()
	until := time.Date(2026, 4, 21, 12, 0, 0, 0, time.UTC)
	require.True(t, WindowOpenAfter(until.Add(-time.Nanosecond), until))
	require.False(t, WindowOpenAfter(until, until), "a wait ends at the closing instant")
}
