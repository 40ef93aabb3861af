package graph_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// simulators makes n simulator processors in account a, with settings.
func simulators(t *testing.T, b *apitest.Bundle, key string, settings ...map[string]any) []string {
	t.Helper()
	var out []string
	for i, s := range settings {
		r := b.Do(t, key, `mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": fmt.Sprintf("Simulator %d", i+1), "type": "simulator", "settings": s,
		}})
		r.RequireOK(t)
		out = append(out, r.String(t, "createProcessor.id"))
	}
	return out
}

// multiChain makes a customer whose card has a token on every processor.
func multiChain(t *testing.T, b *apitest.Bundle, key string, procs []string, token, brand, funding, country string) apitest.Chain {
	t.Helper()
	r := b.Do(t, key, `mutation { createCustomer(input: {name: "Multi", country: "US"}) { id } }`, nil)
	r.RequireOK(t)
	c := apitest.Chain{CustomerID: r.String(t, "createCustomer.id")}
	var tokens []any
	for _, p := range procs {
		tokens = append(tokens, map[string]any{"processorID": p, "token": token})
	}
	r = b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"customerID": c.CustomerID, "processorTokens": tokens,
		"card": map[string]any{"brand": brand, "funding": funding, "last4": "4242", "expMonth": 12, "expYear": time.Now().Year() + 2,
			"issuingCountry": country, "fingerprint": "fp_" + c.CustomerID},
	}})
	r.RequireOK(t)
	c.PaymentMethodID = r.String(t, "savePaymentMethod.id")
	r = b.Do(t, key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": apitest.MandateInput(c, "recurring", 1_000_000, "usd")})
	r.RequireOK(t)
	c.MandateID = r.String(t, "createMandate.id")
	return c
}

// payOnce creates a payment, runs it, and returns its processor and status.
func payOnce(t *testing.T, b *apitest.Bundle, key string, c apitest.Chain) (processorID, status string, failovers int) {
	t.Helper()
	r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryStrategy": "none"}))
	r.RequireOK(t)
	id := r.String(t, "createOffSessionPayment.id")
	b.RunDue(t)
	r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { status attempts(first: 5) { edges { node { processorID routing { strategy reason } } } } } } }`, map[string]any{"id": id})
	r.RequireOK(t)
	reason := r.String(t, "node.attempts.edges.0.node.routing.reason")
	for i := 0; i+len("failed over") <= len(reason); i++ {
		if reason[i:i+len("failed over")] == "failed over" {
			failovers++
		}
	}
	return r.String(t, "node.attempts.edges.0.node.processorID"), r.String(t, "node.status"), failovers
}

// TestRoutingSurvivesAnOutage: three processors; the first goes down mid-
// run. No payment fails for it: attempts fail over within the attempt. It
// is eliminated after a bounded number of technical failures, and comes back
// after a probe succeeds.
func TestRoutingSurvivesAnOutage(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		const probeInterval = 400 * time.Millisecond
		b := apitest.NewWith(t, st, func(c *app.Config) { c.ProbeInterval = probeInterval })
		key := b.A.Keys.Secret
		procs := simulators(t, b, key, map[string]any{}, map[string]any{}, map[string]any{})
		r := b.Do(t, key, `mutation($ps: [RouteProcessorInput!]) { createRoute(input: {name: "main", priority: 1, strategy: priority, processors: $ps}) { id } }`,
			map[string]any{"ps": []any{map[string]any{"processorID": procs[0]}, map[string]any{"processorID": procs[1]}, map[string]any{"processorID": procs[2]}}})
		r.RequireOK(t)
		c := multiChain(t, b, key, procs, "pm_card_visa", "visa", "credit", "US")
		setOutage := func(id, on string) {
			r := b.Do(t, key, `mutation($id: ID!, $s: StringMap) { updateProcessor(id: $id, input: {settings: $s}) { id } }`, map[string]any{"id": id, "s": map[string]any{"outage": on}})
			r.RequireOK(t)
		}
		for range 10 {
			proc, status, _ := payOnce(t, b, key, c)
			require.Equal(t, procs[0], proc)
			require.Equal(t, "succeeded", status)
		}
		setOutage(procs[0], "true")
		hitDown := 0
		outageStart := time.Now()
		for i := range 30 {
			proc, status, failovers := payOnce(t, b, key, c)
			require.Equal(t, "succeeded", status, "payment %d during the outage", i)
			require.Equal(t, procs[1], proc, "failed over to the next processor")
			hitDown += failovers
		}
		// Three technical failures eliminate it; after that it only gets a
		// probe per interval (each failing over, harmlessly).
		probes := int(time.Since(outageStart)/probeInterval) + 1
		require.LessOrEqual(t, hitDown, 3+probes, "the down processor is eliminated after 3 technical failures")
		r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on Processor { health { status recentTechnicalFailures } } } }`, map[string]any{"id": procs[0]})
		require.Equal(t, "eliminated", r.String(t, "node.health.status"))

		setOutage(procs[0], "false")
		time.Sleep(500 * time.Millisecond) // a probe falls due
		back := false
		for range 5 {
			proc, status, _ := payOnce(t, b, key, c)
			require.Equal(t, "succeeded", status)
			if proc == procs[0] {
				back = true
			}
		}
		require.True(t, back, "the processor takes attempts again after a probe succeeds")
		r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on Processor { health { status } } } }`, map[string]any{"id": procs[0]})
		require.Equal(t, "healthy", r.String(t, "node.health.status"))
	})
}

