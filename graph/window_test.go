package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// TestDefaultScheduleMakesItsLastRetry: the default schedule (1d, 3d, 7d,
// 14d in a 2-week window) makes its 14-day retry, planned at the window's
// closing instant, and then ends with its retries used, not with the
// window closed.
func TestDefaultScheduleMakesItsLastRetry(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		pol := policy(t, b, key, map[string]any{"name": "defaults", "strategy": "scheduled"})
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds", TestClockID: clk})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 2500, map[string]any{"retryPolicyID": pol}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")

		advance(t, b, key, clk, t0.Add(30*24*time.Hour))
		p := b.Payment(t, key, id)
		atts := attempts(t, p)
		require.Len(t, atts, 5, "the first attempt and four retries")
		for i, days := range []time.Duration{0, 1, 3, 7, 14} {
			require.Equal(t, t0.Add(days*24*time.Hour), atts[i].StartedAt, "attempt %d", i+1)
		}
		require.Equal(t, "failed", p["status"])
		require.Equal(t, "retries_exhausted", p["failureReason"])
	})
}

// TestCardExpiryOnTheCustomersClock: a customer on a test clock saves
// cards as of the clock's time, not the wall clock's.
func TestCardExpiryOnTheCustomersClock(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key) // t0: 2026-06-01
		customer := func(clockID string) string {
			in := map[string]any{"name": "Clocked", "email": "c@example.com", "country": "US", "timeZone": "UTC"}
			if clockID != "" {
				in["testClockID"] = clockID
			}
			r := b.Do(t, key, `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`, map[string]any{"in": in})
			r.RequireOK(t)
			return r.String(t, "createCustomer.id")
		}
		save := func(cus string, month, year int) apitest.Response {
			return b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id expMonth expYear } }`, map[string]any{"in": map[string]any{
				"customerID": cus,
				"card": map[string]any{"brand": "visa", "funding": "credit", "last4": "4242", "expMonth": month,
					"expYear": year, "issuingCountry": "US", "fingerprint": "fp_" + cus},
				"processorTokens": []map[string]any{{"processorID": b.A.ProcessorID, "token": "pm_card_visa"}},
			}})
		}
		clocked := customer(clk)

		// Valid through June 2026: valid on the clock.
		save(clocked, 6, 2026).RequireOK(t)
		// Expired at the end of May 2026: expired on the clock too.
		e := save(clocked, 5, 2026).RequireError(t, "BAD_USER_INPUT")
		require.Equal(t, "input.card.expYear", e.Field())
		require.Equal(t, "card_expired", e.Extensions["reason"])
		r := b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on Customer { paymentMethods { totalCount } } } }`, map[string]any{"id": clocked})
		r.RequireOK(t)
		require.EqualValues(t, 1, r.Get(t, "node.paymentMethods.totalCount"), "the refused card was not saved")

		if time.Now().After(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) {
			// The same June 2026 card, for a customer on the wall clock,
			// is expired by now.
			e = save(customer(""), 6, 2026).RequireError(t, "BAD_USER_INPUT")
			require.Equal(t, "input.card.expYear", e.Field())
		}
	})
}
