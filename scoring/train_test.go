package scoring

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// synthetic makes rows whose approval depends on a few features, as a
// payday and an hour would.
func synthetic(n int, seed uint64) []Row {
	r := rand.New(rand.NewPCG(seed, 1))
	rows := make([]Row, n)
	for i := range rows {
		x := make([]uint8, NumFeatures)
		for f := range x {
			x[f] = uint8(r.IntN(Cardinality[f]))
		}
		p := 0.15
		if x[6] == 5 || x[6] == 6 { // Friday, Saturday
			p += 0.35
		}
		if x[5] >= 9 && x[5] <= 17 {
			p += 0.15
		}
		if x[0] == 1 && x[7] == 1 { // insufficient funds on the 2nd
			p += 0.3
		}
		rows[i] = Row{X: x, Approved: r.Float64() < p}
	}
	return rows
}

// TestCompiledModelAgreesWithGolearn: the compact model gives golearn's own
// probabilities, to 1e-12, for every row of a held-out set.
func TestCompiledModelAgreesWithGolearn(t *testing.T) {
	t.Parallel()
	train := synthetic(20000, 1)
	held := synthetic(1500, 2)
	bag, err := Train(train, TrainConfig{Trees: 4, MinLeaf: 50, Seed: 7})
	require.NoError(t, err)
	m := bag.Compile()
	b, err := m.Marshal()
	require.NoError(t, err)
	m, err = Unmarshal(b)
	require.NoError(t, err)
	distinct := map[float64]bool{}
	for _, r := range held {
		want, err := bag.PredictProba(r.X)
		require.NoError(t, err)
		got := m.Score(r.X)
		require.InDelta(t, want, got, 1e-12, "row %v", r.X)
		distinct[got] = true
	}
	require.Greater(t, len(distinct), 20, "the model tells rows apart")

	again, err := Train(train, TrainConfig{Trees: 4, MinLeaf: 50, Seed: 7})
	require.NoError(t, err)
	for _, r := range held[:200] {
		require.Equal(t, m.Score(r.X), again.Compile().Score(r.X), "the same rows and seed give the same model")
	}
}

// TestShrinkPullsSmallNodesToTheirParents: a node of few rows keeps little
// of its own share, one of many keeps most of it, and a branch no row took
// takes its parent's; the root stays.
func TestShrinkPullsSmallNodesToTheirParents(t *testing.T) {
	t.Parallel()
	f := 1 // advice_wait: two values
	m := &Model{Trees: []Tree{{
		Feature: []int8{int8(f), -1, -1},
		First:   []int32{1, 0, 0},
		P:       []float64{0.2, 1.0, 0.0},
		N:       []int32{1000, 5, 0},
	}}}
	m.Shrink(50)
	p := m.Trees[0].P
	require.InDelta(t, 0.2, p[0], 1e-12)
	require.InDelta(t, (5*1.0+50*0.2)/55, p[1], 1e-12, "5 rows say little more than the parent")
	require.InDelta(t, 0.2, p[2], 1e-12, "no rows: the parent's share")

	big := &Model{Trees: []Tree{{Feature: []int8{int8(f), -1, -1}, First: []int32{1, 0, 0}, P: []float64{0.2, 0.9, 0.1}, N: []int32{20000, 10000, 10000}}}}
	big.Shrink(50)
	require.InDelta(t, 0.9, big.Trees[0].P[1], 0.004, "10,000 rows keep their own share")
}

// TestShrinkImprovesTheHeldOutFit: on rows the model was not trained on,
// the shrunk model fits better (log loss) than the raw leaves, at a small
// history and a large one.
func TestShrinkImprovesTheHeldOutFit(t *testing.T) {
	t.Parallel()
	held := synthetic(5000, 12)
	for _, n := range []int{1000, 20000} {
		bag, err := Train(synthetic(n, 11), TrainConfig{Seed: 3})
		require.NoError(t, err)
		raw := bag.Compile()
		shrunk := bag.Compile()
		shrunk.Shrink(ShrinkDefault)
		r, s := Evaluate(raw, held), Evaluate(shrunk, held)
		t.Logf("%d rows: log loss %.4f raw, %.4f shrunk; AUC %.4f, %.4f", n, r.LogLoss, s.LogLoss, r.AUC, s.AUC)
		require.Less(t, s.LogLoss, r.LogLoss)
	}
}
