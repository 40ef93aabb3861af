package graph_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// TestRecoveryAnalyticsMatchTheRows: payments are made and retried for
// three weeks on a test clock, on a processor that declines half its
// attempts at random, with cards that always decline (soft and hard) among
// them; another account makes payments too. Then recovery is asked for, in
// total and by each dimension, and every figure must equal what the rows
// themselves say, counted here from the caller's payments and their first
// attempts: the database's GROUP BY against a count in Go.
func TestRecoveryAnalyticsMatchTheRows(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		r := b.Do(t, key, `mutation($id: ID!) { updateProcessor(id: $id, input: {settings: {decline_rate: "0.5"}}) { id } }`, map[string]any{"id": b.A.ProcessorID})
		r.RequireOK(t)
		clk := clock(t, b, key)
		tokens := []struct{ token, brand string }{
			{"pm_card_visa", "visa"}, {"pm_card_mastercard", "mastercard"}, {"pm_card_visa", "visa"},
			{"pm_card_chargeDeclinedInsufficientFunds", "visa"}, {"pm_card_chargeDeclinedStolenCard", "mastercard"},
		}
		for i := range 30 {
			tk := tokens[i%len(tokens)]
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: tk.token, Brand: tk.brand, TestClockID: clk})
			extra := map[string]any{}
			if i%3 == 0 {
				extra["retryStrategy"] = "scheduled"
			}
			b.CreatePayment(t, key, apitest.PaymentInput(c, 500+100*(i%4), extra)).RequireOK(t)
		}
		cB := b.NewChain(t, b.B, apitest.ChainOptions{})
		b.CreatePayment(t, b.B.Keys.Secret, apitest.PaymentInput(cB, 900, nil)).RequireOK(t)
		b.RunDue(t)
		advance(t, b, key, clk, t0.Add(21*24*time.Hour))

		// Payments are dated by when they were created, on the wall clock.
		from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		want := expectedRecovery(t, st, b.A.ID, from, to)
		for _, by := range []string{"", "DECLINE_CODE", "BRAND", "FUNDING", "ISSUING_COUNTRY", "PROCESSOR", "STRATEGY", "MODEL_VERSION", "DAY"} {
			vars := map[string]any{"from": from, "to": to}
			if by != "" {
				vars["by"] = by
			}
			r := b.Do(t, b.A.Keys.Restricted, `query($from: Time!, $to: Time!, $by: RecoveryDimension) { recovery(from: $from, to: $to, groupBy: $by) {
				key currency payments firstAttemptApproved firstAttemptApprovalRate failedFirst recovered recoveredAmount retrying failed
				recoveryRate attemptsPerRecovery daysToRecovery } }`, vars)
			r.RequireOK(t)
			got := map[string]map[string]any{}
			for _, row := range r.Get(t, "recovery").([]any) {
				m := row.(map[string]any)
				k := "<nil>"
				if m["key"] != nil {
					k = m["key"].(string)
				}
				got[k+"/"+m["currency"].(string)] = m
			}
			exp := want[by]
			require.Len(t, got, len(exp), "%s: groups %v", by, keys(got))
			for k, e := range exp {
				g, ok := got[k]
				require.True(t, ok, "%s: group %s missing from %v", by, k, keys(got))
				for _, f := range []string{"payments", "firstAttemptApproved", "failedFirst", "recovered", "recoveredAmount", "retrying", "failed"} {
					require.EqualValues(t, e[f], g[f], "%s %s: %s", by, k, f)
				}
				for _, f := range []string{"firstAttemptApprovalRate", "recoveryRate", "attemptsPerRecovery", "daysToRecovery"} {
					require.InDelta(t, e[f], g[f], 1e-6, "%s %s: %s", by, k, f)
				}
			}
		}
		require.Len(t, want[""], 1, "one currency")
		var total map[string]any
		for _, g := range want[""] {
			total = g
		}
		require.Equal(t, 30, total["payments"], "every payment of the account, none of the other's")
		require.Positive(t, total["recovered"], "some declines were recovered")
		require.Positive(t, total["failed"], "some failed for good")

		r = b.Do(t, key, `query($from: Time!, $to: Time!) { recovery(from: $from, to: $to) { payments } }`, map[string]any{"from": to, "to": from})
		require.Equal(t, "to", r.RequireError(t, "BAD_USER_INPUT").Field())
	})
}

