package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/route"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
)

// Routing bench: an account with routeProcessors processors and routeCount
// routes, whose conditions use every kind of condition and whose strategies
// take turns. The bench's own payments (usd, visa credit US, unscheduled, no
// metadata) match none of the routes but the last, a catch-all on auto over
// every processor, so each of their decisions reads all the routes.
const (
	routeProcessors = 5
	routeCount      = 50
)

// routingSetup is what configureRouting made.
type routingSetup struct {
	processors []string
	// cards are payment methods with a token on every processor: the
	// bench's own first, then others that other routes match.
	cards []*ent.PaymentMethod
}

// configureRouting adds processors up to routeProcessors, routeCount routes,
// and cards holding a token on every processor, and makes the bundle's
// payments use the first of them.
func (b *bundle) configureRouting(ctx context.Context) (routingSetup, error) {
	var set routingSetup
	set.processors = append(set.processors, b.prc)
	for i := len(set.processors); i < routeProcessors; i++ {
		p, err := b.proc.Processors.Create(b.ctx, processors.CreateInput{Name: fmt.Sprintf("Simulator %d", i+1), Type: processor.TypeSimulator})
		if err != nil {
			return set, err
		}
		set.processors = append(set.processors, p.ID)
	}
	var tokens []schematype.ProcessorToken
	for _, id := range set.processors {
		tokens = append(tokens, schematype.ProcessorToken{ProcessorID: id, Token: "pm_card_visa", NetworkTransactionID: "ntid_bench"})
	}
	for i, card := range []struct {
		brand   paymentmethod.Brand
		funding paymentmethod.Funding
		country string
	}{
		{paymentmethod.BrandVisa, paymentmethod.FundingCredit, "US"},
		{paymentmethod.BrandMastercard, paymentmethod.FundingDebit, "GB"},
		{paymentmethod.BrandAmex, paymentmethod.FundingCredit, "DE"},
		{paymentmethod.BrandVisa, paymentmethod.FundingPrepaid, "FR"},
	} {
		pm, err := b.proc.Customers.SavePaymentMethod(b.ctx, customers.SavePaymentMethodInput{
			CustomerID: b.cus,
			Card: customers.CardDetailsInput{Brand: card.brand, Funding: card.funding, Last4: "4242", ExpMonth: 12,
				ExpYear: time.Now().Year() + 2, IssuingCountry: &card.country, Fingerprint: fmt.Sprintf("fp_routing_%d", i)},
			ProcessorTokens: tokens,
		})
		if err != nil {
			return set, err
		}
		set.cards = append(set.cards, pm)
	}
	text := "bench"
	m, err := b.proc.Customers.CreateMandate(b.ctx, customers.CreateMandateInput{
		CustomerID: b.cus, PaymentMethodID: set.cards[0].ID, Usage: mandate.UsageUnscheduled,
		Terms:      customers.MandateTermsInput{Text: &text, Version: "1", TimingAndFrequency: "x", AmountDetermination: "x", CancellationPolicy: "x"},
		Acceptance: customers.MandateAcceptanceInput{Type: mandate.AcceptanceTypeOffline, AcceptedAt: time.Now().Add(-time.Hour)},
		Limits:     customers.MandateLimitsInput{UseLimit: mandate.UseLimitMultiUse, MaxAmount: 1_000_000, Currency: "usd"},
	})
	if err != nil {
		return set, err
	}
	b.pm, b.mdt = set.cards[0].ID, m.ID

	for i := range routeCount - 1 {
		c, excludes := benchConditions(i)
		if !excludes {
			return set, fmt.Errorf("route %d would take the bench's payments", i)
		}
		strategy := []route.Strategy{route.StrategyPriority, route.StrategyVolumeSplit, route.StrategyAuto}[i%3]
		n := 2 + i%(routeProcessors-1) // 2 to 5 processors
		var procs []schematype.RouteProcessor
		for j := range n {
			procs = append(procs, schematype.RouteProcessor{ProcessorID: set.processors[(i+j)%len(set.processors)], Weight: 10 * (n - j)})
		}
		if _, err := b.proc.Routes.Create(b.ctx, routes.Input{
			Name: ptr(fmt.Sprintf("route %d", i+1)), Priority: ptr(i + 1), Conditions: &c, Strategy: &strategy, Processors: procs,
		}); err != nil {
			return set, err
		}
	}
	var all []schematype.RouteProcessor
	for _, id := range set.processors {
		all = append(all, schematype.RouteProcessor{ProcessorID: id})
	}
	if _, err := b.proc.Routes.Create(b.ctx, routes.Input{
		Name: ptr("everything else"), Priority: ptr(routeCount), Conditions: &schematype.RouteConditions{},
		Strategy: ptr(route.StrategyAuto), Processors: all,
	}); err != nil {
		return set, err
	}
	return set, nil
}

