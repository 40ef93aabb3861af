package routing

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/route"
	"github.com/offsession/offsession/ent/schema/schematype"
)

// Input is what the router knows of an attempt.
type Input struct {
	PaymentID     string
	Amount        int64
	Currency      string
	Cadence       string
	Metadata      map[string]string
	PaymentMethod *ent.PaymentMethod
	Now           time.Time
}

// Plan is the router's answer: the processors to try in order. The first
// takes the attempt; the others are the cascade it fails over to, at once,
// on a technical failure.
type Plan struct {
	Processors []*ent.Processor
	Record     schematype.RoutingDecision
}

// Router plans attempts.
type Router struct {
	stats *Stats
	mu    sync.Mutex
	rng   *rand.Rand
}

// NewRouter returns a router on stats; seed makes its exploration
// repeatable.
func NewRouter(stats *Stats, seed uint64) *Router {
	return &Router{stats: stats, rng: rand.New(rand.NewPCG(seed, 0x726f757465))}
}

// Stats returns the router's statistics.
func (r *Router) Stats() *Stats { return r.stats }

// Segment is the segment of a payment method and currency: success rates
// are kept per segment.
func Segment(pm *ent.PaymentMethod, currency string) string {
	return fmt.Sprintf("%s/%s/%s/%s", pm.Brand, pm.Funding, pm.IssuingCountry, currency)
}

// Plan picks the processors of an attempt. db must read as the payment's
// account (or the system).
func (r *Router) Plan(ctx context.Context, db *ent.Client, in Input) (Plan, error) {
	var tokenOrder []string
	for _, t := range in.PaymentMethod.ProcessorTokens {
		tokenOrder = append(tokenOrder, t.ProcessorID)
	}
	procs, err := db.Processor.Query().
		Where(processor.IDIn(tokenOrder...), processor.AccountID(in.PaymentMethod.AccountID)).
		All(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("read processors: %w", err)
	}
	byID := map[string]*ent.Processor{}
	for _, p := range procs {
		byID[p.ID] = p
	}
	routes, err := db.Route.Query().
		Where(route.Enabled(true), route.AccountID(in.PaymentMethod.AccountID)).
		Order(ent.Asc(route.FieldPriority), ent.Asc(route.FieldID)).
		All(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("read routes: %w", err)
	}
	var rt *ent.Route
	for _, candidate := range routes {
		if Matches(candidate.Conditions, in) {
			rt = candidate
			break
		}
	}
	plan := Plan{Record: schematype.RoutingDecision{Strategy: "token_order"}}
	order := tokenOrder
	weights := map[string]int{}
	var why []string
	if rt != nil {
		plan.Record.RouteID, plan.Record.Strategy = rt.ID, string(rt.Strategy)
		order = nil
		for _, rp := range rt.Processors {
			order = append(order, rp.ProcessorID)
			weights[rp.ProcessorID] = rp.Weight
		}
		why = append(why, fmt.Sprintf("route %q (priority %d) matched", rt.Name, rt.Priority))
	} else {
		why = append(why, "no route matched: processors in the payment method's token order")
	}

	segment := Segment(in.PaymentMethod, in.Currency)
	var healthy, eliminated []*ent.Processor
	var probe *ent.Processor
	seen := map[string]bool{}
	for _, id := range order {
		if seen[id] {
			continue
		}
		seen[id] = true
		p, holds := byID[id]
		switch {
		case !holds:
			plan.Record.Candidates = append(plan.Record.Candidates, schematype.RoutingCandidate{ProcessorID: id, Reason: "holds no token for the payment method"})
			continue
		case !p.Enabled:
			plan.Record.Candidates = append(plan.Record.Candidates, schematype.RoutingCandidate{ProcessorID: id, Reason: "disabled"})
			continue
		}
		isOut, probeNow := r.stats.Health(id, in.Now)
		switch {
		case probeNow && probe == nil:
			probe = p
		case isOut:
			eliminated = append(eliminated, p)
		default:
			healthy = append(healthy, p)
		}
	}
	if rt != nil && len(healthy)+len(eliminated) == 0 && probe == nil {
		// None of the route's processors can take the card: any that can.
		why = append(why, "none of the route's processors can take the card: falling back to the token order")
		plan.Record.Strategy = "token_order"
		for _, id := range tokenOrder {
			if p, ok := byID[id]; ok && p.Enabled {
				healthy = append(healthy, p)
			}
		}
		rt = nil
	}

	scores, reasons := r.score(healthy, segment, in.Amount, rt != nil && rt.CostAware)
	propensity := map[string]float64{}
	switch {
	case rt == nil || rt.Strategy == route.StrategyPriority:
		// Keep the order.
		for i, p := range healthy {
			propensity[p.ID] = boolFloat(i == 0)
		}
	case rt.Strategy == route.StrategyVolumeSplit:
		healthy = volumeSplit(healthy, weights, in.PaymentID, propensity)
		why = append(why, "volume split, chosen by the payment's ID so its retries stay on it")
	case rt.Strategy == route.StrategyAuto:
		var explored bool
		healthy, explored = r.auto(healthy, scores, rt.ExplorationShare, propensity)
		if explored {
			why = append(why, fmt.Sprintf("exploring (share %.2f): not the best-scored processor", rt.ExplorationShare))
		} else {
			why = append(why, "the best-scored processor")
		}
	}
	ordered := healthy
	if probe != nil {
		ordered = append([]*ent.Processor{probe}, ordered...)
		why = append(why, fmt.Sprintf("%s is eliminated after technical failures: this attempt probes it, with the others as fallback", probe.ID))
		propensity = map[string]float64{probe.ID: 1}
	}
	ordered = append(ordered, eliminated...)
	for i, p := range ordered {
		c := schematype.RoutingCandidate{ProcessorID: p.ID, Eligible: true, Score: scores[p.ID], Reason: reasons[p.ID], Propensity: propensity[p.ID]}
		switch {
		case p == probe:
			c.Reason = "probe of an eliminated processor"
		case slices.Contains(eliminated, p):
			c.Reason = "eliminated after technical failures: last resort"
		case i > 0 && c.Reason == "":
			c.Reason = "fallback"
		}
		plan.Record.Candidates = append(plan.Record.Candidates, c)
	}
	plan.Processors = ordered
	if len(ordered) > 0 {
		why = append(why, "chose "+ordered[0].ID)
	} else {
		why = append(why, "no enabled processor holds a token for the payment method")
	}
	plan.Record.Reason = strings.Join(why, "; ")
	return plan, nil
}

