package scoring

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMeasure(t *testing.T) {
	t.Parallel()
	perfect := Measure([]float64{0.9, 0.8, 0.2, 0.1}, []bool{true, true, false, false})
	require.InDelta(t, 1.0, perfect.AUC, 1e-12)
	backwards := Measure([]float64{0.1, 0.2, 0.8, 0.9}, []bool{true, true, false, false})
	require.InDelta(t, 0.0, backwards.AUC, 1e-12)
	ties := Measure([]float64{0.5, 0.5, 0.5, 0.5}, []bool{true, false, true, false})
	require.InDelta(t, 0.5, ties.AUC, 1e-12)
	require.InDelta(t, 0.25, ties.Brier, 1e-12)
	require.InDelta(t, math.Log(2), ties.LogLoss, 1e-12)
	require.Len(t, ties.Calibration, 1)
	require.InDelta(t, 0.5, ties.Calibration[0].Observed, 1e-12)
	require.InDelta(t, 0.5, ties.Positives, 1e-12)
}