// benchConditions are the conditions of route i, and whether they exclude
// the bench's own payments. Each route has one or two conditions; one
// always excludes.
func benchConditions(i int) (schematype.RouteConditions, bool) {
	var c schematype.RouteConditions
	currencies := []string{"eur", "gbp", "jpy", "cad", "aud", "chf"}
	switch i % 7 {
	case 0:
		c.Currencies = []string{currencies[i%len(currencies)], currencies[(i+1)%len(currencies)]}
		c.Brands = []string{"visa", "mastercard"}
	case 1:
		c.Brands = []string{[]string{"mastercard", "amex", "discover"}[i%3]}
	case 2:
		c.Fundings = []string{[]string{"debit", "prepaid"}[i%2]}
		c.Currencies = []string{"usd", "eur", "gbp"}
	case 3:
		c.IssuingCountries = []string{[]string{"GB", "DE", "FR", "BR"}[i%4]}
	case 4:
		lo, hi := int64(1_000_000+i*1000), int64(5_000_000)
		c.AmountMin, c.AmountMax = &lo, &hi
	case 5:
		c.Cadences = []string{"recurring"}
		c.Brands = []string{"visa", "mastercard", "amex"}
	case 6:
		c.Metadata = schematype.StringMap{"tier": fmt.Sprintf("t%d", i)}
	}
	bench := routing.Input{Amount: 100, Currency: "usd", Cadence: "unscheduled",
		Card: routing.Card{Brand: "visa", Funding: "credit", IssuingCountry: "US"}}
	for _, amount := range []int64{100, 10_000} {
		bench.Amount = amount
		if routing.Matches(c, bench) {
			return c, false
		}
	}
	return c, true
}

// routeDecisions times n routing decisions, one at a time, on payments of
// every card, currency, cadence, amount and metadata that the routes
// condition on, and returns the median and p99 in microseconds. A decision
// is routes.Plan as the engine calls it: it reads the account's
// processors and routes, matches the routes by priority, and orders the
// eligible processors by the route's strategy.
func (b *bundle) routeDecisions(ctx context.Context, n int) ([]float64, error) {
	set, err := b.configureRouting(ctx)
	if err != nil {
		return nil, err
	}
	router := b.proc.Router
	now := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	// Scores for auto: a window of outcomes per processor and segment.
	for _, pm := range set.cards {
		for _, cur := range []string{"usd", "eur", "gbp"} {
			for k, id := range set.processors {
				for j := range 200 {
					class := retry.Approved
					if j%10 < k%3 {
						class = retry.Soft
					}
					router.Stats().Observe(routing.Observation{ProcessorID: id, Segment: routing.Segment(routes.Card(pm), cur), At: now, Class: class, DeclineCode: "do_not_honor"})
				}
			}
		}
	}
	input := func() (*ent.PaymentMethod, routing.Input) {
		in := routing.Input{
			PaymentID: ids.New("osp"),
			Amount:    []int64{500, 1999, 25_000, 2_000_000}[rng.IntN(4)],
			Currency:  []string{"usd", "eur", "gbp"}[rng.IntN(3)],
			Cadence:   []string{"recurring", "unscheduled"}[rng.IntN(2)],
			Now:       now,
		}
		if rng.IntN(4) == 0 {
			in.Metadata = map[string]string{"tier": fmt.Sprintf("t%d", 7*rng.IntN(routeCount/7)+6)}
		}
		return set.cards[rng.IntN(len(set.cards))], in
	}
	matched := map[string]bool{}
	for range 200 { // warm up
		pm, in := input()
		if _, _, err := routes.Plan(b.ctx, router, b.store.Client, pm, in); err != nil {
			return nil, err
		}
	}
	took := make([]time.Duration, 0, n)
	for range n {
		pm, in := input()
		start := time.Now()
		plan, _, err := routes.Plan(b.ctx, router, b.store.Client, pm, in)
		took = append(took, time.Since(start))
		if err != nil {
			return nil, err
		}
		if len(plan.Processors) == 0 {
			return nil, fmt.Errorf("no processor for %+v: %s", in, plan.Record.Reason)
		}
		matched[plan.Record.RouteID] = true
	}
	if len(matched) < 10 {
		return nil, fmt.Errorf("the decisions matched only %d routes", len(matched))
	}
	slices.Sort(took)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return []float64{us(percentile(took, 0.5)), us(percentile(took, 0.99))}, nil
}

func ptr[T any](v T) *T { return &v }
