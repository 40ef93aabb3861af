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

// TestSummaryGivesEachSegmentsRate: a processor's summary gives its
// success rate in each segment it was scored in, most outcomes first,
// beside the rate over all of them; another processor's outcomes and the
// declines about the card are not in it.
func TestSummaryGivesEachSegmentsRate(t *testing.T) {
	t.Parallel()
	s := routing.NewStats(routing.StatsConfig{})
	now := time.Now()
	observe := func(proc, seg string, c retry.Class, n int) {
		for range n {
			s.Observe(routing.Observation{ProcessorID: proc, Segment: seg, At: now, Class: c, DeclineCode: "do_not_honor"})
		}
	}
	observe("p", "visa/credit/US/usd", retry.Approved, 6)
	observe("p", "visa/credit/US/usd", retry.Soft, 2)
	observe("p", "mastercard/debit/GB/gbp", retry.Approved, 1)
	observe("p", "mastercard/debit/GB/gbp", retry.Technical, 3)
	observe("q", "visa/credit/US/usd", retry.Soft, 5)
	s.Observe(routing.Observation{ProcessorID: "p", Segment: "amex/credit/US/usd", At: now, Class: retry.Soft, DeclineCode: "insufficient_funds"})
	sum := s.Summarize("p")
	require.Equal(t, []routing.SegmentRate{
		{Segment: "visa/credit/US/usd", SuccessRate: 0.75, ScoredOutcomes: 8},
		{Segment: "mastercard/debit/GB/gbp", SuccessRate: 0.25, ScoredOutcomes: 4},
	}, sum.Segments)
	require.Equal(t, 12, sum.ScoredOutcomes)
	require.InDelta(t, 7.0/12, *sum.SuccessRate, 1e-9)
}
