package routing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
)

// TestDecideOnThePaymentsClock: deciding is a pure function of the routes,
// the processors and the statistics, read at the payment's time. Three
// technical failures at t eliminate a processor (it goes last); the
// payment's clock, not the wall clock, says when its probe is due; a
// successful probe brings it back. Processors without a token, disabled or
// not configured are candidates with their reason, never chosen.
func TestDecideOnThePaymentsClock(t *testing.T) {
	t.Parallel()
	const probeEvery = time.Minute
	stats := routing.NewStats(routing.StatsConfig{EliminateAfter: 3, HealthWindow: 10, ProbeInterval: probeEvery})
	r := routing.NewRouter(stats, 1)
	card := routing.Card{Brand: "visa", Funding: "credit", IssuingCountry: "US", TokenOrder: []string{"prc_a", "prc_b", "prc_off", "prc_gone"}}
	procs := map[string]routing.Processor{
		"prc_a":   {ID: "prc_a", Enabled: true},
		"prc_b":   {ID: "prc_b", Enabled: true},
		"prc_off": {ID: "prc_off"},
		"prc_c":   {ID: "prc_c", Enabled: true}, // holds no token for the card
	}
	routes := []routing.Route{{
		ID: "rte_1", Name: "all", Priority: 1, Strategy: routing.Priority,
		Processors: []schematype.RouteProcessor{{ProcessorID: "prc_c"}, {ProcessorID: "prc_a"}, {ProcessorID: "prc_off"}, {ProcessorID: "prc_b"}},
	}}
	// A test clock far from the wall clock's time.
	t0 := time.Date(2031, 6, 1, 12, 0, 0, 0, time.UTC)
	decide := func(at time.Time) routing.Plan {
		return r.Decide(routing.Input{PaymentID: "osp_1", Amount: 1000, Currency: "usd", Card: card, Now: at}, routes, procs)
	}
	reasons := func(p routing.Plan) map[string]string {
		m := map[string]string{}
		for _, c := range p.Record.Candidates {
			m[c.ProcessorID] = c.Reason
		}
		return m
	}

	plan := decide(t0)
	require.Equal(t, []string{"prc_a", "prc_b"}, plan.Processors, "the route's order, eligible processors only")
	require.Equal(t, "rte_1", plan.Record.RouteID)
	require.Equal(t, "holds no token for the payment method", reasons(plan)["prc_c"])
	require.Equal(t, "disabled", reasons(plan)["prc_off"])

	seg := routing.Segment(card, "usd")
	for i := range 3 {
		stats.Observe(routing.Observation{ProcessorID: "prc_a", Segment: seg, At: t0.Add(time.Duration(i) * time.Second), Class: retry.Technical})
	}
	plan = decide(t0.Add(10 * time.Second))
	require.Equal(t, []string{"prc_b", "prc_a"}, plan.Processors, "eliminated: last resort")
	require.Contains(t, reasons(plan)["prc_a"], "eliminated")

	plan = decide(t0.Add(probeEvery))
	require.Equal(t, []string{"prc_a", "prc_b"}, plan.Processors, "a probe is due on the payment's clock")
	require.Equal(t, "probe of an eliminated processor", reasons(plan)["prc_a"])
	plan = decide(t0.Add(probeEvery + time.Second))
	require.Equal(t, "prc_b", plan.Processors[0], "one probe per interval")

	stats.Observe(routing.Observation{ProcessorID: "prc_a", Segment: seg, At: t0.Add(probeEvery), Class: retry.Approved})
	plan = decide(t0.Add(probeEvery + 2*time.Second))
	require.Equal(t, []string{"prc_a", "prc_b"}, plan.Processors, "the probe went through: back in its place")
	require.NotContains(t, reasons(plan)["prc_a"], "eliminated")
}

// TestDecideWithoutAMatchingRoute: no route matches, so the processors go
// in the card's token order; a route whose processors cannot take the
// card falls back to it too.
func TestDecideWithoutAMatchingRoute(t *testing.T) {
	t.Parallel()
	r := routing.NewRouter(routing.NewStats(routing.StatsConfig{}), 1)
	card := routing.Card{Brand: "mastercard", Funding: "debit", IssuingCountry: "GB", TokenOrder: []string{"prc_b", "prc_a"}}
	procs := map[string]routing.Processor{"prc_a": {ID: "prc_a", Enabled: true}, "prc_b": {ID: "prc_b", Enabled: true}}
	in := routing.Input{PaymentID: "osp_2", Amount: 500, Currency: "gbp", Card: card, Now: time.Unix(0, 0)}

	eur := []routing.Route{{ID: "rte_eur", Name: "eur", Strategy: routing.Priority, Conditions: schematype.RouteConditions{Currencies: []string{"eur"}},
		Processors: []schematype.RouteProcessor{{ProcessorID: "prc_a"}}}}
	plan := r.Decide(in, eur, procs)
	require.Equal(t, []string{"prc_b", "prc_a"}, plan.Processors)
	require.Equal(t, "token_order", plan.Record.Strategy)
	require.Empty(t, plan.Record.RouteID)

	elsewhere := []routing.Route{{ID: "rte_x", Name: "x", Strategy: routing.Priority,
		Processors: []schematype.RouteProcessor{{ProcessorID: "prc_z"}}}}
	plan = r.Decide(in, elsewhere, procs)
	require.Equal(t, []string{"prc_b", "prc_a"}, plan.Processors)
	require.Contains(t, plan.Record.Reason, "falling back to the token order")
}
