package graph_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"entgo.io/contrib/entgql"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/graph"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// connectionFields lists every field of the schema that returns a Relay
// connection, as "Type.field", found by the type's name alone, so that a
// connection added later is covered here without anyone listing it.
func connectionFields(t *testing.T) map[string]*ast.FieldDefinition {
	t.Helper()
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	out := map[string]*ast.FieldDefinition{}
	for name, def := range schema.Types {
		if strings.HasPrefix(name, "__") || (def.Kind != ast.Object && def.Kind != ast.Interface) {
			continue
		}
		for _, f := range def.Fields {
			if strings.HasSuffix(f.Type.Name(), "Connection") {
				out[name+"."+f.Name] = f
			}
		}
	}
	return out
}

// reach is a query that asks for field of typ with args, through Query or
// node(id:) of an object of any type, since limits refuse before anything
// runs.
func reach(t *testing.T, typ, field, args, id string) string {
	t.Helper()
	sel := fmt.Sprintf("%s(%s) { totalCount }", field, args)
	if typ == "Query" {
		return "{ " + sel + " }"
	}
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	for _, iface := range schema.Types[typ].Interfaces {
		if iface == "Node" {
			return fmt.Sprintf(`{ node(id: %q) { ... on %s { %s } } }`, id, typ, sel)
		}
	}
	t.Fatalf("no way to reach %s.%s from Query: add one to reach", typ, field)
	return ""
}

// TestLimitsEveryConnectionRefusesOversizedPages: first or last over the
// maximum page size, on every connection of the schema, nested ones too, is
// BAD_USER_INPUT naming the argument, not a truncated page.
func TestLimitsEveryConnectionRefusesOversizedPages(t *testing.T) {
	t.Parallel()
	fields := connectionFields(t)
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	require.Contains(t, names, "OffSessionPayment.attempts", "nested connections are found")
	require.Contains(t, names, "WebhookEndpoint.deliveries")
	require.GreaterOrEqual(t, len(names), 18)
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Restricted
		id := b.NewChain(t, b.A, apitest.ChainOptions{}).CustomerID
		for _, name := range names {
			typ, field, _ := strings.Cut(name, ".")
			for _, arg := range []string{"first", "last"} {
				r := b.Do(t, key, reach(t, typ, field, arg+": 1000000000", id), nil)
				e := r.RequireError(t, "BAD_USER_INPUT")
				require.Equal(t, arg, e.Field(), "%s %s: %s", name, arg, r.Raw)
				require.Equal(t, "page_too_large", e.Extensions["reason"], r.Raw)
				require.EqualValues(t, graph.MaxPageSizeDefault, e.Extensions["max_page_size"], r.Raw)
				require.Nil(t, r.Data, "refused before anything ran: %s", r.Raw)
			}
			r := b.Do(t, key, reach(t, typ, field, fmt.Sprintf("first: %d", graph.MaxPageSizeDefault), id), nil)
			require.Empty(t, r.Errors, "%s at the maximum page size: %s", name, r.Raw)
		}
	})
}

