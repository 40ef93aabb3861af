package graph_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// TestRule1IdempotencyKeyReplaysAndConflicts: a replay with the same key and
// parameters returns the original payment, field for field as the first
// request answered and as stored; with other parameters it is a
// CONFLICT; 50 concurrent identical requests create one payment.
func TestRule1IdempotencyKeyReplaysAndConflicts(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		countPayments := func() int {
			n, err := st.Client.OffSessionPayment.Query().
				Where(offsessionpayment.CustomerID(c.CustomerID)).
				Count(viewer.SystemContext(context.Background()))
			require.NoError(t, err)
			return n
		}

		in := apitest.PaymentInput(c, 2000, map[string]any{"idempotencyKey": "order-1001"})
		first := b.CreatePayment(t, key, in)
		first.RequireOK(t)
		id := first.String(t, "createOffSessionPayment.id")
		again := b.CreatePayment(t, key, in)
		again.RequireOK(t)
		require.Equal(t, id, again.String(t, "createOffSessionPayment.id"))
		require.Equal(t, first.Get(t, "createOffSessionPayment"), again.Get(t, "createOffSessionPayment"),
			"the replay answers what the first request answered, to the last field")
		require.Equal(t, first.Get(t, "createOffSessionPayment"), b.Payment(t, key, id),
			"which is the payment as stored")
		require.Equal(t, 1, countPayments())

		other := apitest.PaymentInput(c, 2500, map[string]any{"idempotencyKey": "order-1001"})
		e := b.CreatePayment(t, key, other).RequireError(t, "CONFLICT")
		require.Equal(t, "input.idempotencyKey", e.Field())
		require.Equal(t, 1, countPayments())

		// The same key in another account is another request.
		cB := b.NewChain(t, b.B, apitest.ChainOptions{})
		rB := b.CreatePayment(t, b.B.Keys.Secret, apitest.PaymentInput(cB, 2000, map[string]any{"idempotencyKey": "order-1001"}))
		rB.RequireOK(t)
		require.NotEqual(t, id, rB.String(t, "createOffSessionPayment.id"))

		// The same key for another operation is a CONFLICT.
		r := b.Do(t, key, `mutation { createCustomer(input: {idempotencyKey: "order-1001", name: "X"}) { id } }`, nil)
		r.RequireError(t, "CONFLICT")

		concurrent := apitest.PaymentInput(c, 3000, map[string]any{"idempotencyKey": "order-1002"})
		const n = 50
		got := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := b.CreatePayment(t, key, concurrent)
				if len(r.Errors) == 0 {
					got[i] = r.Get(t, "createOffSessionPayment.id").(string)
				} else {
					got[i] = "error: " + r.Raw
				}
			}()
		}
		wg.Wait()
		for i := range n {
			require.Equal(t, got[0], got[i], "request %d", i)
		}
		require.Equal(t, 2, countPayments(), "50 identical concurrent requests create one payment")

		b.RunDue(t)
		b.RunDue(t)
		p := b.Payment(t, key, got[0])
		require.Equal(t, "succeeded", p["status"])
		require.EqualValues(t, 1, p["attemptCount"], "and it is charged once")
	})
}