func keys(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// expectedRecovery counts, from the rows, what recovery must say for each
// dimension: dimension → "key/currency" → field → value.
func expectedRecovery(t *testing.T, st *storage.Store, accountID string, from, to time.Time) map[string]map[string]map[string]any {
	t.Helper()
	ctx := viewer.AccountContext(context.Background(), accountID)
	ps, err := st.Client.OffSessionPayment.Query().
		Where(offsessionpayment.CreatedAtGTE(from), offsessionpayment.CreatedAtLT(to)).
		WithPaymentMethod().
		All(ctx)
	require.NoError(t, err)
	type acc struct {
		payments, approved, failedFirst, recovered, retrying, failed, attempts int
		amount                                                                 int64
		days                                                                   float64
		daysN                                                                  int
	}
	out := map[string]map[string]*acc{}
	for _, p := range ps {
		a1, err := st.Client.Attempt.Query().Where(attempt.PaymentID(p.ID), attempt.Number(1)).Only(ctx)
		require.NoError(t, err)
		if a1.Outcome == attempt.OutcomeInFlight {
			continue
		}
		pm := p.Edges.PaymentMethod
		str := func(s *string) string {
			if s == nil || *s == "" {
				return "<nil>"
			}
			return *s
		}
		mv := p.ModelVersion
		dims := map[string]string{
			"": "<nil>", "DECLINE_CODE": str(a1.DeclineCode), "BRAND": string(pm.Brand), "FUNDING": string(pm.Funding),
			"ISSUING_COUNTRY": pm.IssuingCountry, "PROCESSOR": str(a1.ProcessorID), "STRATEGY": string(p.RetryStrategy),
			"MODEL_VERSION": str(&mv), "DAY": p.CreatedAt.UTC().Format(time.DateOnly),
		}
		for dim, k := range dims {
			if out[dim] == nil {
				out[dim] = map[string]*acc{}
			}
			g := out[dim][k+"/"+p.Currency]
			if g == nil {
				g = &acc{}
				out[dim][k+"/"+p.Currency] = g
			}
			g.payments++
			if a1.Outcome == attempt.OutcomeApproved {
				g.approved++
				continue
			}
			g.failedFirst++
			g.attempts += p.AttemptCount
			switch p.Status {
			case offsessionpayment.StatusSucceeded, offsessionpayment.StatusRequiresCapture:
				g.recovered++
				g.amount += p.Amount
				if p.SucceededAt != nil {
					g.days += p.SucceededAt.Sub(*a1.FinishedAt).Hours() / 24
					g.daysN++
				}
			case offsessionpayment.StatusFailed:
				g.failed++
			case offsessionpayment.StatusCanceled:
			default:
				g.retrying++
			}
		}
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	res := map[string]map[string]map[string]any{}
	for dim, groups := range out {
		res[dim] = map[string]map[string]any{}
		for k, g := range groups {
			days := 0.0
			if g.daysN > 0 {
				days = g.days / float64(g.daysN)
			}
			res[dim][k] = map[string]any{
				"payments": g.payments, "firstAttemptApproved": g.approved, "failedFirst": g.failedFirst,
				"recovered": g.recovered, "recoveredAmount": g.amount, "retrying": g.retrying, "failed": g.failed,
				"firstAttemptApprovalRate": ratio(g.approved, g.payments), "recoveryRate": ratio(g.recovered, g.failedFirst),
				"attemptsPerRecovery": ratio(g.attempts, g.recovered), "daysToRecovery": days,
			}
		}
	}
	return res
}