// TestLimitsBadPaginationArguments: each bad page argument is BAD_USER_INPUT
// naming it, at the top and nested, and nothing runs.
func TestLimitsBadPaginationArguments(t *testing.T) {
	t.Parallel()
	msgpackString := base64.RawStdEncoding.EncodeToString([]byte("\xa3abc"))
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Restricted
		for _, tt := range []struct {
			name, query, field, reason string
			vars                       map[string]any
		}{
			{"bad base64 after", `{ events(after: "!!not base64!!") { totalCount } }`, "after", "invalid_cursor", nil},
			{"bad base64 before", `{ customers(before: "%%%") { totalCount } }`, "before", "invalid_cursor", nil},
			{"base64 of no cursor", `{ events(after: "Zm9vYmFy") { totalCount } }`, "after", "invalid_cursor", nil},
			{"msgpack of a string", `{ events(after: "` + msgpackString + `") { totalCount } }`, "after", "invalid_cursor", nil},
			{"cursor in a variable", `query($c: Cursor) { events(after: $c) { totalCount } }`, "after", "invalid_cursor", map[string]any{"c": "@@"}},
			{"nested cursor", `{ customers(first: 1) { edges { node { payments(after: "!!") { totalCount } } } } }`, "after", "invalid_cursor", nil},
			{"cursor of one value, orderBy of none", `query($c: Cursor) { customers(after: $c) { totalCount } }`, "after", "invalid_cursor", map[string]any{"c": cursor(t, "abc")}},
			{"cursor of two values, orderBy of one", `query($c: Cursor) { customers(after: $c, orderBy: [{field: CREATED_AT}]) { totalCount } }`, "after", "invalid_cursor", map[string]any{"c": cursor(t, []any{1, 2})}},
			{"text for a time", `query($c: Cursor) { customers(after: $c, orderBy: [{field: CREATED_AT}]) { totalCount } }`, "after", "invalid_cursor", map[string]any{"c": cursor(t, []any{"abc"})}},
			{"a map for a value", `query($c: Cursor) { offSessionPayments(before: $c, orderBy: {field: AMOUNT}) { totalCount } }`, "before", "invalid_cursor", map[string]any{"c": cursor(t, []any{map[string]any{"a": 1}})}},
			{"a list for a single order", `query($c: Cursor) { testClocks(after: $c, orderBy: {field: CREATED_AT}) { totalCount } }`, "after", "invalid_cursor", map[string]any{"c": cursor(t, []any{time.Now()})}},
			{"negative first", `{ events(first: -1) { totalCount } }`, "first", "invalid_page_size", nil},
			{"first and last", `{ events(first: 1, last: 1) { totalCount } }`, "last", "first_and_last", nil},
			{"first in a variable", `query($n: Int) { events(first: $n) { totalCount } }`, "first", "page_too_large", map[string]any{"n": 101}},
			{"nested last", `{ customers(first: 1) { edges { node { payments(last: 101) { totalCount } } } } }`, "last", "page_too_large", nil},
			{"in a fragment", `{ customers(first: 1) { ...C } } fragment C on CustomerConnection { edges { node { payments(first: 500) { totalCount } } } }`, "first", "page_too_large", nil},
			{"too many ids", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, "ids", "too_many_ids", map[string]any{"ids": manyIDs(101)}},
		} {
			r := b.Do(t, key, tt.query, tt.vars)
			e := r.RequireError(t, "BAD_USER_INPUT")
			require.Equal(t, tt.field, e.Field(), "%s: %s", tt.name, r.Raw)
			require.Equal(t, tt.reason, e.Extensions["reason"], "%s: %s", tt.name, r.Raw)
			require.Nil(t, r.Data, "%s: %s", tt.name, r.Raw)
		}
		// A cursor the API gave out still pages.
		b.NewChain(t, b.A, apitest.ChainOptions{})
		r := b.Do(t, key, `{ customers(first: 1) { edges { cursor } } }`, nil)
		r.RequireOK(t)
		r = b.Do(t, key, `query($c: Cursor) { customers(first: 1, after: $c) { totalCount } }`, map[string]any{"c": r.String(t, "customers.edges.0.cursor")})
		r.RequireOK(t)
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		r = b.Do(t, b.A.Keys.Secret, `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`, map[string]any{"in": apitest.PaymentInput(c, 100, nil)})
		r.RequireOK(t)
		for _, order := range []string{`{field: CREATED_AT}`, `[{field: AMOUNT}, {field: STATUS, direction: DESC}]`, `[{field: NEXT_ATTEMPT_AT}, {field: CREATED_AT}]`} {
			q := `query($c: Cursor) { offSessionPayments(first: 1, after: $c, orderBy: ` + order + `) { edges { cursor } } }`
			r = b.Do(t, key, q, map[string]any{"c": nil})
			r.RequireOK(t)
			r = b.Do(t, key, q, map[string]any{"c": r.String(t, "offSessionPayments.edges.0.cursor")})
			r.RequireOK(t) // ordered by ` + order
		}
		r = b.Do(t, key, `query($c: Cursor) { testClocks(first: 1, after: $c, orderBy: {field: CREATED_AT}) { totalCount } }`, map[string]any{"c": cursor(t, time.Now())})
		r.RequireOK(t)
	})
}

