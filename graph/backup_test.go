package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// backupOf saves another card of c's customer, with its own fingerprint,
// simulator token and mandate, and returns it as a chain.
func backupOf(t *testing.T, b *apitest.Bundle, a apitest.Account, c apitest.Chain, token, fingerprint string, usage string) apitest.Chain {
	t.Helper()
	r := b.Do(t, a.Keys.Secret, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"customerID": c.CustomerID,
		"card": map[string]any{"brand": "mastercard", "funding": "debit", "last4": "5556", "expMonth": 6,
			"expYear": time.Now().Year() + 2, "issuingCountry": "US", "fingerprint": fingerprint},
		"processorTokens": []map[string]any{{"processorID": a.ProcessorID, "token": token}},
	}})
	r.RequireOK(t)
	bk := apitest.Chain{CustomerID: c.CustomerID, PaymentMethodID: r.String(t, "savePaymentMethod.id")}
	in := apitest.MandateInput(bk, "recurring", 100000, "usd")
	if usage != "" {
		in["limits"].(map[string]any)["useLimit"] = usage
	}
	r = b.Do(t, a.Keys.Secret, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": in})
	r.RequireOK(t)
	bk.MandateID = r.String(t, "createMandate.id")
	return bk
}

func backups(cs ...apitest.Chain) []map[string]any {
	out := make([]map[string]any, len(cs))
	for i, c := range cs {
		out[i] = map[string]any{"paymentMethodID": c.PaymentMethodID, "mandateID": c.MandateID}
	}
	return out
}

// backupFields are what the tests read of a payment with backups.
const backupFields = `status failureReason paymentMethod { id status } mandate { id }
	backupPaymentMethods { paymentMethod { id } mandate { id } }
	attempts(first: 20) { edges { node { number outcome declineClass paymentMethodID cardFingerprint isRetry scheduling { strategy reason } } } }`

func readBackupPayment(t *testing.T, b *apitest.Bundle, key, id string) apitest.Response {
	t.Helper()
	r := b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { `+backupFields+` } } }`, map[string]any{"id": id})
	r.RequireOK(t)
	return r
}

// TestBackupPaymentMethodAfterAHardDecline: a card declined hard (stolen)
// or as out of date (expired, and the simulator has no updater) is not the
// end of a payment that names backups: the next valid one, under its own
// mandate, is charged at once, as a first attempt on that card (not a
// retry: the network's budget is the card's). The attempt records which
// card it charged; the move is an event; a backup that cannot be charged
// (invalid, or its mandate revoked) is skipped, saying so.
func TestBackupPaymentMethodAfterAHardDecline(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		for _, tt := range []struct {
			name, primary string
			wantClass     string
		}{
			{name: "hard decline", primary: "pm_card_chargeDeclinedStolenCard", wantClass: "hard"},
			{name: "out-of-date card", primary: "pm_card_chargeDeclinedExpiredCard", wantClass: "needs_new_card_data"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				b := apitest.New(t, st)
				key := b.A.Keys.Secret
				clk := clock(t, b, key)
				c := b.NewChain(t, b.A, apitest.ChainOptions{Token: tt.primary, TestClockID: clk})
				revoked := backupOf(t, b, b.A, c, "pm_card_visa", "fp_revoked", "")
				good := backupOf(t, b, b.A, c, "pm_card_mastercard", "fp_good", "single_use")
				r := b.CreatePayment(t, key, apitest.PaymentInput(c, 4200, map[string]any{
					"retryStrategy": "heuristic", "backupPaymentMethods": backups(revoked, good)}))
				r.RequireOK(t)
				id := r.String(t, "createOffSessionPayment.id")
				// The customer withdraws consent for the first backup after
				// the payment was made.
				r = b.Do(t, key, `mutation($id: ID!) { revokeMandate(id: $id) { status } }`, map[string]any{"id": revoked.MandateID})
				r.RequireOK(t)
				advance(t, b, key, clk, t0.Add(time.Minute))

				r = readBackupPayment(t, b, key, id)
				require.Equal(t, "succeeded", r.String(t, "node.status"), r.Raw)
				require.Equal(t, good.PaymentMethodID, r.String(t, "node.paymentMethod.id"), "the payment method charged now")
				require.Equal(t, good.MandateID, r.String(t, "node.mandate.id"))
				require.Len(t, r.Get(t, "node.backupPaymentMethods").([]any), 2)
				edges := r.Get(t, "node.attempts.edges").([]any)
				require.Len(t, edges, 2)
				first := edges[0].(map[string]any)["node"].(map[string]any)
				second := edges[1].(map[string]any)["node"].(map[string]any)
				require.Equal(t, "declined", first["outcome"])
				require.Equal(t, tt.wantClass, first["declineClass"])
				require.Equal(t, c.PaymentMethodID, first["paymentMethodID"])
				require.Equal(t, "approved", second["outcome"])
				require.Equal(t, good.PaymentMethodID, second["paymentMethodID"])
				require.Equal(t, "fp_good", second["cardFingerprint"])
				require.Equal(t, false, second["isRetry"], "the first attempt on the backup card is not a reattempt of it")
				sched := second["scheduling"].(map[string]any)
				require.Equal(t, "backup_payment_method", sched["strategy"])
				require.Contains(t, sched["reason"], "moving to backup "+good.PaymentMethodID)
				require.Contains(t, sched["reason"], "skipped "+revoked.PaymentMethodID+": mandate_revoked")

				require.Contains(t, b.EventTypes(t, key, id), "off_session_payment.payment_method_switched")
				r = b.Do(t, key, `query($id: String!) { events(first: 5, where: {objectID: $id, type: "off_session_payment.payment_method_switched"}) { edges { node { data } } } }`, map[string]any{"id": id})
				r.RequireOK(t)
				data := r.Get(t, "events.edges").([]any)[0].(map[string]any)["node"].(map[string]any)["data"].(map[string]any)
				require.Equal(t, c.PaymentMethodID, data["previous_payment_method"])
				require.Equal(t, good.PaymentMethodID, data["payment_method"])

				// The single-use backup mandate was charged: used up.
				r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on Mandate { status } } }`, map[string]any{"id": good.MandateID})
				r.RequireOK(t)
				require.Equal(t, "inactive", r.String(t, "node.status"))
			})
		}
	})
}

