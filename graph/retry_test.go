package graph_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

var t0 = time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC)

// clock makes a test clock at t0.
func clock(t *testing.T, b *apitest.Bundle, key string) string {
	t.Helper()
	r := b.Do(t, key, `mutation($t: Time!) { createTestClock(input: {frozenTime: $t}) { id } }`, map[string]any{"t": t0})
	r.RequireOK(t)
	return r.String(t, "createTestClock.id")
}

func advance(t *testing.T, b *apitest.Bundle, key, clk string, to time.Time) {
	t.Helper()
	r := b.Do(t, key, `mutation($id: ID!, $t: Time!) { advanceTestClock(id: $id, frozenTime: $t) { status } }`, map[string]any{"id": clk, "t": to})
	r.RequireOK(t)
}

func policy(t *testing.T, b *apitest.Bundle, key string, in map[string]any) string {
	t.Helper()
	r := b.Do(t, key, `mutation($in: CreateRetryPolicyInput!) { createRetryPolicy(input: $in) { id } }`, map[string]any{"in": in})
	r.RequireOK(t)
	return r.String(t, "createRetryPolicy.id")
}

// onSimulator is account A charging through a simulator processor of its
// own, made with settings.
func onSimulator(t *testing.T, b *apitest.Bundle, name string, settings map[string]string) apitest.Account {
	t.Helper()
	r := b.Do(t, b.A.Keys.Secret, `mutation($name: String!, $s: StringMap) { createProcessor(input: {name: $name, type: simulator, settings: $s}) { id } }`,
		map[string]any{"name": name, "s": settings})
	r.RequireOK(t)
	a := b.A
	a.ProcessorID = r.String(t, "createProcessor.id")
	return a
}

type attemptView struct {
	Number                 int
	Outcome, Class         string
	DeclineCode            string
	StartedAt, ScheduledAt time.Time
	Strategy, Reason       string
}

func attempts(t *testing.T, p map[string]any) []attemptView {
	t.Helper()
	var out []attemptView
	for _, e := range p["attempts"].(map[string]any)["edges"].([]any) {
		n := e.(map[string]any)["node"].(map[string]any)
		a := attemptView{Number: int(n["number"].(float64)), Outcome: n["outcome"].(string)}
		if c, ok := n["declineClass"].(string); ok {
			a.Class = c
		}
		if c, ok := n["declineCode"].(string); ok {
			a.DeclineCode = c
		}
		a.StartedAt, _ = time.Parse(time.RFC3339, n["startedAt"].(string))
		a.ScheduledAt, _ = time.Parse(time.RFC3339, n["scheduledAt"].(string))
		s := n["scheduling"].(map[string]any)
		a.Strategy, a.Reason = s["strategy"].(string), s["reason"].(string)
		out = append(out, a)
	}
	return out
}

