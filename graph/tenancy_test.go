package graph_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// notNodes are ID prefixes of objects that node(id:) never resolves, with
// why.
var notNodes = map[string]string{
	"key": "API keys are not exposed through GraphQL",
	"idk": "idempotency keys are internal",
	"sch": "the simulator's ledger is the processor's side, not the merchant's",
}

// objectsOf makes one object of every node type in account a and returns
// their IDs by prefix.
func objectsOf(t *testing.T, b *apitest.Bundle, a apitest.Account) map[string]string {
	t.Helper()
	key := a.Keys.Secret
	r := b.Do(t, key, `mutation { createWebhookEndpoint(input: {url: "http://127.0.0.1:9/hook"}) { webhookEndpoint { id } } }`, nil)
	r.RequireOK(t)
	we := r.String(t, "createWebhookEndpoint.webhookEndpoint.id")
	r = b.Do(t, key, `mutation { createRetryPolicy(input: {name: "p", strategy: heuristic}) { id } }`, nil)
	r.RequireOK(t)
	rtp := r.String(t, "createRetryPolicy.id")
	r = b.Do(t, key, `mutation($p: ID!) { createRoute(input: {name: "all", priority: 1, strategy: priority, processors: [{processorID: $p}]}) { id } }`, map[string]any{"p": a.ProcessorID})
	r.RequireOK(t)
	rte := r.String(t, "createRoute.id")
	r = b.Do(t, a.Keys.Admin, `mutation { trainRetryModel(input: {seed: 1}) { id version status } }`, nil)
	r.RequireOK(t)
	mdl := r.String(t, "trainRetryModel.id")
	r = b.Do(t, key, `mutation { createTestClock(input: {frozenTime: "2026-01-01T00:00:00Z"}) { id } }`, nil)
	r.RequireOK(t)
	clk := r.String(t, "createTestClock.id")
	c := b.NewChain(t, a, apitest.ChainOptions{})
	r = b.CreatePayment(t, key, apitest.PaymentInput(c, 900, map[string]any{"captureMethod": "manual"}))
	r.RequireOK(t)
	osp := r.String(t, "createOffSessionPayment.id")
	b.RunDue(t)
	p := b.Payment(t, key, osp)
	require.Equal(t, "requires_capture", p["status"])
	att := p["attempts"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)["id"].(string)
	r = b.Do(t, key, `query($id: String!) { events(first: 1, where: {objectID: $id}) { edges { node { id } } } }`, map[string]any{"id": osp})
	r.RequireOK(t)
	evt := r.String(t, "events.edges.0.node.id")
	r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 1) { edges { node { id } } } } } }`, map[string]any{"id": we})
	r.RequireOK(t)
	return map[string]string{
		"we":   we,
		"whd":  r.String(t, "node.deliveries.edges.0.node.id"),
		"rtp":  rtp,
		"rte":  rte,
		"mdl":  mdl,
		"acct": a.ID,
		"cus":  c.CustomerID,
		"pm":   c.PaymentMethodID,
		"mdt":  c.MandateID,
		"osp":  osp,
		"att":  att,
		"prc":  a.ProcessorID,
		"evt":  evt,
		"clk":  clk,
	}
}

// connections names the connection that lists each type, if any.
var connections = map[string]string{
	"cus": "customers", "pm": "paymentMethods", "mdt": "mandates", "osp": "offSessionPayments",
	"prc": "processors", "evt": "events", "clk": "testClocks", "rtp": "retryPolicies", "we": "webhookEndpoints", "rte": "routes", "mdl": "retryModels",
}

// TestRule6TenancyEveryTypeIsInvisibleAcrossAccounts walks every node type:
// a key of account A finds nothing of account B's, by node(id:), by any
// connection, or through any mutation that takes an ID, while it finds its
// own.
func TestRule6TenancyEveryTypeIsInvisibleAcrossAccounts(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, apitest.AllowPrivateURLs)
		mine := objectsOf(t, b, b.A)
		theirs := objectsOf(t, b, b.B)
		keyA := b.A.Keys.Secret

		for prefix := range ids.Prefixes() {
			if _, ok := notNodes[prefix]; ok {
				continue
			}
			require.Contains(t, theirs, prefix, "the tenancy walk has no object of type %s_: add one to objectsOf", prefix)
		}
		for prefix, id := range theirs {
			r := b.Do(t, keyA, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
			require.Equal(t, "NOT_FOUND", r.RequireError(t, "NOT_FOUND").Code(), "node(%s) of another account", prefix)

			r = b.Do(t, keyA, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": mine[prefix]})
			r.RequireOK(t)
			require.Equal(t, mine[prefix], r.String(t, "node.id"), "node(%s) of the caller's own account", prefix)

			r = b.Do(t, keyA, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []string{id}})
			require.NotEmpty(t, r.Errors, "nodes(%s) of another account", prefix)
			require.Equal(t, "NOT_FOUND", r.Errors[0].Code())

			if conn, ok := connections[prefix]; ok {
				r = b.Do(t, keyA, fmt.Sprintf(`{ %s(first: 100) { totalCount edges { node { id } } } }`, conn), nil)
				r.RequireOK(t)
				require.NotContains(t, r.Raw, id, "%s lists another account's object", conn)
				require.Contains(t, r.Raw, mine[prefix], "%s lists the caller's own object", conn)
			}
		}
		r := b.Do(t, keyA, `{ viewer { account { id } } }`, nil)
		r.RequireOK(t)
		require.Equal(t, b.A.ID, r.String(t, "viewer.account.id"))

		// A's webhook endpoint is sent A's events only.
		r = b.Do(t, keyA, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 100) { edges { node { eventID objectID } } } } } }`, map[string]any{"id": mine["we"]})
		r.RequireOK(t)
		edges := r.Get(t, "node.deliveries.edges").([]any)
		require.NotEmpty(t, edges)
		for _, e := range edges {
			ev := e.(map[string]any)["node"].(map[string]any)["eventID"].(string)
			r := b.Do(t, keyA, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": ev})
			r.RequireOK(t) // A's own event
			require.NotEqual(t, theirs["osp"], e.(map[string]any)["node"].(map[string]any)["objectID"])
		}

		// Every mutation that takes an ID, given one of B's.
		chainB := apitest.Chain{CustomerID: theirs["cus"], PaymentMethodID: theirs["pm"], MandateID: theirs["mdt"]}
		for _, m := range []struct {
			name, query string
			vars        map[string]any
		}{
			{"createCustomer on B's test clock", `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"testClockID": theirs["clk"]}}},
			{"savePaymentMethod for B's customer", `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"customerID": theirs["cus"], "card": card(), "processorTokens": []any{map[string]any{"processorID": b.A.ProcessorID, "token": "pm_card_visa"}}}}},
			{"savePaymentMethod on B's processor", `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"customerID": mine["cus"], "card": card(), "processorTokens": []any{map[string]any{"processorID": theirs["prc"], "token": "pm_card_visa"}}}}},
			{"createMandate for B's customer", `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`,
				map[string]any{"in": apitest.MandateInput(chainB, "recurring", 1000, "usd")}},
			{"createOffSessionPayment with B's retry policy", `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`,
				map[string]any{"in": apitest.PaymentInput(apitest.Chain{CustomerID: mine["cus"], PaymentMethodID: mine["pm"], MandateID: mine["mdt"]}, 100, map[string]any{"retryPolicyID": theirs["rtp"]})}},
			{"savePaymentMethod replacing B's payment method", `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"customerID": mine["cus"], "replacesPaymentMethodID": theirs["pm"], "card": card(), "processorTokens": []any{map[string]any{"processorID": b.A.ProcessorID, "token": "pm_card_visa"}}}}},
			{"createRoute on B's processor", `mutation($p: ID!) { createRoute(input: {name: "x", priority: 2, strategy: priority, processors: [{processorID: $p}]}) { id } }`, map[string]any{"p": theirs["prc"]}},
			{"updateRoute of B", `mutation($id: ID!) { updateRoute(id: $id, input: {enabled: false}) { id } }`, map[string]any{"id": theirs["rte"]}},
			{"deleteRoute of B", `mutation($id: ID!) { deleteRoute(id: $id) }`, map[string]any{"id": theirs["rte"]}},
			{"updateProcessor of B", `mutation($id: ID!) { updateProcessor(id: $id, input: {enabled: false}) { id } }`, map[string]any{"id": theirs["prc"]}},
			{"revokeMandate of B", `mutation($id: ID!) { revokeMandate(id: $id) { id } }`, map[string]any{"id": theirs["mdt"]}},
			{"createOffSessionPayment on B's objects", `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`,
				map[string]any{"in": apitest.PaymentInput(chainB, 100, nil)}},
			{"createOffSessionPayment with B's card as a backup", `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`,
				map[string]any{"in": apitest.PaymentInput(apitest.Chain{CustomerID: mine["cus"], PaymentMethodID: mine["pm"], MandateID: mine["mdt"]}, 100,
					map[string]any{"backupPaymentMethods": []any{map[string]any{"paymentMethodID": theirs["pm"], "mandateID": theirs["mdt"]}}})}},
			{"cancel B's payment", `mutation($id: ID!) { cancelOffSessionPayment(id: $id) { id } }`, map[string]any{"id": theirs["osp"]}},
			{"resolve B's unknown attempt", `mutation($id: ID!) { resolveUnknownAttempt(id: $id, resolution: charged) { id } }`, map[string]any{"id": theirs["osp"]}},
			{"capture B's payment", `mutation($id: ID!) { captureOffSessionPayment(id: $id) { id } }`, map[string]any{"id": theirs["osp"]}},
			{"pause B's payment", `mutation($id: ID!) { pauseOffSessionPayment(id: $id) { id } }`, map[string]any{"id": theirs["osp"]}},
			{"resume B's payment", `mutation($id: ID!) { resumeOffSessionPayment(id: $id) { id } }`, map[string]any{"id": theirs["osp"]}},
			{"advance B's test clock", `mutation($id: ID!) { advanceTestClock(id: $id, frozenTime: "2026-02-01T00:00:00Z") { id } }`, map[string]any{"id": theirs["clk"]}},
		} {
			r := b.Do(t, keyA, m.query, m.vars)
			require.Equal(t, "NOT_FOUND", r.RequireError(t, "NOT_FOUND").Code(), m.name)
		}
		// B's objects did not change.
		r = b.Do(t, b.B.Keys.Secret, `query($id: ID!) { node(id: $id) { ... on Route { enabled } } }`, map[string]any{"id": theirs["rte"]})
		require.Equal(t, true, r.Get(t, "node.enabled"))
		p := b.Payment(t, b.B.Keys.Secret, theirs["osp"])
		require.Equal(t, "requires_capture", p["status"])
		r = b.Do(t, b.B.Keys.Secret, `query($id: ID!) { node(id: $id) { ... on Mandate { status } } }`, map[string]any{"id": theirs["mdt"]})
		require.Equal(t, "active", r.String(t, "node.status"))
	})
}