// TestBackupPaymentMethodsRunOut: when every backup is declined hard the
// payment fails as it would without them, each card marked invalid, and a
// single-use backup mandate that was never charged is free again.
func TestBackupPaymentMethodsRunOut(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedLostCard", TestClockID: clk})
		lost := backupOf(t, b, b.A, c, "pm_card_chargeDeclinedStolenCard", "fp_stolen", "")
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 4200, map[string]any{"retryStrategy": "heuristic", "backupPaymentMethods": backups(lost)}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		advance(t, b, key, clk, t0.Add(time.Minute))
		r = readBackupPayment(t, b, key, id)
		require.Equal(t, "failed", r.String(t, "node.status"))
		require.Equal(t, "no_valid_payment_method", r.String(t, "node.failureReason"))
		require.Equal(t, "invalid", r.String(t, "node.paymentMethod.status"))
		require.Len(t, r.Get(t, "node.attempts.edges").([]any), 2)

		// A single-use backup mandate is held by the payment that names it,
		// and free again once that payment succeeds on another card.
		free := backupOf(t, b, b.A, c, "pm_card_visa", "fp_free", "single_use")
		other := backupOf(t, b, b.A, c, "pm_card_visa", "fp_other", "")
		r = b.CreatePayment(t, key, apitest.PaymentInput(other, 100, map[string]any{"retryStrategy": "none", "backupPaymentMethods": backups(free)}))
		r.RequireOK(t)
		held := r.String(t, "createOffSessionPayment.id")
		r = b.CreatePayment(t, key, apitest.PaymentInput(free, 100, map[string]any{"retryStrategy": "none"}))
		e := r.RequireError(t, "BAD_USER_INPUT")
		require.Equal(t, "input.mandateID", e.Field())
		require.Contains(t, e.Message, "taken by another payment")
		advance(t, b, key, clk, t0.Add(2*time.Minute))
		require.Equal(t, "succeeded", readBackupPayment(t, b, key, held).String(t, "node.status"))
		r = b.CreatePayment(t, key, apitest.PaymentInput(free, 100, map[string]any{"retryStrategy": "none"}))
		r.RequireOK(t)
	})
}