// TestScheduledRetriesOnATestClock: a soft decline retried at exactly 1d,
// 3d, 5d and 7d after the first attempt, then retries_exhausted; a lost
// card fails at once with no retry; a mandate revoked between attempts
// fails the payment with rejected_by_partner and no further attempt.
func TestScheduledRetriesOnATestClock(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		pol := policy(t, b, key, map[string]any{"name": "1-3-5-7", "strategy": "scheduled", "schedule": []string{"1d", "3d", "5d", "7d"}, "window": "2w"})
		newPayment := func(token string) (string, apitest.Chain) {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: token, TestClockID: clk})
			r := b.CreatePayment(t, key, apitest.PaymentInput(c, 2500, map[string]any{"retryPolicyID": pol}))
			r.RequireOK(t)
			return r.String(t, "createOffSessionPayment.id"), c
		}
		nsf, _ := newPayment("pm_card_chargeDeclinedInsufficientFunds")
		lost, _ := newPayment("pm_card_chargeDeclinedLostCard")
		revoked, rc := newPayment("pm_card_chargeDeclinedInsufficientFunds")

		advance(t, b, key, clk, t0.Add(2*24*time.Hour))
		p := b.Payment(t, key, lost)
		require.Equal(t, "failed", p["status"])
		require.Equal(t, "no_valid_payment_method", p["failureReason"])
		require.Len(t, attempts(t, p), 1, "a hard decline is never retried")
		require.Equal(t, "hard", attempts(t, p)[0].Class)

		p = b.Payment(t, key, revoked)
		require.Equal(t, "pending_retry", p["status"])
		require.Len(t, attempts(t, p), 2)
		r := b.Do(t, key, `mutation($id: ID!) { revokeMandate(id: $id) { status } }`, map[string]any{"id": rc.MandateID})
		r.RequireOK(t)
		p = b.Payment(t, key, revoked)
		require.Equal(t, "failed", p["status"])
		require.Equal(t, "rejected_by_partner", p["failureReason"])

		advance(t, b, key, clk, t0.Add(30*24*time.Hour))
		p = b.Payment(t, key, revoked)
		require.Len(t, attempts(t, p), 2, "no attempt after the revocation")

		p = b.Payment(t, key, nsf)
		require.Equal(t, "failed", p["status"])
		require.Equal(t, "retries_exhausted", p["failureReason"])
		atts := attempts(t, p)
		require.Len(t, atts, 5)
		for i, off := range []time.Duration{0, 1, 3, 5, 7} {
			require.Equal(t, t0.Add(off*24*time.Hour), atts[i].StartedAt, "attempt %d", i+1)
			require.Equal(t, "declined", atts[i].Outcome)
			require.Equal(t, "soft", atts[i].Class)
		}
		require.Equal(t, "initial", atts[0].Strategy)
		for _, a := range atts[1:] {
			require.Equal(t, "scheduled", a.Strategy)
			require.Contains(t, a.Reason, "after the first attempt")
		}
		events := b.EventTypes(t, key, nsf)
		require.Equal(t, "off_session_payment.created", events[0])
		require.Equal(t, "off_session_payment.failed", events[len(events)-1])
		failedEvents := 0
		for _, e := range events {
			if e == "off_session_payment.attempt_failed" {
				failedEvents++
			}
		}
		require.Equal(t, 4, failedEvents, "attempt_failed only while retries remain")
	})
}

