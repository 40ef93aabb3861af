package scoring

import (
	"math"
	"sort"

	"github.com/offsession/offsession/ent/schema/schematype"
)

// Metrics are how well a model's probabilities fit held-out outcomes.
type Metrics = schematype.ModelMetrics

// Bucket is one range of predicted probability.
type Bucket = schematype.CalibrationBucket

// Evaluate scores rows with m and measures the fit.
func Evaluate(m *Model, rows []Row) Metrics {
	ps := make([]float64, len(rows))
	ys := make([]bool, len(rows))
	for i, r := range rows {
		ps[i], ys[i] = m.Score(r.X), r.Approved
	}
	return Measure(ps, ys)
}

// Measure computes the metrics of probabilities ps against outcomes ys.
func Measure(ps []float64, ys []bool) Metrics {
	mt := Metrics{Rows: len(ps)}
	if len(ps) == 0 {
		return mt
	}
	const eps = 1e-6
	pos := 0
	buckets := make([]Bucket, 10)
	for i := range buckets {
		buckets[i].Lower, buckets[i].Upper = float64(i)/10, float64(i+1)/10
	}
	for i, p := range ps {
		y := 0.0
		if ys[i] {
			y = 1
			pos++
		}
		mt.Brier += (p - y) * (p - y)
		q := math.Min(math.Max(p, eps), 1-eps)
		mt.LogLoss -= y*math.Log(q) + (1-y)*math.Log(1-q)
		b := &buckets[min(int(p*10), 9)]
		b.Rows++
		b.Predicted += p
		b.Observed += y
	}
	n := float64(len(ps))
	mt.Brier /= n
	mt.LogLoss /= n
	mt.Positives = float64(pos) / n
	for _, b := range buckets {
		if b.Rows > 0 {
			b.Predicted /= float64(b.Rows)
			b.Observed /= float64(b.Rows)
			mt.Calibration = append(mt.Calibration, b)
		}
	}
	mt.AUC = auc(ps, ys)
	mt.AUCLower, _ = AUCInterval(mt.AUC, pos, len(ps)-pos)
	return mt
}

// AUCInterval is the 95% interval of an AUC measured on pos positive and
// neg negative rows, from Hanley and McNeil's standard error (Radiology
// 143:29-36, 1982): the AUC's own spread, without a second model to pair
// it with. With no rows of one kind nothing is known: (0, 1).
func AUCInterval(a float64, pos, neg int) (lo, hi float64) {
	if pos == 0 || neg == 0 {
		return 0, 1
	}
	q1, q2 := a/(2-a), 2*a*a/(1+a)
	n1, n2 := float64(pos), float64(neg)
	v := (a*(1-a) + (n1-1)*(q1-a*a) + (n2-1)*(q2-a*a)) / (n1 * n2)
	se := math.Sqrt(math.Max(v, 0))
	return math.Max(a-1.96*se, 0), math.Min(a+1.96*se, 1)
}

// auc is the area under the ROC curve, by ranks, ties counted half.
func auc(ps []float64, ys []bool) float64 {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return ps[idx[a]] < ps[idx[b]] })
	var rankSum, pos float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && ps[idx[j]] == ps[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks are 1-based
		for k := i; k < j; k++ {
			if ys[idx[k]] {
				rankSum += avg
				pos++
			}
		}
		i = j
	}
	neg := float64(len(ps)) - pos
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}
