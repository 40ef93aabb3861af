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