// TestRule3EveryDeclineCodeThroughTheEngine drives each decline code and
// advice code of DESIGN.md rule 3 through a payment: its class, whether it
// is retried, and the earliest time of the retry.
func TestRule3EveryDeclineCodeThroughTheEngine(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		// A short fixed offset shows the earliest allowed time exactly.
		pol := policy(t, b, key, map[string]any{"name": "fast", "strategy": "scheduled", "schedule": []string{"10m"}, "window": "1m"})
		type row struct {
			token, brand string
			class        string
			// retry: the next attempt's delay after the first; 0 for no retry.
			retry  time.Duration
			status string
			reason string
		}
		soft := func(code string) row {
			return row{token: "sim_decline." + code + ".-.51", class: "soft", retry: 10 * time.Minute, status: "pending_retry"}
		}
		hard := func(token string) row {
			return row{token: token, class: "hard", status: "failed", reason: "no_valid_payment_method"}
		}
		rows := []row{}
		for _, code := range []string{"lost_card", "stolen_card", "pickup_card", "incorrect_number", "invalid_account",
			"revocation_of_authorization", "revocation_of_all_authorizations", "authentication_required", "highest_risk_level"} {
			rows = append(rows, hard("sim_decline."+code+".-.-"))
		}
		for _, net := range []string{"04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"} {
			rows = append(rows, hard("sim_decline.generic_decline.-."+net))
		}
		for _, mac := range []string{"03", "21"} {
			r := hard("sim_decline.do_not_honor." + mac + ".05")
			r.brand = "mastercard"
			rows = append(rows, r)
		}
		rows = append(rows,
			row{token: "sim_decline.expired_card.-.54", class: "needs_new_card_data", status: "pending_retry"},
			row{token: "sim_decline.do_not_honor.01.05", brand: "mastercard", class: "needs_new_card_data", status: "pending_retry"},
		)
		for _, code := range []string{"insufficient_funds", "do_not_honor", "generic_decline", "try_again_later",
			"card_velocity_exceeded", "withdrawal_count_limit_exceeded", "issuer_not_available"} {
			rows = append(rows, soft(code))
		}
		for mac, wait := range map[string]time.Duration{"02": 72 * time.Hour, "24": time.Hour, "25": 24 * time.Hour,
			"26": 48 * time.Hour, "27": 96 * time.Hour, "28": 144 * time.Hour, "29": 192 * time.Hour, "30": 240 * time.Hour} {
			rows = append(rows, row{token: "sim_decline.do_not_honor." + mac + ".05", brand: "mastercard", class: "soft", retry: wait, status: "pending_retry"})
		}
		rows = append(rows, row{token: "sim_decline.processing_error.-.96", class: "technical", retry: 5 * time.Minute, status: "pending_retry"})

		ids := make([]string, len(rows))
		for i, r := range rows {
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: r.token, Brand: r.brand, TestClockID: clk})
			res := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryPolicyID": pol}))
			res.RequireOK(t)
			ids[i] = res.String(t, "createOffSessionPayment.id")
		}
		advance(t, b, key, clk, t0.Add(time.Second))
		for i, r := range rows {
			p := b.Payment(t, key, ids[i])
			atts := attempts(t, p)
			require.Len(t, atts, 1, r.token)
			require.Equal(t, r.class, atts[0].Class, r.token)
			require.Equal(t, r.status, p["status"], r.token)
			if r.reason != "" {
				require.Equal(t, r.reason, p["failureReason"], r.token)
			}
			next, _ := p["nextAttemptAt"].(string)
			if r.retry == 0 {
				require.Empty(t, next, "%s: no retry planned", r.token)
				continue
			}
			at, err := time.Parse(time.RFC3339, next)
			require.NoError(t, err, r.token)
			require.Equal(t, t0.Add(r.retry), at, "%s: earliest retry", r.token)
		}
	})
}