// TestAutoRoutingLearnsTheBetterProcessor: one processor approves 5 points
// less in one segment (95% against 100%). Within 1,200 payments, auto sends
// at least 70% of the last 400 to the better one, while exploration keeps
// measuring the other; declines for insufficient funds do not move the
// scores. The gap sits at the top of the scale so that this single run
// cannot stay inverted: at 90% against 95% about one run in seventy does
// for 400 payments (a 200-outcome window holds the gap to 1.9 standard
// errors), which routing's TestAutoLearnsAFivePointGapInMostRuns measures
// over 200 seeded runs.
func TestAutoRoutingLearnsTheBetterProcessor(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		procs := simulators(t, b, key,
			map[string]any{"decline_rate:visa/credit/US/usd": "0"},
			map[string]any{"decline_rate:visa/credit/US/usd": "0.05"})
		r := b.Do(t, key, `mutation($ps: [RouteProcessorInput!]) { createRoute(input: {name: "auto", priority: 1, strategy: auto, explorationShare: 0.1, processors: $ps}) { id } }`,
			map[string]any{"ps": []any{map[string]any{"processorID": procs[1]}, map[string]any{"processorID": procs[0]}}})
		r.RequireOK(t)
		c := multiChain(t, b, key, procs, "pm_card_visa", "visa", "credit", "US")
		const n, last = 1200, 400
		late := map[string]int{}
		for i := range n {
			proc, _, _ := payOnce(t, b, key, c)
			if i >= n-last {
				late[proc]++
			}
		}
		better := float64(late[procs[0]]) / last
		t.Logf("last %d payments: %.0f%% to the better processor", last, 100*better)
		require.GreaterOrEqual(t, better, 0.7, "auto prefers the processor that approves more")
		require.Positive(t, late[procs[1]], "exploration keeps measuring the other")

		health := func() (float64, float64) {
			r := b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on Processor { health { successRate scoredOutcomes } } } }`, map[string]any{"id": procs[0]})
			r.RequireOK(t)
			return r.Get(t, "node.health.successRate").(float64), r.Get(t, "node.health.scoredOutcomes").(float64)
		}
		rate, scored := health()
		nsf := multiChain(t, b, key, procs, "pm_card_chargeDeclinedInsufficientFunds", "visa", "credit", "US")
		for range 30 {
			_, status, _ := payOnce(t, b, key, nsf)
			require.Equal(t, "failed", status)
		}
		rate2, scored2 := health()
		require.Equal(t, rate, rate2, "insufficient funds does not move the score")
		require.Equal(t, scored, scored2)
	})
}

// TestVolumeSplitRetriesStayOnTheirProcessor: every attempt of a payment
// goes to the processor its ID drew, and each attempt says why.
func TestVolumeSplitRetriesStayOnTheirProcessor(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		procs := simulators(t, b, key, map[string]any{}, map[string]any{})
		r := b.Do(t, key, `mutation($ps: [RouteProcessorInput!]) { createRoute(input: {name: "split", priority: 1, strategy: volume_split, processors: $ps}) { id strategy processors { processorID weight } } }`,
			map[string]any{"ps": []any{map[string]any{"processorID": procs[0], "weight": 70}, map[string]any{"processorID": procs[1], "weight": 30}}})
		r.RequireOK(t)
		clk := clock(t, b, key)
		pol := policy(t, b, key, map[string]any{"name": "3", "strategy": "scheduled", "schedule": []string{"1d", "2d", "3d"}})
		var ids []string
		for range 20 {
			c := multiChainOn(t, b, key, procs, clk)
			p := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryPolicyID": pol}))
			p.RequireOK(t)
			ids = append(ids, p.String(t, "createOffSessionPayment.id"))
		}
		advance(t, b, key, clk, t0.Add(5*24*time.Hour))
		used := map[string]int{}
		for _, id := range ids {
			r := b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { attempts(first: 10) { edges { node { processorID routing { strategy reason candidates { processorID score propensity } } } } } } } }`, map[string]any{"id": id})
			r.RequireOK(t)
			edges := r.Get(t, "node.attempts.edges").([]any)
			require.Len(t, edges, 4, id)
			first := ""
			for _, e := range edges {
				n := e.(map[string]any)["node"].(map[string]any)
				if first == "" {
					first = n["processorID"].(string)
				}
				require.Equal(t, first, n["processorID"], "payment %s: its retries stay on its processor", id)
				routingRec := n["routing"].(map[string]any)
				require.Equal(t, "volume_split", routingRec["strategy"])
				require.NotEmpty(t, routingRec["candidates"])
			}
			used[first]++
		}
		require.Len(t, used, 2, "both processors take payments")
	})
}

