package retry

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/offsession/offsession/scoring"
)

// ActiveModel is an account's active retry model.
type ActiveModel struct {
	Version string
	Model   *scoring.Model
}

// ModelSource gives the active retry model of an account, or nil for none:
// the caller of a planner resolves it into Input.Model.
type ModelSource interface {
	Active(ctx context.Context, accountID string) (*ActiveModel, error)
}

// Defaults of SmartPlanner.
const (
	// SlotDefault is the spacing of candidate times.
	SlotDefault = time.Hour
	// MinGapDefault is the least time between two retries the plan makes.
	MinGapDefault = 6 * time.Hour
	// WearDefault discounts the chance of later retries after a decline,
	// for WearWindowDefault.
	WearDefault       = 0.85
	WearWindowDefault = 7 * 24 * time.Hour
	// SmoothDefault is how far on each side of a time the planner averages
	// the model's scores to score that time.
	SmoothDefault = 3 * time.Hour
	// AnchorDefault is how many standard errors better than the
	// heuristic's time the model must score another time before the
	// planner leaves the heuristic's (SmartPlanner.Anchor).
	AnchorDefault = 1.0
	// AttemptCostDefault is what an attempt costs, in recovered
	// payments (SmartPlanner.AttemptCost).
	AttemptCostDefault = 0.03
	// alternativesKept is how many runner-up times a decision records.
	alternativesKept = 3
)

// SmartPlanner picks the retry time the account's model scores best. It
// scores every candidate time (hourly) from the earliest allowed one to the
// end of the retry window, averages each score with those of the hours
// around it (Smooth), and picks the one that maximises the chance the
// payment is recovered within its remaining retries, not merely the best
// next slot: a plan of k retries is worth p(t) + (1 - p(t)) * V(k-1, after
// t), where a decline wears (Wear) the retries that follow within
// WearWindow, computed backwards over the slots (PlanValues). Without a
// model (Input.Model nil) it plans as the heuristic does: its one
// fallback. A share of decisions (Exploration)
// picks an allowed slot at random instead, and records the propensity, so
// the history stays fit to learn from.
type SmartPlanner struct {
	Exploration float64
	Slot        time.Duration
	MinGap      time.Duration
	// Wear multiplies the chances of the retries that follow a decline
	// within WearWindow: issuers tire of retries, for a while.
	Wear       float64
	WearWindow time.Duration
	// Smooth is how far on each side of a candidate time its neighbours'
	// scores are averaged into its own (SmoothDefault). A tree's leaves
	// split on the hour hold few rows, so single hours score too high or
	// too low by chance, and the best of hundreds of candidates is most
	// often one of those: the average is what the model knows of the
	// time.
	Smooth time.Duration
	// Anchor makes the heuristic the plan the model must beat: the
	// planner takes the time the model values most only when its plan is
	// worth more than the plan starting at the heuristic's time by more
	// than Anchor standard errors of the two scores, each from the rows
	// behind it (scoring.Model.Support). Where the history has little
	// support, or the model sees no clear difference, the heuristic's
	// time stands: the model improves on the heuristic where it knows
	// better, and cannot do much worse where it does not. Negative: the
	// model alone decides.
	Anchor float64
	// AttemptCost is what an attempt costs, in recovered payments: a plan
	// is worth what it recovers less what its attempts cost, a retry
	// worth less than its cost is not made, and when no retry is, the
	// planner stops.
	AttemptCost float64

	seed uint64
}

// NewSmartPlanner returns a smart planner; seed drives its exploration.
func NewSmartPlanner(exploration float64, seed uint64) *SmartPlanner {
	return &SmartPlanner{
		Exploration: exploration, Slot: SlotDefault, MinGap: MinGapDefault,
		Wear: WearDefault, WearWindow: WearWindowDefault, Smooth: SmoothDefault, Anchor: AnchorDefault,
		AttemptCost: AttemptCostDefault, seed: seed,
	}
}

// candidates are the planner's candidate times for in.
func (s *SmartPlanner) candidates(in Input) []time.Time {
	return CandidateSlots(in, s.Slot, s.MinGap)
}

// CandidateSlots are the times a retry may be planned at: on the slot
// (hourly), from the earliest allowed time, and at least minGap after the
// last attempt (a retry at once would meet the same answer), to the end of
// the retry window.
func CandidateSlots(in Input, slot, minGap time.Duration) []time.Time {
	start := in.Earliest
	if start.Before(in.Now) {
		start = in.Now
	}
	if gap := in.LastAttemptAt.Add(minGap); start.Before(gap) {
		start = gap
	}
	first := start.Truncate(slot)
	if first.Before(start) {
		first = first.Add(slot)
	}
	var out []time.Time
	for t := first; InWindow(t, in.RetryUntil); t = t.Add(slot) {
		out = append(out, t)
	}
	return out
}