// TestBackupCardKeepsItsOwnNetworkBudget: network retry budgets count per
// card. Other payments have used a Mastercard's daily budget (10
// retries); a payment whose own card is declined hard moves to that
// Mastercard as its backup, and its first attempt on it goes at once: it
// is not a reattempt of that card. Its retries on the backup then wait
// for the card's budget like every other retry on it.
func TestBackupCardKeepsItsOwnNetworkBudget(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		pol := policy(t, b, key, map[string]any{"name": "eager", "strategy": "scheduled", "schedule": []string{"1h", "2h", "3h"}, "window": "3w"})
		for range 4 {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds", Brand: "mastercard", Fingerprint: "fp_mc", TestClockID: clk})
			b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryPolicyID": pol})).RequireOK(t)
		}
		full := t0.Add(3*time.Hour + time.Minute)
		advance(t, b, key, clk, full)

		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedStolenCard", TestClockID: clk})
		mc := backupOf(t, b, b.A, c, "pm_card_chargeDeclinedInsufficientFunds", "fp_mc", "")
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryPolicyID": pol, "backupPaymentMethods": backups(mc)}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		advance(t, b, key, clk, full.Add(time.Minute))

		r = readBackupPayment(t, b, key, id)
		edges := r.Get(t, "node.attempts.edges").([]any)
		require.Len(t, edges, 2, r.Raw)
		onBackup := edges[1].(map[string]any)["node"].(map[string]any)
		require.Equal(t, mc.PaymentMethodID, onBackup["paymentMethodID"])
		require.Equal(t, false, onBackup["isRetry"])
		require.Equal(t, "declined", onBackup["outcome"], "made at once, though the card's daily budget is used up")

		advance(t, b, key, clk, t0.Add(4*24*time.Hour))
		r = b.Do(t, key, `{ offSessionPayments(first: 20) { edges { node { attempts(first: 10) { edges { node {
			cardFingerprint isRetry startedAt scheduling { reason } } } } } } } }`, nil)
		r.RequireOK(t)
		var retries []time.Time
		moved := 0
		for _, e := range r.Get(t, "offSessionPayments.edges").([]any) {
			for _, a := range e.(map[string]any)["node"].(map[string]any)["attempts"].(map[string]any)["edges"].([]any) {
				n := a.(map[string]any)["node"].(map[string]any)
				if n["cardFingerprint"] != "fp_mc" || n["isRetry"] != true {
					continue
				}
				at, _ := time.Parse(time.RFC3339, n["startedAt"].(string))
				retries = append(retries, at)
				if strings.Contains(n["scheduling"].(map[string]any)["reason"].(string), "budget full") {
					moved++
				}
			}
		}
		require.Len(t, retries, 15, "4 payments and the backup, 3 retries each, all on the card")
		for _, a := range retries {
			n := 0
			for _, x := range retries {
				if !x.After(a) && x.After(a.Add(-24*time.Hour)) {
					n++
				}
			}
			require.LessOrEqual(t, n, 10, "at most 10 retries on the Mastercard in a day")
		}
		require.Positive(t, moved)
	})
}

// TestHoldoutRunsItsStrategyPerCustomer: a smart policy with a holdout
// share puts whole customers in its control group, whose retries its
// holdout strategy (here the heuristic) plans; the other customers' are
// planned by smart. Each customer's two payments land in the same group,
// and both groups are drawn.
func TestHoldoutRunsItsStrategyPerCustomer(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		pol := policy(t, b, key, map[string]any{"name": "ab", "strategy": "smart", "holdoutShare": 0.5, "holdoutStrategy": "heuristic"})
		var customers [][]string
		for range 16 {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds", TestClockID: clk})
			var ids []string
			for range 2 {
				r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryPolicyID": pol}))
				r.RequireOK(t)
				ids = append(ids, r.String(t, "createOffSessionPayment.id"))
			}
			customers = append(customers, ids)
		}
		advance(t, b, key, clk, t0.Add(time.Minute))
		groups := map[bool]int{}
		for _, ids := range customers {
			var held []bool
			for _, id := range ids {
				r := b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { holdout holdoutStrategy attemptCount nextAttempt { strategy } } } }`, map[string]any{"id": id})
				r.RequireOK(t)
				h := r.Get(t, "node.holdout").(bool)
				held = append(held, h)
				require.EqualValues(t, 1, r.Get(t, "node.attemptCount"))
				want := "smart"
				if h {
					want = "heuristic"
					require.Equal(t, "heuristic", r.String(t, "node.holdoutStrategy"))
				}
				require.Equal(t, want, r.String(t, "node.nextAttempt.strategy"), "payment %s, holdout %v", id, h)
			}
			require.Equal(t, held[0], held[1], "a customer's payments are in one group")
			groups[held[0]]++
		}
		require.Positive(t, groups[true], "some customers are held out")
		require.Positive(t, groups[false], "some are not")
	})
}