// TestRule4NetworkBudgetsAcrossPayments: many payments on one card keep
// Visa's 20 retries in 30 days and Mastercard's 10 in 24 hours, whatever
// their own schedules ask for; a retry past the budget is moved later or
// not made.
func TestRule4NetworkBudgetsAcrossPayments(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		pol := policy(t, b, key, map[string]any{"name": "eager", "strategy": "scheduled", "schedule": []string{"1h", "2h", "3h"}, "window": "3w"})
		for _, tc := range []struct {
			brand    string
			payments int
		}{
			{brand: "mastercard", payments: 15},
			{brand: "visa", payments: 9},
		} {
			fp := "fp_shared_" + tc.brand
			for range tc.payments {
				c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds", Brand: tc.brand, Fingerprint: fp, TestClockID: clk})
				r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, map[string]any{"retryPolicyID": pol}))
				r.RequireOK(t)
			}
		}
		advance(t, b, key, clk, t0.Add(25*24*time.Hour))

		r := b.Do(t, key, `{ offSessionPayments(first: 100) { edges { node { status failureReason paymentMethod { brand fingerprint }
			attempts(first: 10) { edges { node { number startedAt scheduling { reason } } } } } } } }`, nil)
		r.RequireOK(t)
		retries := map[string][]time.Time{}
		moved := map[string]int{}
		for _, e := range r.Get(t, "offSessionPayments.edges").([]any) {
			n := e.(map[string]any)["node"].(map[string]any)
			brand := n["paymentMethod"].(map[string]any)["brand"].(string)
			require.Contains(t, []string{"failed"}, n["status"], "every payment is over")
			for _, a := range n["attempts"].(map[string]any)["edges"].([]any) {
				an := a.(map[string]any)["node"].(map[string]any)
				if an["number"].(float64) == 1 {
					continue
				}
				at, _ := time.Parse(time.RFC3339, an["startedAt"].(string))
				retries[brand] = append(retries[brand], at)
				if reason := an["scheduling"].(map[string]any)["reason"].(string); strings.Contains(reason, "budget full") {
					moved[brand]++
				}
			}
		}
		check := func(brand string, window time.Duration, max int) {
			for _, a := range retries[brand] {
				n := 0
				for _, b := range retries[brand] {
					if !b.After(a) && b.After(a.Add(-window)) {
						n++
					}
				}
				require.LessOrEqual(t, n, max, "%s: %d retries in the %s before %s", brand, n, window, a)
			}
		}
		check("mastercard", 24*time.Hour, 10)
		check("mastercard", 30*24*time.Hour, 35)
		check("visa", 30*24*time.Hour, 20)
		require.Positive(t, moved["mastercard"], "the Mastercard budget moved retries later")
		require.Len(t, retries["mastercard"], 35, "15 payments wanted 45 retries; the 30-day budget allows 35")
		require.Len(t, retries["visa"], 20, "9 payments wanted 27 retries; Visa allows 20 in 30 days")

		// Each card's payment methods say the same of its budgets, at the
		// clock's time, counted over every payment on the card.
		now := t0.Add(25 * 24 * time.Hour)
		r = b.Do(t, b.A.Keys.Restricted, `{ offSessionPayments(first: 100) { edges { node { paymentMethod { brand
			networkBudgets { max windowSeconds used availableAt } } } } } }`, nil)
		r.RequireOK(t)
		for _, e := range r.Get(t, "offSessionPayments.edges").([]any) {
			pm := e.(map[string]any)["node"].(map[string]any)["paymentMethod"].(map[string]any)
			brand := pm["brand"].(string)
			budgets := pm["networkBudgets"].([]any)
			require.Len(t, budgets, map[string]int{"mastercard": 2, "visa": 1}[brand], brand)
			for _, bu := range budgets {
				u := bu.(map[string]any)
				window := time.Duration(u["windowSeconds"].(float64)) * time.Second
				var in []time.Time
				for _, at := range retries[brand] {
					if at.After(now.Add(-window)) {
						in = append(in, at)
					}
				}
				require.EqualValues(t, len(in), u["used"], "%s, %s", brand, window)
				avail, err := time.Parse(time.RFC3339, u["availableAt"].(string))
				require.NoError(t, err)
				if max := int(u["max"].(float64)); len(in) >= max {
					slices.SortFunc(in, func(a, b time.Time) int { return a.Compare(b) })
					require.Equal(t, in[len(in)-max].Add(window).Add(time.Second), avail, "%s full: when its oldest retry leaves the window", brand)
				} else {
					require.Equal(t, now, avail.UTC(), "%s, %s: room now", brand, window)
				}
			}
		}
	})
}