// draw gives the decision on in its two uniform numbers: whether it
// explores, and which slot. They are a hash of the seed, the payment and
// the decision, not draws from a shared stream, so a decision's numbers do
// not depend on the order decisions are made in: a run is repeatable.
func (s *SmartPlanner) draw(in Input) (float64, float64) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d/%d", s.seed, in.PaymentID, in.RetriesUsed, in.LastAttemptAt.UnixNano())
	r := rand.New(rand.NewPCG(h.Sum64(), 0x736d617274))
	return r.Float64(), r.Float64()
}

// Plan implements Planner.
func (s *SmartPlanner) Plan(ctx context.Context, in Input) (Decision, error) {
	am := in.Model
	slots := s.candidates(in)
	if len(slots) == 0 {
		return stop(StopExceededRetryWindow, "no allowed time is left in the retry window"), nil
	}
	explore, pick := s.draw(in)
	h, err := HeuristicPlanner{}.Plan(ctx, in)
	if err != nil {
		return Decision{}, err
	}
	if am == nil || in.Scoring == nil {
		d := h
		if d.Stop {
			return d, nil
		}
		d.Record.Strategy = string(StrategySmart)
		d.Record.Reason = "no active retry model: the heuristic plans; " + d.Record.Reason
		d.Kind = KindNoModel
		if explore < s.Exploration {
			s.exploreRecord(&d, slots, pick, -1)
		} else if s.Exploration > 0 {
			p := 1 - s.Exploration
			d.Record.Propensity = &p
		}
		return d, nil
	}

	n := len(slots)
	p, rows := make([]float64, n), make([]float64, n)
	x := make([]uint8, 0, scoring.NumFeatures)
	for i, t := range slots {
		x = scoring.Features(in.Scoring, t, x)
		p[i], rows[i] = am.Model.Support(x)
	}
	// The variance of each score, from the rows behind it; a smoothed
	// score's is its mean's.
	for i := range rows {
		rows[i] = p[i] * (1 - p[i]) / (rows[i] + 1)
	}
	r := int(s.Smooth / s.Slot)
	p, vars := smooth(p, r, false), smooth(rows, r, true)
	k := max(in.MaxRetries-in.RetriesUsed, 1)
	gap := int((s.MinGap + s.Slot - 1) / s.Slot)
	value := PlanValues(p, k, gap, int(s.WearWindow/s.Slot), s.Wear, s.AttemptCost)
	chosen := 0
	for i := range value {
		if value[i] > value[chosen] {
			chosen = i
		}
	}
	rec := SchedulingDecision{
		Strategy:     string(StrategySmart),
		ModelVersion: am.Version,
		Reason: fmt.Sprintf("model %s scores %.3f around %s, the best of %d hourly times for a plan of %d retries (recovering an estimated %.2f)",
			am.Version, p[chosen], slots[chosen].In(location(in)).Format("Mon Jan 2 15:04 MST"), n, k, value[chosen]),
	}
	if value[chosen] <= 0 {
		return stop(StopRetriesExhausted, fmt.Sprintf("model %s values no retry above its cost (%.3f of a payment)", am.Version, s.AttemptCost)), nil
	}
	d := Decision{At: slots[chosen], Record: rec, Value: value[chosen], Kind: KindModel}
	best := chosen // the slot the model would pick
	if hi := slotOf(slots, h.At, s.Slot); s.Anchor >= 0 && !h.Stop && hi != chosen &&
		value[chosen]-value[hi] <= s.Anchor*valueStderr(p, vars, value, chosen, hi) {
		d.At, d.Value = h.At, value[hi]
		d.Record.Reason = fmt.Sprintf("the heuristic's time (%s): model %s values no other time clearly more (best %s, recovering an estimated %.2f against %.2f, within %.1f standard errors)",
			h.Record.Reason, am.Version, slots[chosen].In(location(in)).Format("Mon Jan 2 15:04 MST"), value[chosen], value[hi], s.Anchor)
		chosen, best = hi, -1
		d.Kind = KindAnchored
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return value[order[a]] > value[order[b]] })
	for _, i := range order {
		if i != chosen && len(d.Record.Alternatives) < alternativesKept {
			d.Record.Alternatives = append(d.Record.Alternatives, Alternative{At: slots[i], Score: p[i]})
		}
	}
	score := p[chosen]
	d.Record.Score = &score
	if explore < s.Exploration {
		s.exploreRecord(&d, slots, pick, best)
		sc := p[indexOf(slots, d.At)]
		d.Record.Score = &sc
	} else if s.Exploration > 0 {
		// The heuristic's time is off the slots exploration draws from.
		pr := 1 - s.Exploration
		if best >= 0 {
			pr += s.Exploration / float64(n)
		}
		d.Record.Propensity = &pr
	}
	return d, nil
}

