package graph_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/internal/stripemocktest"
	"github.com/offsession/offsession/storage"
)

// TestImportPaymentMethodFromStripe: a card saved by a SetupIntent, by a
// PaymentIntent with setup_future_usage, or known by its PaymentMethod, is
// imported through stripe-go from stripe-mock with its details, its
// customer and the network transaction ID of the payment that saved it; a
// payment on it is then sent with that customer and that ID. stripe-mock's
// fixtures are never succeeded and carry no customer or network
// transaction ID: the proxy gives them the values Stripe would.
func TestImportPaymentMethodFromStripe(t *testing.T) {
	t.Parallel()
	rec := stripemocktest.NewRecorder(t, stripemocktest.Start(t))
	rec.PlayStatus.Store(true)
	rec.EditResponse = func(r *http.Request, body map[string]any) {
		if r.Method != http.MethodGet {
			return
		}
		withCustomer := func(pm any) {
			if m, ok := pm.(map[string]any); ok {
				m["customer"] = "cus_imported"
			}
		}
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/setup_intents/"):
			body["status"] = "succeeded"
			withCustomer(body["payment_method"])
			if a, ok := body["latest_attempt"].(map[string]any); ok {
				a["payment_method_details"] = map[string]any{"type": "card", "card": map[string]any{"network_transaction_id": "ntid_setup_001"}}
			}
		case strings.HasPrefix(r.URL.Path, "/v1/payment_intents/"):
			body["status"] = "succeeded"
			withCustomer(body["payment_method"])
			if c, ok := body["latest_charge"].(map[string]any); ok {
				c["payment_method_details"] = map[string]any{"type": "card", "card": map[string]any{"network_transaction_id": "ntid_checkout_002"}}
			}
		case strings.HasPrefix(r.URL.Path, "/v1/payment_methods/"):
			withCustomer(body)
		}
	}
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, apitest.AllowPrivateURLs)
		key := b.A.Keys.Secret
		prc := createProcessor(t, b, key, map[string]any{"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": rec.URL})
		const imp = `mutation($in: ImportPaymentMethodInput!) { importPaymentMethod(input: $in) {
			id brand funding last4 expMonth expYear issuingCountry fingerprint status processorTokens { processorID networkTransactionID } } }`
		for _, tt := range []struct {
			source, id, ntid string
		}{
			{"setupIntentID", "seti_123", "ntid_setup_001"},
			{"paymentIntentID", "pi_123", "ntid_checkout_002"},
			{"paymentMethodID", "pm_123", ""},
		} {
			t.Run(tt.source, func(t *testing.T) {
				r := b.Do(t, key, `mutation { createCustomer(input: {name: "Imported", email: "i@example.com", country: "US"}) { id } }`, nil)
				r.RequireOK(t)
				cus := r.String(t, "createCustomer.id")
				r = b.Do(t, key, imp, map[string]any{"in": map[string]any{"customerID": cus, "processorID": prc, tt.source: tt.id}})
				r.RequireOK(t)
				pm := r.Get(t, "importPaymentMethod").(map[string]any)
				require.Equal(t, "visa", pm["brand"])
				require.Equal(t, "credit", pm["funding"])
				require.Equal(t, "4242", pm["last4"])
				require.EqualValues(t, 8, pm["expMonth"])
				require.EqualValues(t, 2030, pm["expYear"])
				require.Equal(t, "US", pm["issuingCountry"])
				require.NotEmpty(t, pm["fingerprint"])
				require.Equal(t, "active", pm["status"])
				tok := pm["processorTokens"].([]any)[0].(map[string]any)
				require.Equal(t, prc, tok["processorID"])
				if tt.ntid == "" {
					require.Empty(t, tok["networkTransactionID"])
				} else {
					require.Equal(t, tt.ntid, tok["networkTransactionID"])
				}

				// A payment on the imported card goes to Stripe with the
				// card's customer and the saved network transaction ID.
				c := apitest.Chain{CustomerID: cus, PaymentMethodID: pm["id"].(string)}
				r = b.Do(t, key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": apitest.MandateInput(c, "recurring", 100000, "usd")})
				r.RequireOK(t)
				c.MandateID = r.String(t, "createMandate.id")
				r = b.CreatePayment(t, key, apitest.PaymentInput(c, 1500, map[string]any{"retryStrategy": "none"}))
				r.RequireOK(t)
				id := r.String(t, "createOffSessionPayment.id")
				b.RunDue(t)
				status, _ := firstAttempt(t, b, key, id)
				require.Equal(t, "succeeded", status)
				sent := rec.Matching(http.MethodPost, "/v1/payment_intents", id+"-1")
				require.Len(t, sent, 1)
				require.Equal(t, "cus_imported", sent[0].Form.Get("customer"))
				require.True(t, strings.HasPrefix(sent[0].Form.Get("payment_method"), "pm_"), sent[0].Form.Get("payment_method"))
				require.Equal(t, tt.ntid, sent[0].Form.Get("payment_method_options[card][mit_exemption][network_transaction_id]"))
			})
		}

		// Bad input: a coded error naming the field, and nothing saved.
		r := b.Do(t, key, `mutation { createCustomer(input: {name: "Refused", email: "r@example.com", country: "US"}) { id } }`, nil)
		r.RequireOK(t)
		cus := r.String(t, "createCustomer.id")
		for _, tt := range []struct {
			in            map[string]any
			field, reason string
		}{
			{in: map[string]any{"processorID": prc, "setupIntentID": "seti_1", "paymentMethodID": "pm_1"}, field: "input"},
			{in: map[string]any{"processorID": prc}, field: "input"},
			{in: map[string]any{"processorID": b.A.ProcessorID, "paymentMethodID": "pm_1"}, field: "input.processorID", reason: "processor_cannot_import"},
			{in: map[string]any{"processorID": prc, "paymentMethodID": "pm 1"}, field: "input.paymentMethodID"},
		} {
			tt.in["customerID"] = cus
			e := b.Do(t, key, imp, map[string]any{"in": tt.in}).RequireError(t, "BAD_USER_INPUT")
			require.Equal(t, tt.field, e.Field(), e.Message)
			if tt.reason != "" {
				require.Equal(t, tt.reason, e.Extensions["reason"])
			}
		}
		r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on Customer { paymentMethods { totalCount } } } }`, map[string]any{"id": cus})
		r.RequireOK(t)
		require.EqualValues(t, 0, r.Get(t, "node.paymentMethods.totalCount"), "nothing was saved")
	})
}
