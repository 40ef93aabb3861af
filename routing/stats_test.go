package routing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
)

func TestStatsScoreProcessorsNotCards(t *testing.T) {
	t.Parallel()
	s := routing.NewStats(routing.StatsConfig{EliminateAfter: 3, HealthWindow: 10, ProbeInterval: time.Minute})
	now := time.Now()
	seg := "visa/credit/US/usd"
	for range 20 {
		s.Observe(routing.Observation{ProcessorID: "p", Segment: seg, At: now, Class: retry.Soft, DeclineCode: "insufficient_funds"})
		s.Observe(routing.Observation{ProcessorID: "p", Segment: seg, At: now, Class: retry.Hard, DeclineCode: "lost_card"})
	}
	_, n := s.Rate("p", seg)
	require.Zero(t, n, "declines about the card do not count")
	s.Observe(routing.Observation{ProcessorID: "p", Segment: seg, At: now, Class: retry.Soft, DeclineCode: "do_not_honor"})
	s.Observe(routing.Observation{ProcessorID: "p", Segment: seg, At: now, Class: retry.Approved})
	rate, n := s.Rate("p", seg)
	require.Equal(t, 2, n)
	require.InDelta(t, 0.5, rate, 1e-9)

	for range 2 {
		s.Observe(routing.Observation{ProcessorID: "p", Segment: seg, At: now, Class: retry.Technical})
	}
	out, _ := s.Health("p", now)
	require.False(t, out, "two technical failures are not enough")
	s.Observe(routing.Observation{ProcessorID: "p", Segment: seg, At: now, Class: retry.Technical})
	out, probe := s.Health("p", now)
	require.True(t, out, "eliminated after three")
	require.False(t, probe, "no probe at once")
	out, probe = s.Health("p", now.Add(time.Minute))
	require.True(t, out)
	require.True(t, probe, "a probe after the interval")
	_, probe = s.Health("p", now.Add(time.Minute+time.Second))
	require.False(t, probe, "one probe per interval")
	s.Observe(routing.Observation{ProcessorID: "p", Segment: seg, At: now.Add(time.Minute), Class: retry.Approved})
	out, _ = s.Health("p", now.Add(time.Minute))
	require.False(t, out, "a successful probe brings it back")
}