// multiChainOn is multiChain for a customer on a test clock, declining.
func multiChainOn(t *testing.T, b *apitest.Bundle, key string, procs []string, clk string) apitest.Chain {
	t.Helper()
	r := b.Do(t, key, `mutation($clk: ID) { createCustomer(input: {name: "Multi", testClockID: $clk}) { id } }`, map[string]any{"clk": clk})
	r.RequireOK(t)
	c := apitest.Chain{CustomerID: r.String(t, "createCustomer.id")}
	var tokens []any
	for _, p := range procs {
		tokens = append(tokens, map[string]any{"processorID": p, "token": "pm_card_chargeDeclinedInsufficientFunds"})
	}
	r = b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"customerID": c.CustomerID, "processorTokens": tokens,
		"card": map[string]any{"brand": "amex", "funding": "credit", "last4": "0005", "expMonth": 12, "expYear": time.Now().Year() + 2, "fingerprint": "fp_" + c.CustomerID},
	}})
	r.RequireOK(t)
	c.PaymentMethodID = r.String(t, "savePaymentMethod.id")
	r = b.Do(t, key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": apitest.MandateInput(c, "recurring", 1_000_000, "usd")})
	r.RequireOK(t)
	c.MandateID = r.String(t, "createMandate.id")
	return c
}

// TestRoutingStatisticsOnThePaymentsClock: the outcomes of payments on a
// test clock are observed at the clock's time, as the router reads them: a
// processor their technical failures eliminate is eliminated since then,
// not since the wall clock's now.
func TestRoutingStatisticsOnThePaymentsClock(t *testing.T) {
	t.Parallel()
	b := apitest.New(t, storagetest.Open(t, storagetest.Dialects()[0]))
	key := b.A.Keys.Secret
	procs := simulators(t, b, key, map[string]any{"outage": "true"}, map[string]any{})
	r := b.Do(t, key, `mutation($ps: [RouteProcessorInput!]) { createRoute(input: {name: "main", priority: 1, strategy: priority, processors: $ps}) { id } }`,
		map[string]any{"ps": []any{map[string]any{"processorID": procs[0]}, map[string]any{"processorID": procs[1]}}})
	r.RequireOK(t)
	clk := clock(t, b, key)
	c := multiChainOn(t, b, key, procs, clk)
	for range 4 {
		b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryStrategy": "none"})).RequireOK(t)
	}
	advance(t, b, key, clk, t0.Add(time.Hour))
	r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on Processor { health { status eliminatedSince } } } }`, map[string]any{"id": procs[0]})
	r.RequireOK(t)
	require.Equal(t, "eliminated", r.String(t, "node.health.status"))
	since, err := time.Parse(time.RFC3339, r.String(t, "node.health.eliminatedSince"))
	require.NoError(t, err)
	require.False(t, since.Before(t0.Add(-time.Second)) || since.After(t0.Add(time.Hour)), "eliminated at %s, on the clock's time (%s to %s)", since, t0, t0.Add(time.Hour))
}
