package graph_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// tableState is a fingerprint of every table a mutation could touch: how
// many rows, and the latest change to any of them.
func tableState(t *testing.T, b *apitest.Bundle) map[string]string {
	t.Helper()
	state := map[string]string{}
	for _, table := range []string{"accounts", "api_keys", "customers", "payment_methods", "mandates", "off_session_payments",
		"attempts", "events", "idempotency_keys", "processors", "test_clocks", "simulator_charges", "retry_policies",
		"webhook_endpoints", "webhook_deliveries", "routes"} {
		var n int
		var latest sql.NullString
		err := b.Store.DB.QueryRow("SELECT COUNT(*), CAST(MAX(updated_at) AS TEXT) FROM "+table).Scan(&n, &latest)
		require.NoError(t, err, table)
		state[table] = fmt.Sprintf("%d rows, last changed %s", n, latest.String)
	}
	return state
}

// TestRule7BadInputChangesNothing: every bad input gets a coded error that
// names the field at fault, and no row anywhere changes.
func TestRule7BadInputChangesNothing(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		c := b.NewChain(t, b.A, apitest.ChainOptions{MaxAmount: 5000})
		other := b.NewChain(t, b.A, apitest.ChainOptions{})
		revoked := b.NewChain(t, b.A, apitest.ChainOptions{})
		r := b.Do(t, key, `mutation($id: ID!) { revokeMandate(id: $id) { id } }`, map[string]any{"id": revoked.MandateID})
		r.RequireOK(t)
		r = b.Do(t, key, `mutation($ps: [RouteProcessorInput!]) { createRoute(input: {name: "main", priority: 1, strategy: priority, processors: $ps}) { id } }`,
			map[string]any{"ps": []any{map[string]any{"processorID": b.A.ProcessorID}}})
		r.RequireOK(t)
		routeID := r.Get(t, "createRoute.id").(string)

		const createPayment = `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`
		const savePM = `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`
		const createCustomer = `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`
		pay := func(amount int, extra map[string]any) map[string]any {
			return map[string]any{"in": apitest.PaymentInput(c, amount, extra)}
		}
		spare := backupOf(t, b, b.A, c, "pm_card_visa", "fp_spare", "")
		bk := func(list ...map[string]any) map[string]any {
			return pay(100, map[string]any{"backupPaymentMethods": list})
		}
		pair := func(pm, mdt string) map[string]any { return map[string]any{"paymentMethodID": pm, "mandateID": mdt} }
		pm := func(token string, cardFields map[string]any) map[string]any {
			cd := card()
			for k, v := range cardFields {
				cd[k] = v
			}
			return map[string]any{"in": map[string]any{
				"customerID": c.CustomerID, "card": cd,
				"processorTokens": []any{map[string]any{"processorID": b.A.ProcessorID, "token": token}},
			}}
		}
		deep := "{ customers(first: 1) { edges { node { payments(first: 1) { edges { node { customer { payments(first: 1) { edges { node { customer { payments(first: 1) { edges { node { id } } } } } } } } } } } } } } }"
		tests := []struct {
			name, query string
			vars        map[string]any
			body        []byte
			wantCode    string
			wantField   string
			wantReason  string
		}{
			{name: "negative amount", query: createPayment, vars: pay(-5, nil), wantCode: "BAD_USER_INPUT", wantField: "input.amount"},
			{name: "zero amount", query: createPayment, vars: pay(0, nil), wantCode: "BAD_USER_INPUT", wantField: "input.amount"},
			{name: "amount above the maximum", query: createPayment, vars: pay(100_000_000, nil), wantCode: "BAD_USER_INPUT", wantField: "input.amount"},
			{name: "unknown currency", query: createPayment, vars: pay(100, map[string]any{"currency": "xyz"}), wantCode: "BAD_USER_INPUT", wantField: "input.currency"},
			{name: "currency the mandate does not allow", query: createPayment, vars: pay(100, map[string]any{"currency": "eur"}), wantCode: "BAD_USER_INPUT", wantField: "input.currency", wantReason: "mandate_currency_mismatch"},
			{name: "amount over the mandate's limit", query: createPayment, vars: pay(5001, nil), wantCode: "BAD_USER_INPUT", wantField: "input.amount", wantReason: "amount_over_mandate_limit"},
			{name: "revoked mandate", query: createPayment, vars: map[string]any{"in": apitest.PaymentInput(revoked, 100, nil)}, wantCode: "BAD_USER_INPUT", wantField: "input.mandateID", wantReason: "mandate_revoked"},
			{name: "mandate of another customer", query: createPayment, vars: pay(100, map[string]any{"mandateID": other.MandateID}), wantCode: "BAD_USER_INPUT", wantField: "input.mandateID", wantReason: "mandate_customer_mismatch"},
			{name: "payment method of another customer", query: createPayment, vars: pay(100, map[string]any{"paymentMethodID": other.PaymentMethodID}), wantCode: "BAD_USER_INPUT", wantField: "input.paymentMethodID", wantReason: "payment_method_customer_mismatch"},
			{name: "cadence the mandate does not allow", query: createPayment, vars: pay(100, map[string]any{"cadence": "unscheduled"}), wantCode: "BAD_USER_INPUT", wantField: "input.cadence", wantReason: "mandate_cadence_mismatch"},
			{name: "unknown cadence", query: createPayment, vars: pay(100, map[string]any{"cadence": "weekly"}), wantCode: "BAD_USER_INPUT"},
			{name: "target date in the past", query: createPayment, vars: pay(100, map[string]any{"targetDate": "2020-01-01"}), wantCode: "BAD_USER_INPUT", wantField: "input.targetDate"},
			{name: "malformed target date", query: createPayment, vars: pay(100, map[string]any{"targetDate": "tomorrow"}), wantCode: "BAD_USER_INPUT", wantField: "input.targetDate"},
			{name: "statement descriptor suffix too long", query: createPayment, vars: pay(100, map[string]any{"statementDescriptorSuffix": strings.Repeat("A", 23)}), wantCode: "BAD_USER_INPUT", wantField: "input.statementDescriptorSuffix"},
			{name: "card number in metadata", query: createPayment, vars: pay(100, map[string]any{"metadata": map[string]any{"note": "4242 4242 4242 4242"}}), wantCode: "BAD_USER_INPUT", wantField: "input.metadata.note", wantReason: "card_data_not_allowed"},
			{name: "CVC in metadata", query: createPayment, vars: pay(100, map[string]any{"metadata": map[string]any{"cvc": "123"}}), wantCode: "BAD_USER_INPUT", wantField: "input.metadata.cvc", wantReason: "card_data_not_allowed"},
			{name: "non-string metadata", query: createPayment, vars: pay(100, map[string]any{"metadata": map[string]any{"n": 1}}), wantCode: "BAD_USER_INPUT"},
			{name: "malformed customer ID", query: createPayment, vars: pay(100, map[string]any{"customerID": "cus_nope"}), wantCode: "BAD_USER_INPUT", wantField: "input.customerID", wantReason: "malformed_id"},
			{name: "ID of the wrong type", query: createPayment, vars: pay(100, map[string]any{"mandateID": c.CustomerID}), wantCode: "BAD_USER_INPUT", wantField: "input.mandateID", wantReason: "malformed_id"},
			{name: "backup of another customer", query: createPayment, vars: bk(pair(other.PaymentMethodID, other.MandateID)), wantCode: "BAD_USER_INPUT", wantField: "input.backupPaymentMethods[0].paymentMethodID", wantReason: "payment_method_customer_mismatch"},
			{name: "backup that is the payment's own", query: createPayment, vars: bk(pair(c.PaymentMethodID, c.MandateID)), wantCode: "BAD_USER_INPUT", wantField: "input.backupPaymentMethods[0].paymentMethodID", wantReason: "duplicate_payment_method"},
			{name: "backup under another card's mandate", query: createPayment, vars: bk(pair(spare.PaymentMethodID, c.MandateID)), wantCode: "BAD_USER_INPUT", wantField: "input.backupPaymentMethods[0].mandateID", wantReason: "mandate_payment_method_mismatch"},
			{name: "backup with a malformed mandate ID", query: createPayment, vars: bk(pair(spare.PaymentMethodID, "mdt nope")), wantCode: "BAD_USER_INPUT", wantField: "input.backupPaymentMethods[0].mandateID", wantReason: "malformed_id"},
			{name: "four backups", query: createPayment, vars: bk(pair(spare.PaymentMethodID, spare.MandateID), pair(spare.PaymentMethodID, spare.MandateID), pair(spare.PaymentMethodID, spare.MandateID), pair(spare.PaymentMethodID, spare.MandateID)), wantCode: "BAD_USER_INPUT", wantField: "input.backupPaymentMethods"},
			{name: "resolve an unknown attempt of a customer ID", query: `mutation($id: ID!) { resolveUnknownAttempt(id: $id, resolution: charged) { id } }`, vars: map[string]any{"id": c.CustomerID}, wantCode: "BAD_USER_INPUT", wantField: "id", wantReason: "malformed_id"},
			{name: "malformed node ID", query: `{ node(id: "DROP TABLE customers") { id } }`, wantCode: "BAD_USER_INPUT", wantField: "id", wantReason: "malformed_id"},
			{name: "card-number-looking token", query: savePM, vars: pm("4242424242424242", nil), wantCode: "BAD_USER_INPUT", wantField: "input.processorTokens[0].token", wantReason: "card_data_not_allowed"},
			{name: "spaced card number as token", query: savePM, vars: pm("4242 4242 4242 4242", nil), wantCode: "BAD_USER_INPUT", wantField: "input.processorTokens[0].token", wantReason: "card_data_not_allowed"},
			{name: "card number as last4", query: savePM, vars: pm("pm_card_visa", map[string]any{"last4": "4242424242424242"}), wantCode: "BAD_USER_INPUT", wantField: "input.card.last4"},
			{name: "expired card", query: savePM, vars: pm("pm_card_visa", map[string]any{"expYear": 2021}), wantCode: "BAD_USER_INPUT", wantField: "input.card.expYear", wantReason: "card_expired"},
			{name: "token of three parts", query: savePM, vars: pm("cus_1/pm_1/x", nil), wantCode: "BAD_USER_INPUT", wantField: "input.processorTokens[0].token"},
			{name: "import naming two objects", query: `mutation($in: ImportPaymentMethodInput!) { importPaymentMethod(input: $in) { id } }`, vars: map[string]any{"in": map[string]any{"customerID": c.CustomerID, "processorID": b.A.ProcessorID, "setupIntentID": "seti_1", "paymentMethodID": "pm_1"}}, wantCode: "BAD_USER_INPUT", wantField: "input"},
			{name: "import from a processor that cannot", query: `mutation($in: ImportPaymentMethodInput!) { importPaymentMethod(input: $in) { id } }`, vars: map[string]any{"in": map[string]any{"customerID": c.CustomerID, "processorID": b.A.ProcessorID, "paymentMethodID": "pm_1"}}, wantCode: "BAD_USER_INPUT", wantField: "input.processorID", wantReason: "processor_cannot_import"},
			{name: "import of a malformed object ID", query: `mutation($in: ImportPaymentMethodInput!) { importPaymentMethod(input: $in) { id } }`, vars: map[string]any{"in": map[string]any{"customerID": c.CustomerID, "processorID": b.A.ProcessorID, "paymentMethodID": "pm 1"}}, wantCode: "BAD_USER_INPUT", wantField: "input.paymentMethodID"},
			{name: "month 13", query: savePM, vars: pm("pm_card_visa", map[string]any{"expMonth": 13}), wantCode: "BAD_USER_INPUT", wantField: "input.card.expMonth"},
			{name: "no processor token", query: savePM, vars: map[string]any{"in": map[string]any{"customerID": c.CustomerID, "card": card(), "processorTokens": []any{}}}, wantCode: "BAD_USER_INPUT", wantField: "input.processorTokens"},
			{name: "unknown time zone", query: createCustomer, vars: map[string]any{"in": map[string]any{"timeZone": "Mars/Olympus"}}, wantCode: "BAD_USER_INPUT", wantField: "input.timeZone"},
			{name: "unknown country", query: createCustomer, vars: map[string]any{"in": map[string]any{"country": "XX"}}, wantCode: "BAD_USER_INPUT", wantField: "input.country"},
			{name: "bad email", query: createCustomer, vars: map[string]any{"in": map[string]any{"email": "not-an-email"}}, wantCode: "BAD_USER_INPUT", wantField: "input.email"},
			{name: "online mandate without IP", query: `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`,
				vars: map[string]any{"in": func() map[string]any {
					m := apitest.MandateInput(c, "recurring", 100, "usd")
					m["acceptance"] = map[string]any{"type": "online", "acceptedAt": time.Now().UTC().Format(time.RFC3339)}
					return m
				}()}, wantCode: "BAD_USER_INPUT", wantField: "input.acceptance.ipAddress"},
			{name: "oversized body", body: []byte(`{"query": "{ viewer { role } }", "variables": {"pad": "` + strings.Repeat("x", 2<<20) + `"}}`), wantCode: "BAD_USER_INPUT", wantField: "body"},
			{name: "too-deep query", query: deep, wantCode: "BAD_USER_INPUT", wantReason: "query_too_deep"},
			{name: "route left with no processors", query: `mutation($id: ID!) { updateRoute(id: $id, input: {processors: []}) { id } }`, vars: map[string]any{"id": routeID}, wantCode: "BAD_USER_INPUT", wantField: "input.processors"},
			{name: "live stripe key over http", query: `mutation { createProcessor(input: {name: "Stripe", type: stripe, credentials: "sk_live_123", baseURL: "http://127.0.0.1:1"}) { id } }`, wantCode: "BAD_USER_INPUT", wantField: "input.baseURL"},
			{name: "unparseable query", query: `mutation { createCustomer(`, wantCode: "BAD_USER_INPUT"},
			{name: "unknown field", query: `{ customers(first: 1) { edges { node { cardNumber } } } }`, wantCode: "BAD_USER_INPUT"},
		}
		before := tableState(t, b)
		for _, tt := range tests {
			var r apitest.Response
			if tt.body != nil {
				r = b.Post(t, key, tt.body)
			} else {
				r = b.Do(t, key, tt.query, tt.vars)
			}
			require.NotEmpty(t, r.Errors, "%s: want an error, got %s", tt.name, r.Raw)
			e := r.Errors[0]
			require.Equal(t, tt.wantCode, e.Code(), "%s: %s", tt.name, r.Raw)
			if tt.wantField != "" {
				require.Equal(t, tt.wantField, e.Field(), "%s: %s", tt.name, r.Raw)
			}
			if tt.wantReason != "" {
				require.Equal(t, tt.wantReason, e.Extensions["reason"], "%s: %s", tt.name, r.Raw)
			}
			require.NotContains(t, strings.ToLower(r.Raw), "sql", "%s: an error must not show SQL", tt.name)
			require.Equal(t, before, tableState(t, b), "%s changed rows", tt.name)
		}
	})
}