// score scores processors for a payment of amount in segment: their success
// rate there or, costAware, the expected value after their cost; with the
// reason for each score.
func (r *Router) score(ps []*ent.Processor, segment string, amount int64, costAware bool) (scores map[string]float64, reasons map[string]string) {
	scores, reasons = map[string]float64{}, map[string]string{}
	for _, p := range ps {
		rate, n := r.stats.Rate(p.ID, segment)
		scores[p.ID] = rate
		reasons[p.ID] = fmt.Sprintf("success rate %.3f over %d outcomes in %s", rate, n, segment)
		if costAware {
			cost := float64(amount)*float64(p.CostPercentBps)/10000 + float64(p.CostFixed)
			scores[p.ID] = rate*float64(amount) - cost
			reasons[p.ID] += fmt.Sprintf("; expected value %.1f after a cost of %.1f", scores[p.ID], cost)
		}
	}
	return scores, reasons
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// volumeSplit orders processors for a payment by weight: the first is drawn
// by the payment's ID, so every attempt of the payment draws the same.
func volumeSplit(ps []*ent.Processor, weights map[string]int, paymentID string, propensity map[string]float64) []*ent.Processor {
	total := 0
	for _, p := range ps {
		total += max(weights[p.ID], 0)
	}
	if total == 0 || len(ps) == 0 {
		return ps
	}
	pick := int(mix(paymentID) % uint64(total))
	chosen := 0
	for i, p := range ps {
		if pick < weights[p.ID] {
			chosen = i
			break
		}
		pick -= max(weights[p.ID], 0)
	}
	for _, p := range ps {
		propensity[p.ID] = float64(max(weights[p.ID], 0)) / float64(total)
	}
	rest := slices.Clone(ps)
	first := rest[chosen]
	rest = slices.Delete(rest, chosen, chosen+1)
	sort.SliceStable(rest, func(i, j int) bool { return weights[rest[i].ID] > weights[rest[j].ID] })
	return append([]*ent.Processor{first}, rest...)
}

// mix hashes an ID to 64 well-mixed bits: FNV-1a, then the SplitMix64
// finalizer, since IDs that differ only in their last characters must still
// spread evenly over the weights.
func mix(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// auto orders by score, best first, except that with probability
// exploration one of the others, drawn evenly, goes first.
func (r *Router) auto(ps []*ent.Processor, scores map[string]float64, exploration float64, propensity map[string]float64) ([]*ent.Processor, bool) {
	sorted := slices.Clone(ps)
	sort.SliceStable(sorted, func(i, j int) bool { return scores[sorted[i].ID] > scores[sorted[j].ID] })
	if len(sorted) < 2 {
		for _, p := range sorted {
			propensity[p.ID] = 1
		}
		return sorted, false
	}
	others := len(sorted) - 1
	propensity[sorted[0].ID] = 1 - exploration
	for _, p := range sorted[1:] {
		propensity[p.ID] = exploration / float64(others)
	}
	r.mu.Lock()
	explore := r.rng.Float64() < exploration
	pick := 1 + r.rng.IntN(others)
	r.mu.Unlock()
	if !explore {
		return sorted, false
	}
	chosen := sorted[pick]
	rest := slices.Delete(slices.Clone(sorted), pick, pick+1)
	return append([]*ent.Processor{chosen}, rest...), true
}

// Matches reports whether a payment meets a route's conditions.
func Matches(c schematype.RouteConditions, in Input) bool {
	pm := in.PaymentMethod
	switch {
	case len(c.Currencies) > 0 && !slices.Contains(c.Currencies, in.Currency):
		return false
	case len(c.Brands) > 0 && !slices.Contains(c.Brands, string(pm.Brand)):
		return false
	case len(c.Fundings) > 0 && !slices.Contains(c.Fundings, string(pm.Funding)):
		return false
	case len(c.IssuingCountries) > 0 && !slices.Contains(c.IssuingCountries, pm.IssuingCountry):
		return false
	case c.AmountMin != nil && in.Amount < *c.AmountMin:
		return false
	case c.AmountMax != nil && in.Amount > *c.AmountMax:
		return false
	case len(c.Cadences) > 0 && !slices.Contains(c.Cadences, in.Cadence):
		return false
	}
	for k, v := range c.Metadata {
		if in.Metadata[k] != v {
			return false
		}
	}
	return true
}
