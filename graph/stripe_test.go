package graph_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/ent/webhookdelivery"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/internal/stripemocktest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// Stripe secret keys of the tests below: distinctive, so that finding one,
// or the part after its prefix, anywhere is a leak. stripe-mock takes any
// key that looks like a test-mode key, and refuses the others with a 401
// that quotes the Authorization header it was sent.
const (
	stripeGoodKey     = "sk_test_51OsGraphQz7Lm2GoodNeverShown"
	stripeRotatedKey  = "sk_test_51OsGraphRw4Tn8RotatedNeverShown"
	stripeRefusedKey  = "sk_tst_OsGraphKv3Pq9RefusedNeverShown"
	stripeRevokedKey  = "sk_tst_OsGraphJd5Xs1RevokedNeverShown"
	stripeRejectedKey = "sk_test_51OsGraphHb6Wc2RejectedNeverShown"
	stripeReplayKey   = "sk_test_51OsGraphYf8Zm4ReplayNeverShown"
	simulatorKey      = "sim_secret_OsGraphNg7Vt3NeverShown"
)

// createProcessor makes a processor through GraphQL and returns its ID.
func createProcessor(t *testing.T, b *apitest.Bundle, key string, in map[string]any) string {
	t.Helper()
	r := b.Do(t, key, `mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id } }`, map[string]any{"in": in})
	r.RequireOK(t)
	return r.String(t, "createProcessor.id")
}

// tokenChain makes a customer, a visa credit card with the given processor
// tokens (processorID, token, networkTransactionID) and a mandate for it.
func tokenChain(t *testing.T, b *apitest.Bundle, key, brand string, tokens ...map[string]any) apitest.Chain {
	t.Helper()
	return tokenChainOn(t, b, key, brand, "", tokens...)
}

// tokenChainOn is tokenChain for a customer on test clock clk ("" for the
// wall clock).
func tokenChainOn(t *testing.T, b *apitest.Bundle, key, brand, clk string, tokens ...map[string]any) apitest.Chain {
	t.Helper()
	cus := map[string]any{"name": "Ada Lovelace", "email": "ada@example.com", "country": "GB"}
	if clk != "" {
		cus["testClockID"] = clk
	}
	r := b.Do(t, key, `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`, map[string]any{"in": cus})
	r.RequireOK(t)
	c := apitest.Chain{CustomerID: r.String(t, "createCustomer.id")}
	r = b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"customerID": c.CustomerID, "processorTokens": tokens,
		"card": map[string]any{"brand": brand, "funding": "credit", "last4": "4242", "expMonth": 12, "expYear": time.Now().Year() + 2,
			"issuingCountry": "GB", "fingerprint": "fp_" + c.CustomerID},
	}})
	r.RequireOK(t)
	c.PaymentMethodID = r.String(t, "savePaymentMethod.id")
	r = b.Do(t, key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": apitest.MandateInput(c, "recurring", 1_000_000, "usd")})
	r.RequireOK(t)
	c.MandateID = r.String(t, "createMandate.id")
	return c
}

// attemptFields are what the tests below read of an attempt: everything it
// says about the processor call.
const attemptFields = `id number processorID idempotencyKey outcome declineClass declineCode networkDeclineCode networkAdviceCode
	processorReference message calls routing { routeID strategy reason candidates { processorID eligible score reason propensity } failovers { processorID at reason } }`

