package graph_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/internal/stripefaithful"
	"github.com/offsession/offsession/storage"
)

// TestStripeStored500Ends: Stripe stores the first answer to a key, a 500
// included, and replays it to every repeat; after 24 hours it forgets the
// key and a repeat runs as a new request. Whatever the 500 hid, the
// payment ends, in at most 5 calls to Stripe for the attempt, with one
// charge at most: a charge or a decline is found by listing the card's
// customer's PaymentIntents before any repeat; when the repeat meets the
// stored 500 and the list shows nothing under the key, nothing was charged,
// and the next attempt goes out under a key of its own.
func TestStripeStored500Ends(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		for _, tt := range []struct {
			name       string
			fault      stripefaithful.Fault
			decline    *stripefaithful.Decline
			keyExpires bool
			wantStatus string
			// wantOutcomes are the attempts' outcomes, wantCalls the
			// engine's count of processor calls on each.
			wantOutcomes []string
			wantCalls    []int
			wantCreates  int
			wantCharges  int
		}{
			{name: "charged", fault: stripefaithful.FaultChargeThen500, wantStatus: "succeeded",
				wantOutcomes: []string{"approved"}, wantCalls: []int{2}, wantCreates: 1, wantCharges: 1},
			{name: "charged, key expired", fault: stripefaithful.FaultChargeThen500, keyExpires: true, wantStatus: "succeeded",
				wantOutcomes: []string{"approved"}, wantCalls: []int{2}, wantCreates: 1, wantCharges: 1},
			{name: "declined", fault: stripefaithful.FaultChargeThen500, decline: &stripefaithful.Decline{DeclineCode: "insufficient_funds"},
				wantStatus: "failed", wantOutcomes: []string{"declined"}, wantCalls: []int{2}, wantCreates: 1},
			{name: "not charged", fault: stripefaithful.Fault500, wantStatus: "succeeded",
				wantOutcomes: []string{"technical_error", "approved"}, wantCalls: []int{2, 1}, wantCreates: 3, wantCharges: 1},
			{name: "not charged, key expired", fault: stripefaithful.Fault500, keyExpires: true, wantStatus: "succeeded",
				wantOutcomes: []string{"approved"}, wantCalls: []int{2}, wantCreates: 2, wantCharges: 1},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv := stripefaithful.New(t)
				srv.AddCard("pm_saved", stripefaithful.Card{Customer: "cus_ada", Decline: tt.decline})
				b := apitest.NewWith(t, st, apitest.AllowPrivateURLs)
				key := b.A.Keys.Secret
				prc := createProcessor(t, b, key, map[string]any{"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": srv.URL})
				clk := clock(t, b, key)
				c := tokenChainOn(t, b, key, "visa", clk, map[string]any{"processorID": prc, "token": "cus_ada/pm_saved"})

				srv.FailNext(tt.fault)
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
				advance(t, b, key, clk, t0.Add(2*time.Hour))
				r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { status attempts(first: 5) { edges { node { idempotencyKey outcome calls } } } } } }`, map[string]any{"id": id})
				r.RequireOK(t)
				require.Equal(t, tt.wantStatus, r.String(t, "node.status"))
				var outcomes []string
				var calls []int
				keys := map[string]bool{}
				for _, e := range r.Get(t, "node.attempts.edges").([]any) {
					n := e.(map[string]any)["node"].(map[string]any)
					outcomes = append(outcomes, n["outcome"].(string))
					calls = append(calls, int(n["calls"].(float64)))
					keys[n["idempotencyKey"].(string)] = true
				}
				require.Equal(t, tt.wantOutcomes, outcomes)
				require.Equal(t, tt.wantCalls, calls)
				require.Len(t, keys, len(outcomes), "each attempt under a key of its own")
				require.LessOrEqual(t, srv.Requests(), 5*len(outcomes), "at most 5 calls to Stripe per attempt")
				require.Equal(t, tt.wantCreates, srv.Calls())
				require.Equal(t, tt.wantCharges, srv.Charges(), "never a second charge")
				require.Equal(t, "cus_ada", srv.Creates[0].Get("customer"), "an attached card is charged with its customer")
			})
		}
	})
}

// TestStripeCardUpdaterRenewsADeclinedCard: a card declined expired_card
// is read afresh from Stripe; when Stripe's account updater holds a new
// expiry, it is saved on the payment method (event payment_method.updated)
// and the payment is retried at once and succeeds. When Stripe holds
// nothing newer, the payment waits for new card data as before.
func TestStripeCardUpdaterRenewsADeclinedCard(t *testing.T) {
	t.Parallel()
	saved := time.Now().Year() + 2
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		for _, tt := range []struct {
			name               string
			expMonth, expYear  int
			wantStatus         string
			wantAttempts       int
			wantExpYear        int
			wantPaymentMethods string
			wantEvent          bool
		}{
			// tokenChainOn saves the card as expiring 12/(this year + 2).
			{name: "renewed", expMonth: 3, expYear: saved + 4, wantStatus: "succeeded", wantAttempts: 2, wantExpYear: saved + 4, wantPaymentMethods: "active", wantEvent: true},
			{name: "nothing newer", expMonth: 12, expYear: saved, wantStatus: "pending_retry", wantAttempts: 1, wantExpYear: saved, wantPaymentMethods: "expired"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv := stripefaithful.New(t)
				srv.AddCard("pm_saved", stripefaithful.Card{Customer: "cus_ada", DeclineFirst: &stripefaithful.Decline{Code: "expired_card"},
					Last4: "4242", ExpMonth: tt.expMonth, ExpYear: tt.expYear})
				b := apitest.NewWith(t, st, apitest.AllowPrivateURLs)
				key := b.A.Keys.Secret
				prc := createProcessor(t, b, key, map[string]any{"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": srv.URL})
				clk := clock(t, b, key)
				c := tokenChainOn(t, b, key, "visa", clk, map[string]any{"processorID": prc, "token": "cus_ada/pm_saved"})
				r := b.CreatePayment(t, key, apitest.PaymentInput(c, 2500, map[string]any{"retryStrategy": "heuristic"}))
				r.RequireOK(t)
				id := r.String(t, "createOffSessionPayment.id")
				advance(t, b, key, clk, t0.Add(time.Hour))

				r = b.Do(t, key, `query($id: ID!, $pm: ID!) {
					p: node(id: $id) { ... on OffSessionPayment { status attempts(first: 5) { totalCount edges { node { declineCode outcome } } } } }
					pm: node(id: $pm) { ... on PaymentMethod { status expMonth expYear } } }`, map[string]any{"id": id, "pm": c.PaymentMethodID})
				r.RequireOK(t)
				require.Equal(t, tt.wantStatus, r.String(t, "p.status"))
				require.EqualValues(t, tt.wantAttempts, r.Get(t, "p.attempts.totalCount"))
				require.Equal(t, "expired_card", r.Get(t, "p.attempts.edges").([]any)[0].(map[string]any)["node"].(map[string]any)["declineCode"])
				require.Equal(t, tt.wantPaymentMethods, r.String(t, "pm.status"))
				require.EqualValues(t, tt.wantExpYear, r.Get(t, "pm.expYear"))
				require.Equal(t, tt.wantEvent, slices.Contains(b.EventTypes(t, key, c.PaymentMethodID), "payment_method.updated"))
				if tt.wantEvent {
					require.Equal(t, 1, srv.Charges())
				}
			})
		}
	})
}

// TestStripeUnknownOutcomeRequiresReview: with a card that belongs to no
// customer, an attempt is found by Stripe's search, which lags behind
// (up to an hour in an outage). A 500 whose PaymentIntent search does not
// show yet stays unknown: the engine repeats the call, with its key and a
// look-up before each repeat, eight times at most, then moves the payment
// to requires_review (an event), where the scheduler leaves it and cancel
// is refused until an operator resolves it. Stripe's record, once it
// shows, wins over the operator's word; without it the operator's word is
// taken. Never a second charge.
func TestStripeUnknownOutcomeRequiresReview(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		for _, tt := range []struct {
			name  string
			fault stripefaithful.Fault
			// caughtUp lets search catch up before the operator resolves.
			caughtUp     bool
			resolution   string
			wantStatus   string
			wantOutcomes []string
			wantRef      string
			wantCharges  int
		}{
			{name: "charged; Stripe's record wins over not_charged", fault: stripefaithful.FaultChargeThen500, caughtUp: true, resolution: "not_charged",
				wantStatus: "succeeded", wantOutcomes: []string{"approved"}, wantRef: "pi_faithful_1", wantCharges: 1},
			{name: "charged; the operator says so", fault: stripefaithful.FaultChargeThen500, resolution: "charged",
				wantStatus: "succeeded", wantOutcomes: []string{"approved"}, wantRef: "pi_from_the_dashboard", wantCharges: 1},
			{name: "not charged", fault: stripefaithful.Fault500, resolution: "not_charged",
				wantStatus: "succeeded", wantOutcomes: []string{"technical_error", "approved"}, wantCharges: 1},
		} {
			t.Run(tt.name, func(t *testing.T) {
				srv := stripefaithful.New(t)
				srv.SearchDelay = time.Hour
				srv.AddCard("pm_loose", stripefaithful.Card{})
				b := apitest.NewWith(t, st, apitest.AllowPrivateURLs)
				key := b.A.Keys.Secret
				prc := createProcessor(t, b, key, map[string]any{"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": srv.URL})
				clk := clock(t, b, key)
				c := tokenChainOn(t, b, key, "visa", clk, map[string]any{"processorID": prc, "token": "pm_loose"})
				srv.FailNext(tt.fault)
				r := b.CreatePayment(t, key, apitest.PaymentInput(c, 2500, map[string]any{"retryStrategy": "heuristic"}))
				r.RequireOK(t)
				id := r.String(t, "createOffSessionPayment.id")
				advance(t, b, key, clk, t0.Add(time.Hour))
				advance(t, b, key, clk, t0.Add(24*time.Hour))

				const q = `query($id: ID!) { node(id: $id) { ... on OffSessionPayment { status nextAttempt { at }
					attempts(first: 5) { edges { node { idempotencyKey outcome calls processorReference message } } } } } }`
				r = b.Do(t, key, q, map[string]any{"id": id})
				r.RequireOK(t)
				require.Equal(t, "requires_review", r.String(t, "node.status"), r.Raw)
				require.Nil(t, r.Get(t, "node.nextAttempt"), "the scheduler leaves it")
				att := r.Get(t, "node.attempts.edges").([]any)[0].(map[string]any)["node"].(map[string]any)
				require.Equal(t, "in_flight", att["outcome"])
				require.EqualValues(t, 8, att["calls"], "eight calls at most while the outcome is unknown")
				require.Equal(t, 8, srv.Calls())
				require.LessOrEqual(t, srv.Requests(), 23, "eight calls, a look-up before each repeat and before giving up, one after each repeat's stored 500")
				require.Contains(t, b.EventTypes(t, key, id), "off_session_payment.requires_review")

				r = b.Do(t, key, `mutation($id: ID!) { cancelOffSessionPayment(id: $id) { status } }`, map[string]any{"id": id})
				e := r.RequireError(t, "CONFLICT")
				require.Equal(t, "requires_review", e.Extensions["reason"])
				require.Contains(t, e.Message, "resolveUnknownAttempt")

				if tt.caughtUp {
					srv.Advance(2 * time.Hour)
				}
				const resolve = `mutation($id: ID!, $res: UnknownAttemptResolution!, $ref: String) {
					resolveUnknownAttempt(id: $id, resolution: $res, processorReference: $ref) { status } }`
				vars := map[string]any{"id": id, "res": tt.resolution}
				if tt.resolution == "charged" {
					vars["ref"] = tt.wantRef
				}
				r = b.Do(t, key, resolve, vars)
				r.RequireOK(t)
				advance(t, b, key, clk, t0.Add(25*time.Hour))

				r = b.Do(t, key, q, map[string]any{"id": id})
				r.RequireOK(t)
				require.Equal(t, tt.wantStatus, r.String(t, "node.status"))
				var outcomes []string
				for _, e := range r.Get(t, "node.attempts.edges").([]any) {
					outcomes = append(outcomes, e.(map[string]any)["node"].(map[string]any)["outcome"].(string))
				}
				require.Equal(t, tt.wantOutcomes, outcomes)
				if tt.wantRef != "" {
					require.Equal(t, tt.wantRef, r.Get(t, "node.attempts.edges").([]any)[0].(map[string]any)["node"].(map[string]any)["processorReference"])
				}
				require.Equal(t, tt.wantCharges, srv.Charges(), "never a second charge")

				r = b.Do(t, key, resolve, vars)
				e = r.RequireError(t, "CONFLICT")
				require.Equal(t, "invalid_state_transition", e.Extensions["reason"], "only a payment that requires review is resolved")
			})
		}
	})
}

// TestStripeAuthenticationRequiredMovesToTheBackupCard: Stripe declines a
// card whose issuer asks for authentication, off-session, with
// authentication_required: no one is there to authenticate, so that card
// is done (hard). The payment names another card of the same Stripe
// customer as a backup; it is charged at once, with its customer, and
// Stripe holds one charge.
func TestStripeAuthenticationRequiredMovesToTheBackupCard(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		srv := stripefaithful.New(t)
		srv.AddCard("pm_3ds", stripefaithful.Card{Customer: "cus_ada", RequiresAuthentication: true})
		srv.AddCard("pm_backup", stripefaithful.Card{Customer: "cus_ada"})
		b := apitest.NewWith(t, st, apitest.AllowPrivateURLs)
		key := b.A.Keys.Secret
		prc := createProcessor(t, b, key, map[string]any{"name": "Stripe", "type": "stripe", "credentials": stripeGoodKey, "baseURL": srv.URL})
		clk := clock(t, b, key)
		c := tokenChainOn(t, b, key, "visa", clk, map[string]any{"processorID": prc, "token": "cus_ada/pm_3ds"})
		r := b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"customerID": c.CustomerID, "processorTokens": []any{map[string]any{"processorID": prc, "token": "cus_ada/pm_backup"}},
			"card": map[string]any{"brand": "visa", "funding": "debit", "last4": "0077", "expMonth": 1, "expYear": time.Now().Year() + 3,
				"issuingCountry": "GB", "fingerprint": "fp_backup"},
		}})
		r.RequireOK(t)
		bk := apitest.Chain{CustomerID: c.CustomerID, PaymentMethodID: r.String(t, "savePaymentMethod.id")}
		r = b.Do(t, key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": apitest.MandateInput(bk, "recurring", 1_000_000, "usd")})
		r.RequireOK(t)
		bk.MandateID = r.String(t, "createMandate.id")

		r = b.CreatePayment(t, key, apitest.PaymentInput(c, 2500, map[string]any{"retryStrategy": "smart", "backupPaymentMethods": backups(bk)}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		advance(t, b, key, clk, t0.Add(time.Hour))

		r = readBackupPayment(t, b, key, id)
		require.Equal(t, "succeeded", r.String(t, "node.status"), r.Raw)
		require.Equal(t, bk.PaymentMethodID, r.String(t, "node.paymentMethod.id"))
		edges := r.Get(t, "node.attempts.edges").([]any)
		require.Len(t, edges, 2)
		require.Equal(t, "hard", edges[0].(map[string]any)["node"].(map[string]any)["declineClass"])
		require.Len(t, srv.Creates, 2)
		require.Equal(t, "pm_3ds", srv.Creates[0].Get("payment_method"))
		require.Equal(t, "pm_backup", srv.Creates[1].Get("payment_method"))
		require.Equal(t, "cus_ada", srv.Creates[1].Get("customer"))
		require.Equal(t, 1, srv.Charges())
	})
}
