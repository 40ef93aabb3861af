package scoring

import (
	"math"
	"sort"
)

// Metrics are how well a retry model's probabilities fit held-out
// outcomes, and what it would recover.
type Metrics struct {
	Rows int `json:"rows"`
	// Positives is the share of approvals.
	Positives float64 `json:"positives"`
	// AUC is the chance a random approval scores above a random decline.
	AUC float64 `json:"auc"`
	// AUCLower is the lower end of the AUC's 95% interval: above 0.5, the
	// model ranks held-out retries better than chance with confidence.
	AUCLower float64 `json:"auc_lower"`
	// Brier is the mean squared error of the probabilities.
	Brier float64 `json:"brier"`
	// LogLoss is the mean negative log likelihood (probabilities clipped
	// to [1e-6, 1-1e-6]).
	LogLoss float64 `json:"log_loss"`
	// Calibration compares predicted and observed approval by bucket of
	// predicted probability.
	Calibration []Bucket `json:"calibration"`
	// Backtest estimates recovery on held-back failed payments.
	Backtest *Backtest `json:"backtest,omitempty"`
	// OffPolicy estimates, from the logged propensities, the approval of
	// the first retries the model would plan, against the heuristic's.
	OffPolicy *OffPolicy `json:"off_policy,omitempty"`
}

// OffPolicy is an off-policy estimate, on held-out first retries, of the
// approval rate of the retries a policy would plan: self-normalised
// inverse propensity weighting, where a logged retry counts for the
// policy when it fell within Kernel of the time the policy picks, weighted
// by the policy's chance of that hour over the logging decision's
// recorded propensity. Intervals are 95%.
type OffPolicy struct {
	Decisions int    `json:"decisions"`
	Kernel    string `json:"kernel"`
	// Logged is the approval rate of the logged first retries.
	Logged float64 `json:"logged"`
	// Model and Heuristic are the estimates for the model's plans and the
	// heuristic's.
	Model     Estimate `json:"model"`
	Heuristic Estimate `json:"heuristic"`
}

// Estimate is one policy's off-policy estimate.
type Estimate struct {
	// Matched counts the logged retries that count for the policy, and
	// EffectiveRows what their weights are worth in unweighted rows.
	Matched       int     `json:"matched"`
	EffectiveRows float64 `json:"effective_rows"`
	Value         float64 `json:"value"`
	Lower         float64 `json:"lower"`
	Upper         float64 `json:"upper"`
}

// Bucket is one range of predicted probability.
type Bucket struct {
	Lower     float64 `json:"lower"`
	Upper     float64 `json:"upper"`
	Rows      int     `json:"rows"`
	Predicted float64 `json:"predicted"`
	Observed  float64 `json:"observed"`
}

// Backtest compares, on held-back failed payments, the recovery the model
// expects from its own plan with what it expects from the scheduled
// strategy's. Both are the model's estimates, not observed outcomes.
type Backtest struct {
	Payments          int     `json:"payments"`
	SmartRecovery     float64 `json:"smart_recovery"`
	ScheduledRecovery float64 `json:"scheduled_recovery"`
	Schedule          string  `json:"schedule"`
}

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