func card() map[string]any {
	return map[string]any{"brand": "visa", "funding": "debit", "last4": "1111", "expMonth": 1, "expYear": time.Now().Year() + 2, "fingerprint": "fp_x"}
}

func TestRolesAndAuthentication(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		mutation := `mutation { createCustomer(input: {name: "X"}) { id } }`

		r := b.Do(t, b.A.Keys.Restricted, mutation, nil)
		r.RequireError(t, "FORBIDDEN")
		r = b.Do(t, b.A.Keys.Restricted, `{ viewer { role } customers(first: 5) { totalCount } }`, nil)
		r.RequireOK(t)
		require.Equal(t, "restricted", r.String(t, "viewer.role"))

		r = b.Do(t, b.A.Keys.Admin, mutation, nil)
		r.RequireOK(t)
		r = b.Do(t, b.A.Keys.Secret, `{ viewer { role } }`, nil)
		require.Equal(t, "secret", r.String(t, "viewer.role"))

		for _, q := range []string{mutation, `{ customers(first: 1) { totalCount } }`, `{ viewer { role } }`} {
			r = b.Do(t, "", q, nil)
			r.RequireError(t, "UNAUTHENTICATED")
		}
		r = b.Do(t, "sk_not_a_real_key", `{ viewer { role } }`, nil)
		require.Equal(t, 401, r.Status)
		r.RequireError(t, "UNAUTHENTICATED")

		// The playground loads the schema before a key is set.
		r = b.Do(t, "", `{ __schema { queryType { name } } }`, nil)
		r.RequireOK(t)
		require.Equal(t, "Query", r.String(t, "__schema.queryType.name"))
	})
}

// TestCredentialsAreWriteOnly: a processor's credentials never come back.
func TestCredentialsAreWriteOnly(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		r := b.Do(t, b.A.Keys.Secret, `{ processors(first: 10) { edges { node { id name type enabled settings } } } }`, nil)
		r.RequireOK(t)
		require.NotContains(t, r.Raw, "sim_secret_do_not_leak")
		r = b.Do(t, b.A.Keys.Secret, `{ __type(name: "Processor") { fields { name } } }`, nil)
		require.NotContains(t, strings.ToLower(r.Raw), "credential")
		require.NotContains(t, b.Logs(), "sim_secret_do_not_leak")
	})
}
