package routes_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/route"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
)

// BenchmarkRouteDecision times one routing decision with 50 routes and 5
// processors; the payment matches only the last route, an auto route over
// every processor, so every route's conditions are read and checked.
// plan/<store> is routes.Plan as the engine calls it (the account's
// processors and routes read from the database, then matched and ranked);
// match is the matching of the 50 routes alone, in memory.
func BenchmarkRouteDecision(b *testing.B) {
	const nRoutes, processors = 50, 5
	for _, d := range storagetest.Dialects() {
		b.Run("plan/"+d, func(b *testing.B) {
			f := setup(b, storagetest.Open(b, d), processors)
			benchRoutes(b, f, nRoutes)
			r := routing.NewRouter(routing.NewStats(routing.StatsConfig{}), 1)
			now := time.Now()
			seg := routing.Segment(routes.Card(f.pm), "usd")
			for i, p := range f.procs {
				for j := range 100 {
					class := retry.Approved
					if j%10 < i {
						class = retry.Soft
					}
					r.Stats().Observe(routing.Observation{ProcessorID: p.ID, Segment: seg, At: now, Class: class, DeclineCode: "do_not_honor"})
				}
			}
			in := routing.Input{PaymentID: ids.New("osp"), Amount: 1999, Currency: "usd", Cadence: "recurring", Now: now}
			plan, _, err := routes.Plan(f.ctx, r, f.db, f.pm, in)
			require.NoError(b, err)
			require.Equal(b, "auto", plan.Record.Strategy)
			require.Len(b, plan.Processors, processors)
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := routes.Plan(f.ctx, r, f.db, f.pm, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("match", func(b *testing.B) {
		f := setup(b, storagetest.Open(b, storagetest.Dialects()[0]), processors)
		benchRoutes(b, f, nRoutes)
		all, err := f.db.Route.Query().Order(ent.Asc(route.FieldPriority)).All(f.ctx)
		require.NoError(b, err)
		in := routing.Input{PaymentID: ids.New("osp"), Amount: 1999, Currency: "usd", Cadence: "recurring", Card: routes.Card(f.pm), Now: time.Now()}
		b.ResetTimer()
		for b.Loop() {
			matched := 0
			for _, rt := range all {
				if routing.Matches(rt.Conditions, in) {
					matched++
					break
				}
			}
			if matched != 1 {
				b.Fatal("no route matched")
			}
		}
	})
}

// benchRoutes makes n routes for f's processors: n-1 whose conditions (a
// currency, brand, funding, country, amount range or metadata that f's
// usd visa credit US card does not have) exclude f's payments, then a
// catch-all auto route over every processor.
func benchRoutes(b *testing.B, f fixture, n int) {
	b.Helper()
	strategies := []route.Strategy{route.StrategyPriority, route.StrategyVolumeSplit, route.StrategyAuto}
	for i := range n {
		var c schematype.RouteConditions
		switch i % 6 {
		case 0:
			c.Currencies = []string{"eur", "gbp"}
		case 1:
			c.Brands = []string{"mastercard", "amex"}
		case 2:
			c.Fundings = []string{"debit"}
		case 3:
			c.IssuingCountries = []string{"GB", "DE"}
		case 4:
			lo := int64(1_000_000 + i)
			c.AmountMin = &lo
		case 5:
			c.Metadata = schematype.StringMap{"tier": fmt.Sprintf("t%d", i)}
		}
		strategy := strategies[i%3]
		var ps []schematype.RouteProcessor
		for j := range 2 + i%(len(f.procs)-1) {
			ps = append(ps, schematype.RouteProcessor{ProcessorID: f.procs[(i+j)%len(f.procs)].ID, Weight: 10 * (j + 1)})
		}
		if i == n-1 {
			c, strategy, ps = schematype.RouteConditions{}, route.StrategyAuto, nil
			for _, p := range f.procs {
				ps = append(ps, schematype.RouteProcessor{ProcessorID: p.ID})
			}
		}
		_, err := f.db.Route.Create().SetAccountID(f.pm.AccountID).SetName(fmt.Sprintf("route %d", i+1)).SetPriority(i + 1).
			SetConditions(c).SetStrategy(strategy).SetProcessors(ps).Save(f.ctx)
		require.NoError(b, err)
	}
}