// slotOf is the index of the slot t falls in (the nearest end when t is
// outside them).
func slotOf(slots []time.Time, t time.Time, slot time.Duration) int {
	return min(max(int(t.Sub(slots[0])/slot), 0), len(slots)-1)
}

// valueStderr is the standard error of the difference between the values
// of the plans starting at slots a and b, from the variances of their
// first scores: a plan at i is worth v = p + (1-p)·c, with c what the rest
// of the plan recovers, so an error in p moves v by (1-c) times as much.
// Later retries are planned again after each decline, with the history
// then known.
func valueStderr(p, vars, value []float64, a, b int) float64 {
	term := func(i int) float64 {
		c := 0.0
		if p[i] < 1 {
			c = (value[i] - p[i]) / (1 - p[i])
		}
		return (1 - c) * (1 - c) * vars[i]
	}
	return math.Sqrt(term(a) + term(b))
}

// PlanValues returns, for each slot i, the chance that a plan of k retries
// whose first is at slot i recovers the payment, when a retry at slot j
// succeeds with chance p[j], retries are at least gap slots apart, and a
// decline multiplies the chances of the retries less than window slots
// after it by wear: issuers tire of retries for a while, then forget (the
// networks count them over windows too). It works backwards over the slots:
// best[j][i] is the most a plan of j retries at slot i or later can
// recover, and a plan starting at i is worth p[i] + (1 - p[i]) *
// max(wear * best[j-1][i+gap], best[j-1][i+window]). (The best plan from
// i+gap on either starts within the window, and is worn, or is the best
// from i+window on.) So a decline wears the whole rest of the plan when the
// next retry comes within the window, and none of it when the next retry
// waits the window out: an approximation that keeps the search linear.
func PlanValues(p []float64, k, gap, window int, wear, cost float64) []float64 {
	n := len(p)
	window = max(window, gap)
	best := make([]float64, n+window+1)
	next := make([]float64, n+window+1)
	value := make([]float64, n)
	for j := 1; j <= k; j++ {
		for i := n - 1; i >= 0; i-- {
			v := p[i] + (1-p[i])*max(wear*best[min(i+gap, n)], best[min(i+window, n)], 0) - cost
			if j == k {
				value[i] = v
			}
			next[i] = max(v, next[i+1])
		}
		best, next = next, best
		clear(next)
	}
	return value
}

// exploreRecord replaces a decision's time with a random allowed slot, and
// records the chance it had of being picked.
func (s *SmartPlanner) exploreRecord(d *Decision, slots []time.Time, u float64, best int) {
	i := min(int(u*float64(len(slots))), len(slots)-1)
	d.At = slots[i]
	pr := s.Exploration / float64(len(slots))
	if i == best {
		pr += 1 - s.Exploration
	}
	d.Record.Explored = true
	d.Kind = KindExplored
	d.Record.Propensity = &pr
	d.Record.Reason = fmt.Sprintf("exploring: a random allowed time (chance %.4f) instead of %s", pr, d.Record.Reason)
}

func indexOf(slots []time.Time, t time.Time) int {
	for i, s := range slots {
		if s.Equal(t) {
			return i
		}
	}
	return 0
}

func location(in Input) *time.Location {
	if in.Location != nil {
		return in.Location
	}
	return time.UTC
}

// smooth returns the mean of each score with its r neighbours on each side
// (fewer at the ends); with variance, the variance of that mean when p
// are independent scores' variances.
func smooth(p []float64, r int, variance bool) []float64 {
	if r <= 0 {
		return p
	}
	out := make([]float64, len(p))
	sum, n := 0.0, 0
	lo, hi := 0, 0 // the window is p[lo:hi]
	for i := range p {
		for hi < len(p) && hi <= i+r {
			sum += p[hi]
			hi++
			n++
		}
		for lo < i-r {
			sum -= p[lo]
			lo++
			n--
		}
		out[i] = sum / float64(n)
		if variance {
			out[i] /= float64(n)
		}
	}
	return out
}
