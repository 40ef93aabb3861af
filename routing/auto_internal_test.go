package routing

import (
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/retry"
)

// TestAutoLearnsAFivePointGapInMostRuns measures how reliably auto finds
// the better of two processors whose approval rates are 95% and 90% in one
// segment: the gap of the GraphQL routing test, at realistic rates, over
// many seeded runs, since one run says little. Each run routes 1,200
// payments with the default statistics and a 10% exploration share; the
// worse processor starts first. A 5-point gap over a 200-outcome window is
// about 1.9 standard errors, so a run can stay inverted for a while: an
// unlucky streak of the better processor leaves it with exploration's
// share, which refreshes its window slowly. The test holds the share of
// such runs to what the sliding window allows.
func TestAutoLearnsAFivePointGapInMostRuns(t *testing.T) {
	t.Parallel()
	const runs, payments, last = 200, 1200, 400
	approval := map[string]float64{"worse": 0.90, "better": 0.95}
	var shares []float64
	for run := range runs {
		stats := NewStats(StatsConfig{})
		r := NewRouter(stats, uint64(run))
		issuer := rand.New(rand.NewPCG(uint64(run), 1))
		procs := []Processor{{ID: "worse"}, {ID: "better"}}
		better := 0
		for i := range payments {
			scores, _ := r.score(procs, "seg", 1000, false)
			ordered, _ := r.auto(procs, scores, 0.1, map[string]float64{})
			chosen := ordered[0].ID
			o := Observation{ProcessorID: chosen, Segment: "seg", Class: retry.Approved}
			if issuer.Float64() >= approval[chosen] {
				o.Class, o.DeclineCode = retry.Soft, "do_not_honor"
			}
			stats.Observe(o)
			if i >= payments-last && chosen == "better" {
				better++
			}
		}
		shares = append(shares, float64(better)/last)
	}
	sort.Float64s(shares)
	inverted := sort.SearchFloat64s(shares, 0.5)
	low := sort.SearchFloat64s(shares, 0.7)
	t.Logf("share of the last %d payments to the better processor: median %.3f, tenth percentile %.3f; %d of %d runs under 70%%, %d under 50%%",
		last, shares[runs/2], shares[runs/10], low, runs, inverted)
	require.GreaterOrEqual(t, shares[runs/2], 0.85, "most runs send nearly all but the exploration share to the better processor")
	require.GreaterOrEqual(t, shares[runs/10], 0.8)
	require.LessOrEqual(t, low, runs/20, "at most 5% of runs send the better processor under 70%")
}