// cursor is a cursor of the shape ent gives out, with value.
func cursor(t *testing.T, value any) string {
	t.Helper()
	var buf bytes.Buffer
	entgql.Cursor[string]{ID: "cus_x", Value: value}.MarshalGQL(&buf)
	s, err := strconv.Unquote(buf.String())
	require.NoError(t, err)
	return s
}

func manyIDs(n int) []any {
	ids := make([]any, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("cus_%d", i)
	}
	return ids
}

// TestLimitsDefaultPageSize: a connection given neither first nor last,
// at the top or nested, or given a null first, answers one default page.
func TestLimitsDefaultPageSize(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, func(c *app.Config) { c.PageSize = 2 })
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		b.NewChain(t, b.A, apitest.ChainOptions{})
		b.NewChain(t, b.A, apitest.ChainOptions{})
		for i := 0; i < 3; i++ {
			r := b.Do(t, b.A.Keys.Secret, `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`,
				map[string]any{"in": apitest.PaymentInput(c, 100+i, nil)})
			r.RequireOK(t)
		}
		key := b.A.Keys.Restricted
		edges := func(r apitest.Response, path string) int {
			t.Helper()
			r.RequireOK(t)
			return len(r.Get(t, path).([]any))
		}
		r := b.Do(t, key, `{ customers { totalCount edges { node { id } } pageInfo { hasNextPage } } }`, nil)
		require.Equal(t, 2, edges(r, "customers.edges"), r.Raw)
		require.Equal(t, true, r.Get(t, "customers.pageInfo.hasNextPage"), r.Raw)
		r = b.Do(t, key, `query($n: Int) { events(first: $n) { edges { node { id } } } }`, map[string]any{"n": nil})
		require.Equal(t, 2, edges(r, "events.edges"), r.Raw)
		r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on Customer { payments { edges { node { id } } } } } }`, map[string]any{"id": c.CustomerID})
		require.Equal(t, 2, edges(r, "node.payments.edges"), "through node: %s", r.Raw)
		r = b.Do(t, key, `{ customers(first: 10) { edges { node { id p: payments { edges { node { id } } } } } } }`, nil)
		r.RequireOK(t)
		total := 0
		for _, e := range r.Get(t, "customers.edges").([]any) {
			total += len(e.(map[string]any)["node"].(map[string]any)["p"].(map[string]any)["edges"].([]any))
		}
		require.Equal(t, 2, total, "eager-loaded nested edge: %s", r.Raw)
		r = b.Do(t, key, `{ customers(last: 1) { edges { node { id } } } }`, nil)
		require.Equal(t, 1, edges(r, "customers.edges"), "last alone is kept: %s", r.Raw)
	})
}

// TestLimitsComplexityCountsListSizes: page sizes multiply the cost of what
// a page holds; over the limit is refused before anything runs, and the
// cost of every request is in extensions.cost.
func TestLimitsComplexityCountsListSizes(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Restricted
		// events 1 + edges (1 + 10 × (node 1 + id 1)) = 22.
		r := b.Do(t, key, `{ events(first: 10) { edges { node { id } } } }`, nil)
		r.RequireOK(t)
		cost := costOf(t, r)
		require.EqualValues(t, 22, cost["requested"], r.Raw)
		require.EqualValues(t, graph.MaxComplexityDefault, cost["limit"], r.Raw)

		for _, q := range []string{
			`{ customers(first: 100) { edges { node { payments(first: 100) { edges { node { id attempts(first: 100) { edges { node { id } } } } } } } } } }`,
			`{ customers(first: 100) { edges { node { payments(first: 100) { edges { node { id amount } } } } } } }`,
			aliased(60, `events(first: 100) { edges { node { id type } } }`),
		} {
			r := b.Do(t, key, q, nil)
			e := r.RequireError(t, "BAD_USER_INPUT")
			require.Equal(t, "query_too_complex", e.Extensions["reason"], r.Raw)
			require.Greater(t, e.Extensions["complexity"], float64(graph.MaxComplexityDefault), r.Raw)
			require.Nil(t, r.Data, r.Raw)
		}
	})
}

func costOf(t *testing.T, r apitest.Response) map[string]any {
	t.Helper()
	var body struct {
		Extensions struct {
			Cost map[string]any `json:"cost"`
		} `json:"extensions"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.Raw), &body))
	require.NotNil(t, body.Extensions.Cost, "no extensions.cost in %s", r.Raw)
	return body.Extensions.Cost
}

