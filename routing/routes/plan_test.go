package routes_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/route"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

type fixture struct {
	db    *ent.Client
	ctx   context.Context
	procs []*ent.Processor
	pm    *ent.PaymentMethod
}

func setup(t testing.TB, st *storage.Store, n int) fixture {
	t.Helper()
	ctx := viewer.SystemContext(context.Background())
	acct, err := st.Client.Account.Create().SetName("routing").Save(ctx)
	require.NoError(t, err)
	f := fixture{db: st.Client, ctx: ctx}
	var tokens []schematype.ProcessorToken
	for range n {
		p, err := st.Client.Processor.Create().SetAccountID(acct.ID).SetName("sim").SetType(processor.TypeSimulator).Save(ctx)
		require.NoError(t, err)
		f.procs = append(f.procs, p)
		tokens = append(tokens, schematype.ProcessorToken{ProcessorID: p.ID, Token: "pm_card_visa"})
	}
	cus, err := st.Client.Customer.Create().SetAccountID(acct.ID).Save(ctx)
	require.NoError(t, err)
	f.pm, err = st.Client.PaymentMethod.Create().SetAccountID(acct.ID).SetCustomerID(cus.ID).
		SetBrand(paymentmethod.BrandVisa).SetFunding(paymentmethod.FundingCredit).SetIssuingCountry("US").
		SetLast4("4242").SetExpMonth(1).SetExpYear(2030).SetFingerprint("fp").SetProcessorTokens(tokens).Save(ctx)
	require.NoError(t, err)
	return f
}

// TestVolumeSplitHoldsItsWeights: 70/30 over 10,000 payments lands within
// 2 points, and a payment always draws the same processor.
func TestVolumeSplitHoldsItsWeights(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		f := setup(t, st, 2)
		_, err := f.db.Route.Create().SetAccountID(f.pm.AccountID).SetName("split").SetPriority(1).SetConditions(schematype.RouteConditions{}).
			SetStrategy(route.StrategyVolumeSplit).
			SetProcessors([]schematype.RouteProcessor{{ProcessorID: f.procs[0].ID, Weight: 70}, {ProcessorID: f.procs[1].ID, Weight: 30}}).
			Save(f.ctx)
		require.NoError(t, err)
		r := routing.NewRouter(routing.NewStats(routing.StatsConfig{}), 1)
		const n = 10_000
		first := 0
		for range n {
			in := routing.Input{PaymentID: ids.New("osp"), Amount: 1000, Currency: "usd", Now: time.Now()}
			plan, _, err := routes.Plan(f.ctx, r, f.db, f.pm, in)
			require.NoError(t, err)
			require.Len(t, plan.Processors, 2, "the other is the failover")
			if plan.Processors[0] == f.procs[0].ID {
				first++
			}
			again, _, err := routes.Plan(f.ctx, r, f.db, f.pm, in)
			require.NoError(t, err)
			require.Equal(t, plan.Processors[0], again.Processors[0], "a payment's attempts stay on one processor")
		}
		share := float64(first) / n
		t.Logf("70/30 split over %d payments: %.4f", n, share)
		require.InDelta(t, 0.70, share, 0.02)
	})
}

func TestRoutesMatchByPriorityAndConditions(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		f := setup(t, st, 3)
		mk := func(name string, prio int, c schematype.RouteConditions, p *ent.Processor) {
			_, err := f.db.Route.Create().SetAccountID(f.pm.AccountID).SetName(name).SetPriority(prio).SetConditions(c).
				SetStrategy(route.StrategyPriority).SetProcessors([]schematype.RouteProcessor{{ProcessorID: p.ID}}).Save(f.ctx)
			require.NoError(t, err)
		}
		big := int64(50_000)
		mk("eur", 1, schematype.RouteConditions{Currencies: []string{"eur"}}, f.procs[2])
		mk("big visa credit", 2, schematype.RouteConditions{Brands: []string{"visa"}, Fundings: []string{"credit"}, AmountMin: &big}, f.procs[1])
		mk("vip", 3, schematype.RouteConditions{Metadata: schematype.StringMap{"tier": "vip"}}, f.procs[2])
		mk("rest", 9, schematype.RouteConditions{}, f.procs[0])
		r := routing.NewRouter(routing.NewStats(routing.StatsConfig{}), 1)
		for _, tt := range []struct {
			name     string
			amount   int64
			currency string
			meta     map[string]string
			want     *ent.Processor
		}{
			{"small usd", 1000, "usd", nil, f.procs[0]},
			{"eur first by priority", 90_000, "eur", nil, f.procs[2]},
			{"big visa credit", 90_000, "usd", nil, f.procs[1]},
			{"metadata", 1000, "usd", map[string]string{"tier": "vip"}, f.procs[2]},
		} {
			plan, _, err := routes.Plan(f.ctx, r, f.db, f.pm, routing.Input{PaymentID: ids.New("osp"), Amount: tt.amount, Currency: tt.currency, Metadata: tt.meta, Now: time.Now()})
			require.NoError(t, err)
			require.Equal(t, tt.want.ID, plan.Processors[0], tt.name)
			require.NotEmpty(t, plan.Record.RouteID, tt.name)
			require.Contains(t, plan.Record.Reason, "matched", tt.name)
		}

		// A disabled processor is not eligible; nor one without a token.
		_, err := f.db.Processor.UpdateOne(f.procs[0]).SetEnabled(false).Save(f.ctx)
		require.NoError(t, err)
		plan, _, err := routes.Plan(f.ctx, r, f.db, f.pm, routing.Input{PaymentID: ids.New("osp"), Amount: 1000, Currency: "usd", Now: time.Now()})
		require.NoError(t, err)
		require.NotEqual(t, f.procs[0].ID, plan.Processors[0])
	})
}
