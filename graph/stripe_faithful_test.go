package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/apitest"
	"github.com/offsession/offsession/processors/stripefaithful"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/storage/storagetest"
)

// TestStripeStored500IsLookedUp: Stripe stores the first answer to a key, a
// 500 included, and replays it to every repeat; after 24 hours it forgets
// the key and a repeat would be a new charge. When the 500 came after a
// charge or a decline, the engine finds the PaymentIntent by the attempt's
// key (listed by the card's customer) on its first repeat and records its
// outcome: two processor calls, one charge, also after the key expired.
func TestStripeStored500IsLookedUp(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		for _, tt := range []struct {
			name       string
			decline    *stripefaithful.Decline
			keyExpires bool
			wantStatus string
			wantOut    string
			wantCharge int
		}{
			{name: "charged", wantStatus: "succeeded", wantOut: "approved", wantCharge: 1},
			{name: "charged, key expired", keyExpires: true, wantStatus: "succeeded", wantOut: "approved", wantCharge: 1},
			{name: "declined", decline: &stripefaithful.Decline{DeclineCode: "insufficient_funds"}, wantStatus: "failed", wantOut: "declined"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv := stripefaithful.New(t)
				srv.AddCard("pm_saved", stripefaithful.Card{Customer: "cus_ada", Decline: tt.decline})
				b := apitest.New(t, st)
				key := b.A.Keys.Secret
				prc := createProcessor(t, b, key, map[string]any{"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": srv.URL})
				clk := clock(t, b, key)
				c := clockedTokenChain(t, b, key, clk, map[string]any{"processorID": prc, "token": "cus_ada/pm_saved"})

				srv.FailNext(stripefaithful.FaultChargeThen500)
				r := b.CreatePayment(t, key, apitest.PaymentInput(c, 2500, map[string]any{"retryStrategy": "none"}))
				r.RequireOK(t)
				id := r.String(t, "createOffSessionPayment.id")
				advance(t, b, key, clk, t0.Add(time.Second))
				status, att := firstAttempt(t, b, key, id)
				require.Equal(t, "processing", status, "a 500: the outcome is unknown")
				require.Equal(t, "in_flight", att["outcome"])

				if tt.keyExpires {
					srv.Advance(stripefaithful.IdempotencyTTL + time.Hour)
				}
				advance(t, b, key, clk, t0.Add(time.Hour))
				status, att = firstAttempt(t, b, key, id)
				require.Equal(t, tt.wantStatus, status)
				require.Equal(t, tt.wantOut, att["outcome"])
				require.EqualValues(t, 2, att["calls"], "the call and one lookup")
				require.Equal(t, 1, srv.Calls(), "the charge was never sent again")
				require.Equal(t, tt.wantCharge, srv.Charges())
				require.Equal(t, "cus_ada", srv.Requests[0].Get("customer"), "an attached card is charged with its customer")
			})
		}
	})
}

// clockedTokenChain is tokenChain for a customer on test clock clk.
func clockedTokenChain(t *testing.T, b *apitest.Bundle, key, clk string, tokens ...map[string]any) apitest.Chain {
	t.Helper()
	r := b.Do(t, key, `mutation($clk: ID!) { createCustomer(input: {name: "Ada Lovelace", email: "ada@example.com", country: "GB", testClockID: $clk}) { id } }`, map[string]any{"clk": clk})
	r.RequireOK(t)
	c := apitest.Chain{CustomerID: r.String(t, "createCustomer.id")}
	r = b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"customerID": c.CustomerID, "processorTokens": tokens,
		"card": map[string]any{"brand": "visa", "funding": "credit", "last4": "4242", "expMonth": 12, "expYear": 2030,
			"issuingCountry": "GB", "fingerprint": "fp_" + c.CustomerID},
	}})
	r.RequireOK(t)
	c.PaymentMethodID = r.String(t, "savePaymentMethod.id")
	r = b.Do(t, key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": apitest.MandateInput(c, "recurring", 1_000_000, "usd")})
	r.RequireOK(t)
	c.MandateID = r.String(t, "createMandate.id")
	return c
}