func aliased(n int, field string) string {
	var sb strings.Builder
	sb.WriteString("{ ")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "a%d: %s ", i, field)
	}
	sb.WriteString("}")
	return sb.String()
}

// TestLimitsQueryCostBudget: a key spends its query budget by cost, not by
// request; when it cannot pay, the request is RATE_LIMITED with HTTP 429.
func TestLimitsQueryCostBudget(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, func(c *app.Config) {
			c.QueryCostLimit, c.QueryCostBurst, c.MaxComplexity = 0.001, 300, 300 // no refill within a test
		})
		key := b.A.Keys.Restricted
		const q = `{ events(first: 100) { edges { node { id } } } }` // 1 + 1 + 100 × 2 = 202
		r := b.Do(t, key, q, nil)
		r.RequireOK(t)
		cost := costOf(t, r)
		require.EqualValues(t, 202, cost["requested"], r.Raw)
		require.EqualValues(t, 98, cost["remaining"], r.Raw)

		r = b.Do(t, key, q, nil)
		require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
		e := r.RequireError(t, "RATE_LIMITED")
		require.Equal(t, "cost_budget", e.Extensions["reason"], r.Raw)
		require.Nil(t, r.Data, r.Raw)
		require.EqualValues(t, 98, costOf(t, r)["remaining"], "a refused request spends nothing: %s", r.Raw)

		r = b.Do(t, b.B.Keys.Restricted, q, nil)
		r.RequireOK(t) // another key's budget is its own
	})
}

// TestLimitsAliasedMutationsCountEach: 500 aliased createCustomer are 500
// mutation units: over the burst of 20 the request is refused whole and
// creates no customer; 20 fit and create 20; then the key waits.
func TestLimitsAliasedMutationsCountEach(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, func(c *app.Config) { c.RateLimit, c.RateBurst = 0.001, 20 })
		key := b.A.Keys.Admin // not used by the set-up, so its budget is whole
		create := func(n int) apitest.Response {
			return b.Do(t, key, "mutation "+aliased(n, `createCustomer(input: {name: "Ada", email: "ada@example.com", country: "GB", timeZone: "Europe/London"}) { id }`), nil)
		}
		before := tableState(t, b)
		r := create(500)
		require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
		e := r.RequireError(t, "RATE_LIMITED")
		require.Equal(t, "mutations_budget", e.Extensions["reason"], r.Raw)
		require.Nil(t, r.Data, r.Raw)
		require.EqualValues(t, 500, costOf(t, r)["mutations"], r.Raw)
		require.Equal(t, before, tableState(t, b), "the refused request changed nothing")

		r = create(20)
		r.RequireOK(t)
		require.Len(t, r.Data, 20)
		require.EqualValues(t, 0, costOf(t, r)["mutationsRemaining"], r.Raw)

		r = create(1)
		require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
		r.RequireError(t, "RATE_LIMITED")
		r = b.Do(t, b.A.Keys.Restricted, `{ customers(first: 1) { totalCount } }`, nil)
		r.RequireOK(t)
		require.EqualValues(t, 20, r.Get(t, "customers.totalCount"), "only the 20 that fit were created")
	})
}
