package graph_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// dashboardQueries are the dashboard's heaviest reads, as it sends them:
// the payments page (unfiltered and filtered), each recovery grouping and
// the customers page.
var dashboardQueries = []struct{ name, query string }{
	{"payments page", `{ offSessionPayments(first: 25, orderBy: [{field: CREATED_AT, direction: DESC}]) { totalCount pageInfo { hasNextPage endCursor } edges { node { id createdAt customerID status amount currency retryStrategy attemptCount nextAttemptAt failureReason } } } }`},
	{"payments page, by status", `{ offSessionPayments(first: 25, where: {status: succeeded}, orderBy: [{field: CREATED_AT, direction: DESC}]) { totalCount edges { node { id status } } } }`},
	{"payments page, by decline code", `{ offSessionPayments(first: 25, where: {hasAttemptsWith: [{declineCode: "insufficient_funds"}]}, orderBy: [{field: CREATED_AT, direction: DESC}]) { totalCount edges { node { id status } } } }`},
	{"recovery", `query($from: Time!, $to: Time!) { recovery(from: $from, to: $to) { payments recovered recoveryRate } }`},
	{"recovery by DECLINE_CODE", `query($from: Time!, $to: Time!) { recovery(from: $from, to: $to, groupBy: DECLINE_CODE) { key payments recovered } }`},
	{"recovery by BRAND", `query($from: Time!, $to: Time!) { recovery(from: $from, to: $to, groupBy: BRAND) { key payments recovered } }`},
	{"recovery by PROCESSOR", `query($from: Time!, $to: Time!) { recovery(from: $from, to: $to, groupBy: PROCESSOR) { key payments recovered } }`},
	{"recovery by STRATEGY", `query($from: Time!, $to: Time!) { recovery(from: $from, to: $to, groupBy: STRATEGY) { key payments recovered } }`},
	{"recovery by DAY", `query($from: Time!, $to: Time!) { recovery(from: $from, to: $to, groupBy: DAY) { key payments recovered } }`},
	{"customers page", `{ customers(first: 20, orderBy: [{field: CREATED_AT, direction: DESC}]) { totalCount edges { node { id name paymentMethods(first: 5) { edges { node { id last4 networkBudgets { used max } } } } mandates(first: 5) { edges { node { id status } } } } } } }`},
}

// BenchmarkDashboardAt100k answers the dashboard's queries, through the
// whole HTTP handler, in an account of 100,000 payments (60,000 waiting
// for a retry after a soft decline, 40,000 approved at once, on 2,000
// cards), with another account's 10,000 beside them:
//
//	go test -run '^$' -bench DashboardAt100k ./graph/
func BenchmarkDashboardAt100k(b *testing.B) {
	for _, d := range storagetest.Dialects() {
		b.Run(d, func(b *testing.B) {
			st := storagetest.Open(b, d)
			bundle := apitest.New(b, st)
			now := time.Now().UTC()
			seedAccount(b, bundle, bundle.A, 60_000, 40_000, now)
			seedAccount(b, bundle, bundle.B, 6_000, 4_000, now)
			// As autovacuum (PostgreSQL) or the optimizer's own statistics
			// would be after a bulk load.
			if _, err := st.DB.Exec("ANALYZE"); err != nil {
				b.Fatal(err)
			}
			vars := map[string]any{"from": now.Add(-48 * time.Hour), "to": now.Add(time.Hour)}
			for _, q := range dashboardQueries {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						bundle.Do(b, bundle.A.Keys.Restricted, q.query, vars).RequireOK(b)
					}
				})
			}
		})
	}
}

// seedAccount writes declined payments waiting for a retry and payments
// approved at once, created over the last day, for account a.
func seedAccount(b *testing.B, bundle *apitest.Bundle, a apitest.Account, declined, approved int, now time.Time) {
	b.Helper()
	st := bundle.Store
	ctx := viewer.SystemContext(context.Background())
	r := bundle.Do(b, a.Keys.Secret, `mutation { createRetryPolicy(input: {name: "smart", strategy: smart}) { id } }`, nil)
	r.RequireOK(b)
	policy := r.String(b, "createRetryPolicy.id")
	if err := (seed.DueRetries{
		AccountID: a.ID, ProcessorID: a.ProcessorID, N: declined, Cards: 1000, Brand: paymentmethod.BrandAmex,
		Now: now, DueAt: func(i int) time.Time { return now.Add(time.Duration(i%3600) * time.Second) },
		Token: func(int) string { return "pm_card_chargeDeclinedInsufficientFunds" },
	}).Write(ctx, st.Client); err != nil {
		b.Fatal(err)
	}
	const per = 500
	for start := 0; start < approved; start += per {
		err := storage.WithTx(ctx, st.Client, func(tx *ent.Tx) error {
			specs := make([]seed.CardSpec, 2)
			for i := range specs {
				specs[i] = seed.CardSpec{TimeZone: "UTC", Brand: paymentmethod.BrandVisa, Funding: paymentmethod.FundingCredit, Token: "pm_card_visa"}
			}
			cards, err := seed.WriteCards(ctx, tx, a.ID, a.ProcessorID, specs, now)
			if err != nil {
				return err
			}
			ps := make([]seed.Succeeded, per)
			for i := range ps {
				ps[i] = seed.Succeeded{Card: cards[i%2], Network: "visa", Amount: 1500, At: now.Add(-time.Duration(start+i) * time.Second),
					Strategy: offsessionpayment.RetryStrategySmart, MaxRetries: 8, PolicyID: policy}
			}
			return seed.WriteSucceeded(ctx, tx, a.ID, a.ProcessorID, ps)
		})
		if err != nil {
			b.Fatal(fmt.Errorf("seed approved payments: %w", err))
		}
	}
}
