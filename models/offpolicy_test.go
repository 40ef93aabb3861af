package models

import "testing"

// TestOffPolicyIntervalCountsEffectiveRows: one explored retry of tiny
// propensity carries almost all the weight; its outcome is the estimate,
// but one row cannot say it with confidence, so the interval stays wide.
func TestOffPolicyIntervalCountsEffectiveRows(t *testing.T) {
	t.Parallel()
	ws, rs := []float64{1000}, []float64{1}
	for range 100 {
		ws, rs = append(ws, 0.1), append(rs, 0)
	}
	e := snips(ws, rs)
	if e.Value < 0.98 || e.EffectiveRows > 1.1 {
		t.Fatalf("estimate %.3f on %.2f effective rows", e.Value, e.EffectiveRows)
	}
	if e.Lower > 0.5 {
		t.Fatalf("interval [%.3f, %.3f] from about one effective row", e.Lower, e.Upper)
	}
	// Many rows of equal weight: the interval is the rate's.
	ws, rs = nil, nil
	for i := range 400 {
		ws, rs = append(ws, 2), append(rs, float64(i%4/3)) // a quarter approved
	}
	if e := snips(ws, rs); e.Value != 0.25 || e.Lower < 0.2 || e.Upper > 0.3 {
		t.Fatalf("400 rows, a quarter approved: %.3f [%.3f, %.3f]", e.Value, e.Lower, e.Upper)
	}
}