// firstAttempt reads a payment's status and its first attempt.
func firstAttempt(t *testing.T, b *apitest.Bundle, key, id string) (status string, att map[string]any) {
	t.Helper()
	r := b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { status attempts(first: 5) { edges { node { `+attemptFields+` } } } } } }`, map[string]any{"id": id})
	r.RequireOK(t)
	edges := r.Get(t, "node.attempts.edges").([]any)
	require.Len(t, edges, 1, r.Raw)
	return r.String(t, "node.status"), edges[0].(map[string]any)["node"].(map[string]any)
}

// TestStripeConnectorThroughGraphQL: a stripe processor created through
// GraphQL, pointed at stripe-mock on loopback, takes a payment from
// creation to success, and a manual capture from authorization to capture;
// stripe-mock receives an off-session, confirmed PaymentIntent for the saved
// payment method, under the attempt's idempotency key.
func TestStripeConnectorThroughGraphQL(t *testing.T) {
	t.Parallel()
	rec := stripemocktest.NewRecorder(t, stripemocktest.Start(t))
	// stripe-mock's PaymentIntents are always requires_payment_method: the
	// proxy gives them the status Stripe would.
	rec.PlayStatus.Store(true)
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, apitest.AllowPrivateURLs)
		key := b.A.Keys.Secret
		r := b.Do(t, key, `mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id type baseURL enabled } }`, map[string]any{"in": map[string]any{
			"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": rec.URL,
		}})
		r.RequireOK(t)
		prc := r.String(t, "createProcessor.id")
		require.Equal(t, "stripe", r.String(t, "createProcessor.type"))
		require.Equal(t, rec.URL, r.String(t, "createProcessor.baseURL"))
		require.Equal(t, true, r.Get(t, "createProcessor.enabled"))
		c := tokenChain(t, b, key, "visa", map[string]any{"processorID": prc, "token": "pm_card_visa", "networkTransactionID": "ntid_visa_0042"})

		// An automatic capture: created, attempted on Stripe, succeeded.
		r = b.CreatePayment(t, key, apitest.PaymentInput(c, 1999, map[string]any{
			"description": "Plan, June", "statementDescriptorSuffix": "PLAN JUN", "metadata": map[string]any{"order": "A-1001"}, "retryStrategy": "none",
		}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		require.Equal(t, "pending", r.String(t, "createOffSessionPayment.status"))
		b.RunDue(t)
		status, att := firstAttempt(t, b, key, id)
		require.Equal(t, "succeeded", status)
		require.Equal(t, "approved", att["outcome"])
		require.Equal(t, prc, att["processorID"])
		require.Equal(t, "token_order", att["routing"].(map[string]any)["strategy"], "no route: the card's only token decides")
		require.EqualValues(t, 1, att["calls"])
		ref, _ := att["processorReference"].(string)
		require.True(t, strings.HasPrefix(ref, "pi_"), "the PaymentIntent is the reference: %q", ref)
		attKey := att["idempotencyKey"].(string)
		require.Equal(t, id+"-1", attKey)
		p := b.Payment(t, key, id)
		require.EqualValues(t, 1999, p["amountReceived"])
		require.Equal(t, []string{
			"off_session_payment.created",
			"off_session_payment.attempt_started",
			"off_session_payment.succeeded",
		}, b.EventTypes(t, key, id))

		// What stripe-mock received: one PaymentIntent, off-session and
		// confirmed, for the saved payment method, under the attempt's key.
		sent := rec.Matching(http.MethodPost, "/v1/payment_intents", attKey)
		require.Len(t, sent, 1, "one call, with the attempt's idempotency key")
		require.Equal(t, "Bearer "+stripeGoodKey, sent[0].Header.Get("Authorization"), "the processor's credentials are its secret key")
		require.NotEmpty(t, sent[0].Header.Get("Stripe-Version"))
		require.Equal(t, url.Values{
			"amount":                               {"1999"},
			"currency":                             {"usd"},
			"payment_method":                       {"pm_card_visa"},
			"payment_method_types[0]":              {"card"},
			"off_session":                          {"true"},
			"confirm":                              {"true"},
			"description":                          {"Plan, June"},
			"statement_descriptor_suffix":          {"PLAN JUN"},
			"metadata[order]":                      {"A-1001"},
			"metadata[offsession_idempotency_key]": {attKey},
			"payment_method_options[card][mit_exemption][network_transaction_id]": {"ntid_visa_0042"},
		}, sent[0].Form)

		// A manual capture: authorized on Stripe, then captured in part
		// through GraphQL; a second one canceled, which releases it.
		r = b.CreatePayment(t, key, apitest.PaymentInput(c, 5000, map[string]any{"captureMethod": "manual", "retryStrategy": "none"}))
		r.RequireOK(t)
		manual := r.String(t, "createOffSessionPayment.id")
		r = b.CreatePayment(t, key, apitest.PaymentInput(c, 700, map[string]any{"captureMethod": "manual", "retryStrategy": "none"}))
		r.RequireOK(t)
		canceled := r.String(t, "createOffSessionPayment.id")
		b.RunDue(t)
		for _, id := range []string{manual, canceled} {
			status, att := firstAttempt(t, b, key, id)
			require.Equal(t, "requires_capture", status)
			sent := rec.Matching(http.MethodPost, "/v1/payment_intents", att["idempotencyKey"].(string))
			require.Len(t, sent, 1)
			require.Equal(t, "manual", sent[0].Form.Get("capture_method"))
			require.Equal(t, "true", sent[0].Form.Get("off_session"))
			require.Equal(t, "true", sent[0].Form.Get("confirm"))
		}
		_, att = firstAttempt(t, b, key, manual)
		ref = att["processorReference"].(string)
		r = b.Do(t, key, `mutation($id: ID!) { captureOffSessionPayment(id: $id, amountToCapture: 4200) { status amountReceived } }`, map[string]any{"id": manual})
		r.RequireOK(t)
		require.Equal(t, "succeeded", r.String(t, "captureOffSessionPayment.status"))
		require.EqualValues(t, 4200, r.Get(t, "captureOffSessionPayment.amountReceived"))
		sent = rec.Matching(http.MethodPost, "/v1/payment_intents/"+ref+"/capture", manual+"-capture")
		require.Len(t, sent, 1, "the capture went to Stripe under its own key")
		require.Equal(t, url.Values{"amount_to_capture": {"4200"}}, sent[0].Form)

		_, att = firstAttempt(t, b, key, canceled)
		r = b.Do(t, key, `mutation($id: ID!) { cancelOffSessionPayment(id: $id) { status } }`, map[string]any{"id": canceled})
		r.RequireOK(t)
		require.Equal(t, "canceled", r.String(t, "cancelOffSessionPayment.status"))
		require.Len(t, rec.Matching(http.MethodPost, "/v1/payment_intents/"+att["processorReference"].(string)+"/cancel", canceled+"-void"), 1,
			"canceling released the authorization on Stripe")
	})
}

// TestProcessorCredentialsNeverLeak runs payments through processors with
// credentials (two stripe processors on stripe-mock, one whose key
// stripe-mock refuses with a 401 that quotes it, and simulators, which take
// credentials too): failover, a decline, manual capture, a capture refused
// after the key is rotated to a revoked one, refused inputs, an idempotent
// replay with other credentials. It then searches the process's logs, every
// GraphQL response, the events (through GraphQL and in the database, with
// every other table but processors) and every webhook body delivered, and
// finds no credential, nor any part of one.
func TestProcessorCredentialsNeverLeak(t *testing.T) {
	t.Parallel()
	rec := stripemocktest.NewRecorder(t, stripemocktest.Start(t))
	rec.PlayStatus.Store(true)
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, func(c *app.Config) { c.WebhookBackoff = 10 * time.Millisecond; c.AllowPrivateURLs = true })
		key := b.A.Keys.Secret
		var responses []string
		do := func(query string, vars map[string]any) apitest.Response {
			t.Helper()
			r := b.Do(t, key, query, vars)
			responses = append(responses, r.Raw)
			return r
		}

		// A merchant's webhook receiver, keeping every body.
		var hooksMu sync.Mutex
		var hooks []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			hooksMu.Lock()
			hooks = append(hooks, string(body))
			hooksMu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		t.Cleanup(srv.Close)
		do(`mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) { webhookEndpoint { id } } }`, map[string]any{"url": srv.URL + "/hooks"}).RequireOK(t)

		mkProcessor := func(in map[string]any) string {
			t.Helper()
			r := do(`mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id name type baseURL enabled costPercentBps costFixed settings health { status } } }`, map[string]any{"in": in})
			r.RequireOK(t)
			return r.String(t, "createProcessor.id")
		}
		refused := mkProcessor(map[string]any{"name": "Stripe (old key)", "type": "stripe", "credentials": stripeRefusedKey, "baseURL": rec.URL})
		good := mkProcessor(map[string]any{"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": rec.URL, "idempotencyKey": "stripe-main"})
		sim := mkProcessor(map[string]any{"name": "Simulator", "type": "simulator", "credentials": simulatorKey})

		// Refused inputs carrying credentials: the errors do not quote them.
		r := do(`mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": "Stripe", "type": "stripe", "credentials": stripeRejectedKey, "baseURL": "stripe.internal:12111"}})
		require.Equal(t, "input.baseURL", r.RequireError(t, "BAD_USER_INPUT").Field())
		r = do(`mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": "Stripe", "type": "stripe", "credentials": stripeReplayKey, "baseURL": rec.URL, "idempotencyKey": "stripe-main"}})
		r.RequireError(t, "CONFLICT")
		r = do(`mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": rec.URL, "idempotencyKey": "stripe-main"}})
		r.RequireOK(t)
		require.Equal(t, good, r.String(t, "createProcessor.id"), "the replay with the same credentials returns the processor")

		// Visa goes to the stripe processor with the refused key first.
		do(`mutation($ps: [RouteProcessorInput!]) { createRoute(input: {name: "visa", priority: 1, strategy: priority, conditions: {brands: ["visa"]}, processors: $ps}) { id } }`,
			map[string]any{"ps": []any{map[string]any{"processorID": refused}, map[string]any{"processorID": good}}}).RequireOK(t)
		visa := tokenChain(t, b, key, "visa",
			map[string]any{"processorID": refused, "token": "pm_card_visa", "networkTransactionID": "ntid_1"},
			map[string]any{"processorID": good, "token": "pm_card_visa", "networkTransactionID": "ntid_1"},
			map[string]any{"processorID": sim, "token": "pm_card_visa"})
		declining := tokenChain(t, b, key, "mastercard",
			map[string]any{"processorID": sim, "token": "pm_card_chargeDeclinedInsufficientFunds"},
			map[string]any{"processorID": b.A.ProcessorID, "token": "pm_card_visa"})
		pay := func(c apitest.Chain, amount int, extra map[string]any) string {
			t.Helper()
			extra["retryStrategy"] = "none"
			r := b.CreatePayment(t, key, apitest.PaymentInput(c, amount, extra))
			responses = append(responses, r.Raw)
			r.RequireOK(t)
			return r.String(t, "createOffSessionPayment.id")
		}
		failedOver := pay(visa, 1999, map[string]any{"metadata": map[string]any{"plan": "gold"}})
		authorized := pay(visa, 5000, map[string]any{"captureMethod": "manual"})
		declined := pay(declining, 1200, map[string]any{})
		b.RunDue(t)

		status, att := firstAttempt(t, b, key, failedOver)
		require.Equal(t, "succeeded", status)
		require.Equal(t, good, att["processorID"], "failed over from the refused key")
		failovers := att["routing"].(map[string]any)["failovers"].([]any)
		require.Len(t, failovers, 1)
		require.Equal(t, refused, failovers[0].(map[string]any)["processorID"])
		require.Contains(t, failovers[0].(map[string]any)["reason"], "the secret key was refused (HTTP 401)")
		require.True(t, slices.ContainsFunc(rec.Requests(), func(req stripemocktest.Request) bool {
			return req.Header.Get("Authorization") == "Bearer "+stripeRefusedKey
		}), "stripe-mock was sent the refused key, and answered with a 401 quoting it")
		status, _ = firstAttempt(t, b, key, authorized)
		require.Equal(t, "requires_capture", status)
		status, att = firstAttempt(t, b, key, declined)
		require.Equal(t, "failed", status)
		require.Equal(t, sim, att["processorID"], "no route for mastercard: the token order")
		require.Equal(t, "insufficient_funds", att["declineCode"])

		// The key is revoked and rotated: the capture is refused under the
		// revoked key (a 401 quoting it), then goes through under the new one.
		rotate := func(credentials string) {
			t.Helper()
			do(`mutation($id: ID!, $c: String) { updateProcessor(id: $id, input: {credentials: $c}) { id name type baseURL enabled settings health { status } } }`,
				map[string]any{"id": good, "c": credentials}).RequireOK(t)
		}
		rotate(stripeRevokedKey)
		r = do(`mutation($id: ID!) { captureOffSessionPayment(id: $id) { status } }`, map[string]any{"id": authorized})
		require.Equal(t, "capture_refused", r.RequireError(t, "CONFLICT").Extensions["reason"])
		rotate(stripeRotatedKey)
		r = do(`mutation($id: ID!) { captureOffSessionPayment(id: $id) { status amountReceived } }`, map[string]any{"id": authorized})
		r.RequireOK(t)
		require.Equal(t, "succeeded", r.String(t, "captureOffSessionPayment.status"))
		captures := rec.Matching(http.MethodPost, "/v1/payment_intents/"+firstRef(t, b, key, authorized)+"/capture", authorized+"-capture")
		require.Len(t, captures, 2)
		require.Equal(t, "Bearer "+stripeRevokedKey, captures[0].Header.Get("Authorization"))
		require.Equal(t, "Bearer "+stripeRotatedKey, captures[1].Header.Get("Authorization"))

		// Every event, delivered.
		ctx := viewer.SystemContext(context.Background())
		require.Eventually(t, func() bool {
			require.NoError(t, b.Proc.Deliverer.RunDue(ctx))
			n, err := st.Client.WebhookDelivery.Query().Where(webhookdelivery.StatusNEQ(webhookdelivery.StatusDelivered)).Count(ctx)
			require.NoError(t, err)
			return n == 0
		}, 30*time.Second, 20*time.Millisecond)

		// Read back everything there is to read.
		r = do(`{ processors(first: 20) { edges { node { id name type baseURL enabled costPercentBps costFixed settings
			health { status recentCalls recentTechnicalFailures successRate scoredOutcomes eliminatedSince } } } } }`, nil)
		r.RequireOK(t)
		do(`{ offSessionPayments(first: 20) { edges { node { id status failureReason metadata attempts(first: 10) { edges { node { `+attemptFields+` } } } } } } }`, nil).RequireOK(t)
		do(`{ routes(first: 10) { edges { node { id name strategy processors { processorID weight } } } } }`, nil).RequireOK(t)
		r = do(`{ events(first: 100) { totalCount edges { node { id type objectID objectType objectVersion data } } } }`, nil)
		r.RequireOK(t)
		events := int(r.Get(t, "events.totalCount").(float64))
		require.Greater(t, events, 8)
		do(`{ webhookEndpoints(first: 5) { edges { node { id url deliveries(first: 100) { totalCount edges { node { id eventType status attempts { statusCode error } } } } } } } }`, nil).RequireOK(t)
		hooksMu.Lock()
		delivered := slices.Clone(hooks)
		hooksMu.Unlock()
		require.Len(t, delivered, events, "every event was delivered")

		outputs := map[string]string{
			"logs":              b.Logs(),
			"GraphQL responses": strings.Join(responses, "\n"),
			"webhook bodies":    strings.Join(delivered, "\n"),
			"database rows (every table but processors, events included)": dumpTables(t, st, "processors"),
		}
		// The search finds what it looks for: the flow's own words are there.
		require.Contains(t, outputs["logs"], "failing over within the attempt")
		require.Contains(t, outputs["logs"], "capture refused by the processor")
		require.Contains(t, outputs["GraphQL responses"], "the secret key was refused (HTTP 401)")
		require.Contains(t, outputs["webhook bodies"], failedOver)
		require.Contains(t, outputs["database rows (every table but processors, events included)"], "off_session_payment.succeeded")

		secrets := []string{stripeGoodKey, stripeRotatedKey, stripeRefusedKey, stripeRevokedKey, stripeRejectedKey, stripeReplayKey, simulatorKey, "sim_secret_do_not_leak"}
		masked := regexp.MustCompile(`(sk|rk)_(test|live|tst)_\*{4}`)
		for where, said := range outputs {
			require.NotEmpty(t, said, where)
			for i, secret := range secrets {
				// The part after the prefix: a leak even if the prefix was cut.
				tail := secret
				for _, prefix := range []string{"sk_test_", "sk_tst_", "sim_secret_"} {
					tail = strings.TrimPrefix(tail, prefix)
				}
				// Secrets are named by number, never printed, should this fail.
				require.False(t, strings.Contains(said, secret), "credential %d leaked in %s", i, where)
				require.False(t, strings.Contains(said, tail), "part of credential %d leaked in %s", i, where)
			}
			require.False(t, masked.MatchString(said), "a masked key leaked in %s", where)
			require.NotContains(t, said, "Bearer sk_", where)
		}
	})
}

// firstRef returns the processor reference of a payment's first attempt.
func firstRef(t *testing.T, b *apitest.Bundle, key, id string) string {
	t.Helper()
	_, att := firstAttempt(t, b, key, id)
	ref, _ := att["processorReference"].(string)
	require.NotEmpty(t, ref)
	return ref
}

// dumpTables renders every row of every table of the store but skip.
func dumpTables(t *testing.T, st *storage.Store, skip ...string) string {
	t.Helper()
	q := `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	if st.Dialect == dialect.SQLite {
		q = `SELECT name FROM sqlite_master WHERE type = 'table'`
	}
	tables := queryStrings(t, st.DB, q)
	require.Contains(t, tables, "events")
	var out strings.Builder
	for _, table := range tables {
		if slices.Contains(skip, table) {
			continue
		}
		rows, err := st.DB.Query(fmt.Sprintf(`SELECT * FROM %q`, table))
		require.NoError(t, err, table)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			fmt.Fprintf(&out, "%s:", table)
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&out, " %s=%v", cols[i], v)
			}
			out.WriteByte('\n')
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	return out.String()
}

func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}
