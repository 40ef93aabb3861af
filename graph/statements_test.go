package graph_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// statementBudgets are the SQL statements and transactions one operation
// sends to the database, on each store, as measured when they were last
// set. TestStatementsPerOperation fails when an operation sends more: a
// change that adds round trips to the hot path must say so here. When a
// change sends fewer, lower the budget to the new count.
//
// A create is the whole GraphQL request (the API key's authentication
// included) selecting only the payment's id and status; an attempt is what
// a worker does for one due payment: claim it, then run it.
var statementBudgets = []struct {
	op               string
	sqlite, postgres storage.Counts
}{
	{"create", storage.Counts{Statements: 8, Transactions: 1}, storage.Counts{Statements: 8, Transactions: 1}},
	{"create with an idempotency key", storage.Counts{Statements: 11, Transactions: 1}, storage.Counts{Statements: 11, Transactions: 1}},
	{"create, idempotency key replayed", storage.Counts{Statements: 3, Transactions: 0}, storage.Counts{Statements: 3, Transactions: 0}},
	{"attempt approved", storage.Counts{Statements: 21, Transactions: 2}, storage.Counts{Statements: 21, Transactions: 2}},
	{"attempt soft-declined, smart retry planned", storage.Counts{Statements: 25, Transactions: 2}, storage.Counts{Statements: 26, Transactions: 2}},
	{"attempt soft-declined, heuristic retry planned", storage.Counts{Statements: 23, Transactions: 2}, storage.Counts{Statements: 24, Transactions: 2}},
	{"attempt failed over to a second processor", storage.Counts{Statements: 24, Transactions: 3}, storage.Counts{Statements: 24, Transactions: 3}},
}

// TestStatementsPerOperation counts the statements and transactions of a
// create and of an attempt (approved, soft-declined with a retry planned,
// failed over), every statement sent, through ent or not, and holds each
// to its budget in statementBudgets.
func TestStatementsPerOperation(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		var n storage.Counter
		cst, err := st.Counted(ctx, &n)
		require.NoError(t, err)
		t.Cleanup(func() { cst.Close() })
		b := apitest.New(t, cst)
		svc := b.Proc.Payments
		key := b.A.Keys.Secret

		measured := map[string]storage.Counts{}
		logs := map[string][]string{}
		measure := func(op string, fn func()) {
			t.Helper()
			n.Reset()
			fn()
			measured[op], logs[op] = n.Counts(), n.Log()
		}
		create := func(c apitest.Chain, extra map[string]any) string {
			t.Helper()
			r := b.Do(t, key, `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id status } }`,
				map[string]any{"in": apitest.PaymentInput(c, 1500, extra)})
			r.RequireOK(t)
			require.Equal(t, "pending", r.String(t, "createOffSessionPayment.status"))
			return r.String(t, "createOffSessionPayment.id")
		}
		attempt := func(id string) {
			t.Helper()
			due, err := svc.ClaimDue(ctx, time.Now(), 1, svc.Owner())
			require.NoError(t, err)
			require.Equal(t, []string{id}, due, "the payment is the only one due")
			require.NoError(t, svc.RunDue(ctx, id, svc.Owner()))
		}

		visa := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_visa"})
		var first, keyed, replayed string
		measure("create", func() { first = create(visa, nil) })
		measure("create with an idempotency key", func() { keyed = create(visa, map[string]any{"idempotencyKey": "order-1"}) })
		measure("create, idempotency key replayed", func() { replayed = create(visa, map[string]any{"idempotencyKey": "order-1"}) })
		require.Equal(t, keyed, replayed)
		require.NotEqual(t, first, keyed)
		b.RunDue(t)

		id := create(visa, nil)
		measure("attempt approved", func() { attempt(id) })
		require.Equal(t, "succeeded", b.Payment(t, key, id)["status"])

		nsf := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds"})
		for _, strategy := range []string{"smart", "heuristic"} {
			id := create(nsf, map[string]any{"retryStrategy": strategy})
			measure("attempt soft-declined, "+strategy+" retry planned", func() { attempt(id) })
			p := b.Payment(t, key, id)
			require.Equal(t, "pending_retry", p["status"], strategy)
			require.NotNil(t, p["nextAttemptAt"], "a retry is planned")
			atts := attempts(t, p)
			require.Len(t, atts, 1)
			require.Equal(t, "soft", atts[0].Class)
		}

		// Account B routes by priority to a processor that is down, then to
		// one that is up.
		keyB := b.B.Keys.Secret
		procs := simulators(t, b, keyB, map[string]any{"outage": "true"}, map[string]any{})
		r := b.Do(t, keyB, `mutation($ps: [RouteProcessorInput!]) { createRoute(input: {name: "main", priority: 1, strategy: priority, processors: $ps}) { id } }`,
			map[string]any{"ps": []any{map[string]any{"processorID": procs[0]}, map[string]any{"processorID": procs[1]}}})
		r.RequireOK(t)
		multi := multiChain(t, b, keyB, procs, "pm_card_visa", "visa", "credit", "US")
		r = b.CreatePayment(t, keyB, apitest.PaymentInput(multi, 1500, map[string]any{"retryStrategy": "none"}))
		r.RequireOK(t)
		id = r.String(t, "createOffSessionPayment.id")
		measure("attempt failed over to a second processor", func() { attempt(id) })
		p := b.Payment(t, keyB, id)
		require.Equal(t, "succeeded", p["status"])
		atts := p["attempts"].(map[string]any)["edges"].([]any)
		require.Len(t, atts, 1, "the failover is within the attempt")
		att := atts[0].(map[string]any)["node"].(map[string]any)
		require.Equal(t, procs[1], att["processorID"])
		require.Contains(t, att["routing"].(map[string]any)["reason"], "failed over")

		for _, bu := range statementBudgets {
			budget := bu.sqlite
			if st.Dialect == dialect.Postgres {
				budget = bu.postgres
			}
			got, ok := measured[bu.op]
			require.True(t, ok, "%s was not measured", bu.op)
			simulator := 0 // the simulator keeps its charges in the database; a real processor is an HTTP call
			for _, q := range logs[bu.op] {
				if strings.Contains(q, "simulator_charges") {
					simulator++
				}
			}
			t.Logf("%-48s %3d statements (%d of them the simulator's), %d transactions (budget %d, %d)",
				bu.op, got.Statements, simulator, got.Transactions, budget.Statements, budget.Transactions)
			if os.Getenv("OFFSESSION_STATEMENT_LOG") != "" { // what each operation sent, for the next cut
				t.Logf("\t%s", strings.Join(logs[bu.op], "\n\t"))
			}
			if got.Statements > budget.Statements || got.Transactions > budget.Transactions {
				t.Errorf("%s on %s: %d statements and %d transactions, over the budget of %d and %d; what it sent:\n\t%s",
					bu.op, st.Dialect, got.Statements, got.Transactions, budget.Statements, budget.Transactions, strings.Join(logs[bu.op], "\n\t"))
			}
		}
	})
}