// TestExpiredCardWaitsForNewCardData: an expired card stops the retries
// until the payment method is updated; the update retries at once.
func TestExpiredCardWaitsForNewCardData(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedExpiredCard", TestClockID: clk})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1200, map[string]any{"retryStrategy": "heuristic"}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		advance(t, b, key, clk, t0.Add(3*24*time.Hour))
		p := b.Payment(t, key, id)
		require.Equal(t, "pending_retry", p["status"])
		require.Nil(t, p["nextAttemptAt"], "no retry on the same card data")
		require.Len(t, attempts(t, p), 1)

		r = b.Do(t, key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id status expYear } }`, map[string]any{"in": map[string]any{
			"customerID": c.CustomerID, "replacesPaymentMethodID": c.PaymentMethodID,
			"card":            map[string]any{"brand": "visa", "funding": "credit", "last4": "4242", "expMonth": 12, "expYear": time.Now().Year() + 5, "fingerprint": "fp_renewed"},
			"processorTokens": []any{map[string]any{"processorID": b.A.ProcessorID, "token": "pm_card_visa"}},
		}})
		r.RequireOK(t)
		require.Equal(t, c.PaymentMethodID, r.String(t, "savePaymentMethod.id"), "updated in place")
		require.Equal(t, "active", r.String(t, "savePaymentMethod.status"))

		advance(t, b, key, clk, t0.Add(3*24*time.Hour+time.Minute))
		p = b.Payment(t, key, id)
		require.Equal(t, "succeeded", p["status"])
		atts := attempts(t, p)
		require.Len(t, atts, 2)
		require.Equal(t, "card_updated", atts[1].Strategy)
	})
}

// TestPauseAndResumeRetries: a pending retry can be paused, is not made
// while paused, and is made at once on resume if it fell due.
func TestPauseAndResumeRetries(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		c := b.NewChain(t, b.A, apitest.ChainOptions{Token: "pm_card_chargeDeclinedInsufficientFunds", TestClockID: clk})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 1200, map[string]any{"retryStrategy": "heuristic"}))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		advance(t, b, key, clk, t0.Add(time.Minute))
		p := b.Payment(t, key, id)
		require.Equal(t, "pending_retry", p["status"])
		r = b.Do(t, key, `mutation($id: ID!) { pauseOffSessionPayment(id: $id) { status nextAttempt { at strategy reason } } }`, map[string]any{"id": id})
		r.RequireOK(t)
		require.Equal(t, "paused", r.String(t, "pauseOffSessionPayment.status"))
		require.Equal(t, "heuristic", r.String(t, "pauseOffSessionPayment.nextAttempt.strategy"))

		advance(t, b, key, clk, t0.Add(10*24*time.Hour))
		require.Len(t, attempts(t, b.Payment(t, key, id)), 1, "no retry while paused")
		r = b.Do(t, key, `mutation($id: ID!) { pauseOffSessionPayment(id: $id) { status } }`, map[string]any{"id": id})
		require.Equal(t, "invalid_state_transition", r.RequireError(t, "CONFLICT").Extensions["reason"])

		r = b.Do(t, key, `mutation($id: ID!) { resumeOffSessionPayment(id: $id) { status nextAttemptAt } }`, map[string]any{"id": id})
		r.RequireOK(t)
		require.Equal(t, "pending_retry", r.String(t, "resumeOffSessionPayment.status"))
		require.Equal(t, t0.Add(10*24*time.Hour).Format(time.RFC3339), r.String(t, "resumeOffSessionPayment.nextAttemptAt"), "due while paused: at once")
		advance(t, b, key, clk, t0.Add(10*24*time.Hour+time.Second))
		require.Len(t, attempts(t, b.Payment(t, key, id)), 2)
		require.Equal(t, []string{"off_session_payment.created", "off_session_payment.attempt_started", "off_session_payment.attempt_failed",
			"off_session_payment.paused", "off_session_payment.resumed", "off_session_payment.attempt_started"}, b.EventTypes(t, key, id)[:6])
	})
}

// TestRule4BudgetHoldsUnderConcurrentWorkers: thirty payments on one Visa
// card fall due at once and four workers retry them side by side; the card
// lock keeps the network budget: at most 20 retries, the rest moved later.
func TestRule4BudgetHoldsUnderConcurrentWorkers(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		now := time.Now().UTC()
		err := seed.DueRetries{
			AccountID: b.A.ID, ProcessorID: b.A.ProcessorID, Brand: paymentmethod.BrandVisa, Cards: 1, N: 30, Now: now,
			DueAt: func(int) time.Time { return now.Add(-time.Minute) },
			Token: func(int) string { return "pm_card_chargeDeclinedInsufficientFunds" },
		}.Write(context.Background(), st.Client)
		require.NoError(t, err)
		b.RunDue(t)
		sys := viewer.SystemContext(context.Background())
		retries, err := st.Client.Attempt.Query().Where(attempt.IsRetry(true)).Count(sys)
		require.NoError(t, err)
		require.Equal(t, 20, retries, "Visa allows 20 retries in 30 days on a card")
		moved, err := st.Client.OffSessionPayment.Query().
			Where(offsessionpayment.StatusEQ(offsessionpayment.StatusPendingRetry), offsessionpayment.NextAttemptAtGT(now.Add(29*24*time.Hour))).
			Count(sys)
		require.NoError(t, err)
		require.Equal(t, 10, moved, "the other ten wait until the budget has room")
	})
}
