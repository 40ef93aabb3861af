package routing

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/offsession/offsession/ent/schema/schematype"
)

// Card is what the router knows of the payment method: the card and the
// processors holding a token for it, in the payment method's order.
type Card struct {
	Brand, Funding, IssuingCountry string
	TokenOrder                     []string
}

// Processor is what the router knows of a configured processor.
type Processor struct {
	ID             string
	Enabled        bool
	CostPercentBps int
	CostFixed      int64
}

// Strategy is how a route orders its processors.
type Strategy string

// The strategies of a route.
const (
	Priority    Strategy = "priority"
	VolumeSplit Strategy = "volume_split"
	Auto        Strategy = "auto"
)

// Route is an enabled route of the account.
type Route struct {
	ID, Name         string
	Priority         int
	Strategy         Strategy
	Conditions       schematype.RouteConditions
	Processors       []schematype.RouteProcessor
	ExplorationShare float64
	CostAware        bool
}

// Input is what the router knows of an attempt.
type Input struct {
	PaymentID string
	Amount    int64
	Currency  string
	Cadence   string
	Metadata  map[string]string
	Card      Card
	Now       time.Time
}

// Plan is the router's answer: the IDs of the processors to try in order.
// The first takes the attempt; the others are the cascade it fails over
// to, at once, on a technical failure.
type Plan struct {
	Processors []string
	Record     Decision
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

// Segment is the segment of a card and currency: success rates are kept
// per segment.
func Segment(c Card, currency string) string {
	return fmt.Sprintf("%s/%s/%s/%s", c.Brand, c.Funding, c.IssuingCountry, currency)
}

// Decide picks the processors of an attempt from the account's enabled
// routes, in priority order, and its processors (by ID): only those in the
// card's token order are eligible. It reads only the router's statistics: the caller loads
// (routing/routes does).
func (r *Router) Decide(in Input, routes []Route, byID map[string]Processor) Plan {
	tokenOrder := in.Card.TokenOrder
	var rt *Route
	for i := range routes {
		if Matches(routes[i].Conditions, in) {
			rt = &routes[i]
			break
		}
	}
	plan := Plan{Record: Decision{Strategy: "token_order"}}
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

	segment := Segment(in.Card, in.Currency)
	var healthy, eliminated []Processor
	var probe *Processor
	seen := map[string]bool{}
	for _, id := range order {
		if seen[id] {
			continue
		}
		seen[id] = true
		p, holds := byID[id]
		holds = holds && slices.Contains(tokenOrder, id)
		switch {
		case !holds:
			plan.Record.Candidates = append(plan.Record.Candidates, Candidate{ProcessorID: id, Reason: "holds no token for the payment method"})
			continue
		case !p.Enabled:
			plan.Record.Candidates = append(plan.Record.Candidates, Candidate{ProcessorID: id, Reason: "disabled"})
			continue
		}
		isOut, probeNow := r.stats.Health(id, in.Now)
		switch {
		case probeNow && probe == nil:
			probe = &p
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
	case rt == nil || rt.Strategy == Priority:
		// Keep the order.
		for i, p := range healthy {
			propensity[p.ID] = boolFloat(i == 0)
		}
	case rt.Strategy == VolumeSplit:
		healthy = volumeSplit(healthy, weights, in.PaymentID, propensity)
		why = append(why, "volume split, chosen by the payment's ID so its retries stay on it")
	case rt.Strategy == Auto:
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
		ordered = append([]Processor{*probe}, ordered...)
		why = append(why, fmt.Sprintf("%s is eliminated after technical failures: this attempt probes it, with the others as fallback", probe.ID))
		propensity = map[string]float64{probe.ID: 1}
	}
	ordered = append(ordered, eliminated...)
	for i, p := range ordered {
		c := Candidate{ProcessorID: p.ID, Eligible: true, Score: scores[p.ID], Reason: reasons[p.ID], Propensity: propensity[p.ID]}
		switch {
		case probe != nil && i == 0:
			c.Reason = "probe of an eliminated processor"
		case i >= len(ordered)-len(eliminated):
			c.Reason = "eliminated after technical failures: last resort"
		case i > 0 && c.Reason == "":
			c.Reason = "fallback"
		}
		plan.Record.Candidates = append(plan.Record.Candidates, c)
	}
	for _, p := range ordered {
		plan.Processors = append(plan.Processors, p.ID)
	}
	if len(ordered) > 0 {
		why = append(why, "chose "+ordered[0].ID)
	} else {
		why = append(why, "no enabled processor holds a token for the payment method")
	}
	plan.Record.Reason = strings.Join(why, "; ")
	return plan
}

// score scores processors for a payment of amount in segment: their success
// rate there or, costAware, the expected value after their cost; with the
// reason for each score.
func (r *Router) score(ps []Processor, segment string, amount int64, costAware bool) (scores map[string]float64, reasons map[string]string) {
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
func volumeSplit(ps []Processor, weights map[string]int, paymentID string, propensity map[string]float64) []Processor {
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
	return append([]Processor{first}, rest...)
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
func (r *Router) auto(ps []Processor, scores map[string]float64, exploration float64, propensity map[string]float64) ([]Processor, bool) {
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
	return append([]Processor{chosen}, rest...), true
}

// Matches reports whether a payment meets a route's conditions.
func Matches(c schematype.RouteConditions, in Input) bool {
	card := in.Card
	switch {
	case len(c.Currencies) > 0 && !slices.Contains(c.Currencies, in.Currency):
		return false
	case len(c.Brands) > 0 && !slices.Contains(c.Brands, card.Brand):
		return false
	case len(c.Fundings) > 0 && !slices.Contains(c.Fundings, card.Funding):
		return false
	case len(c.IssuingCountries) > 0 && !slices.Contains(c.IssuingCountries, card.IssuingCountry):
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
