package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// TestRule2SingleUseMandateChargesOnce: a single-use mandate backs one
// payment at a time and is used up by its success.
func TestRule2SingleUseMandateChargesOnce(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		single := func(token string) apitest.Chain {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: token})
			in := apitest.MandateInput(c, "unscheduled", 5000, "usd")
			in["limits"].(map[string]any)["useLimit"] = "single_use"
			r := b.Do(t, key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": in})
			r.RequireOK(t)
			c.MandateID = r.String(t, "createMandate.id")
			return c
		}
		pay := func(c apitest.Chain, extra map[string]any) apitest.Response {
			in := apitest.PaymentInput(c, 1000, extra)
			in["cadence"] = "unscheduled"
			return b.CreatePayment(t, key, in)
		}

		c := single("pm_card_visa")
		first := pay(c, map[string]any{"idempotencyKey": "single-1"})
		first.RequireOK(t)
		e := pay(c, nil).RequireError(t, "BAD_USER_INPUT")
		require.Equal(t, "mandate_in_use", e.Extensions["reason"], "a second payment on a single-use mandate is refused")
		b.RunDue(t)
		id := first.String(t, "createOffSessionPayment.id")
		require.Equal(t, "succeeded", b.Payment(t, key, id)["status"])
		e = pay(c, nil).RequireError(t, "BAD_USER_INPUT")
		require.Equal(t, "mandate_inactive", e.Extensions["reason"], "used up")

		// A replay of the first request still returns the first payment.
		again := pay(c, map[string]any{"idempotencyKey": "single-1"})
		again.RequireOK(t)
		require.Equal(t, id, again.String(t, "createOffSessionPayment.id"))

		// A payment that fails gives the mandate back.
		d := single("pm_card_chargeDeclinedInsufficientFunds")
		failed := pay(d, map[string]any{"retryStrategy": "none"})
		failed.RequireOK(t)
		b.RunDue(t)
		require.Equal(t, "failed", b.Payment(t, key, failed.String(t, "createOffSessionPayment.id"))["status"])
		pay(d, map[string]any{"retryStrategy": "none"}).RequireOK(t)
	})
}
