package simulator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/storage"
)

// TestSimulatorDegradesOnThePaymentsClock: a processor with degrade_from and
// degrade_decline_rate answers as before until that time on the request's
// clock, then turns about that share of approvals into do_not_honor, for
// test tokens and population customers alike; decline_rate applies to
// population customers too; and a processor with neither answers a
// population customer exactly as the population does.
func TestSimulatorDegradesOnThePaymentsClock(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		from := time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)
		before, after := from.Add(-time.Hour), from.Add(time.Hour)
		newConn := func(id string, settings map[string]string) connector.Connector {
			conn, err := processors.NewRegistry(st.Client, nil).Connector(&ent.Processor{ID: id, Type: processor.TypeSimulator, Settings: settings})
			require.NoError(t, err)
			return conn
		}
		steady := newConn("prc_steady", nil)
		declining := newConn("prc_declining", map[string]string{"decline_rate": "1"})
		degrading := newConn("prc_degrading", map[string]string{"degrade_from": from.Format(time.RFC3339), "degrade_decline_rate": "0.3"})
		authorize := func(conn connector.Connector, key, token string, at time.Time) connector.Outcome {
			out, err := conn.Authorize(ctx, connector.AuthorizeRequest{
				IdempotencyKey: key, Token: token, Amount: 1000, Currency: "usd",
				CardBrand: "visa", CardFunding: "debit", CardCountry: "US", At: at,
			})
			require.NoError(t, err)
			return out
		}
		doNotHonor := func(out connector.Outcome) bool {
			return out.Result == connector.Declined && out.DeclineCode == "do_not_honor" && out.NetworkDeclineCode == "05"
		}

		// Keys as the engine makes them, a payment's ID and the attempt's
		// number: each attempt of a payment draws afresh.
		const payments, attempts = 30, 10
		declined, mixed := 0, 0
		for p := range payments {
			some := 0
			for a := 1; a <= attempts; a++ {
				key := fmt.Sprintf("osp_test%02d-%d", p, a)
				require.Equal(t, connector.Approved, authorize(degrading, key+"-before", "pm_card_visa", before).Result, "no degradation before degrade_from")
				if out := authorize(degrading, key, "pm_card_visa", after); out.Result != connector.Approved {
					require.True(t, doNotHonor(out), "%+v", out)
					some++
				}
			}
			declined += some
			if some > 0 && some < attempts {
				mixed++
			}
		}
		t.Logf("test token after degrade_from: %d of %d attempts declined; %d of %d payments had both outcomes", declined, payments*attempts, mixed, payments)
		require.InDelta(t, 0.3, float64(declined)/(payments*attempts), 0.08)
		require.GreaterOrEqual(t, mixed, payments*2/3, "the attempts of one payment draw independently")

		// Population customers, each token used once so that no earlier
		// decline wears the issuer's answer.
		params := population.Default()
		pop, err := population.New(params, 7)
		require.NoError(t, err)
		const n = 300
		approved := map[string]int{}
		degraded := 0
		for i := 0; approved["degrading after"] < n; i++ {
			c := pop.Customer(i)
			token := population.Token(params, 7, i)
			var conn connector.Connector
			var name string
			at := after
			switch i % 4 {
			case 0:
				conn, name = steady, "steady"
			case 1:
				conn, name = declining, "declining"
			case 2:
				conn, name, at = degrading, "degrading before", before
			default:
				conn, name = degrading, "degrading after"
			}
			want := pop.Answer(c, at, 0)
			got := authorize(conn, fmt.Sprintf("osp_pop%d-1", i), token, at)
			if !want.Approved {
				require.Equal(t, connector.Declined, got.Result, "%s: customer %d", name, i)
				require.Equal(t, want.DeclineCode, got.DeclineCode, "%s: customer %d: the issuer's decline stands", name, i)
				continue
			}
			approved[name]++
			switch name {
			case "steady", "degrading before":
				require.Equal(t, connector.Approved, got.Result, "%s: customer %d: the population's answer", name, i)
			case "declining":
				require.True(t, doNotHonor(got), "decline_rate 1 declines every population approval: %+v", got)
			default:
				if got.Result != connector.Approved {
					require.True(t, doNotHonor(got), "%+v", got)
					degraded++
				}
			}
		}
		t.Logf("population approvals after degrade_from: %d of %d declined", degraded, n)
		require.InDelta(t, 0.3, float64(degraded)/n, 0.08)
		require.Positive(t, approved["steady"])
		require.Positive(t, approved["declining"])
		require.Positive(t, approved["degrading before"])
	})
}
