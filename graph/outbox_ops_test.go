package graph_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
)

// The operations of TestOutboxEventsEqualTheStateChanges, each through
// GraphQL, each returning what it did for the log.

func (w *outboxWorld) endpoint(t *testing.T, key string, types []string) string {
	t.Helper()
	in := map[string]any{"url": "http://127.0.0.1:9/hooks"}
	if types != nil {
		in["eventTypes"] = types
	}
	r := w.b.Do(t, key, `mutation($in: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $in) { webhookEndpoint { id } } }`, map[string]any{"in": in})
	r.RequireOK(t)
	id := r.String(t, "createWebhookEndpoint.webhookEndpoint.id")
	if key == w.key {
		w.endpoints[id] = types
	}
	return id
}

// step runs one random operation, then checks the events it wrote.
func (w *outboxWorld) step(t *testing.T, i int) {
	t.Helper()
	type op struct {
		weight int
		name   string
		run    func(t *testing.T) string
	}
	ops := []op{
		{2, "createCustomer", w.createCustomer},
		{3, "savePaymentMethod", w.saveCard},
		{3, "createMandate", w.createMandate},
		{1, "revokeMandate", w.revokeMandate},
		{8, "createOffSessionPayment", w.createPayment},
		{1, "replay createOffSessionPayment", w.replayPayment},
		{2, "cancelOffSessionPayment", w.paymentMutation("cancelOffSessionPayment")},
		{2, "pauseOffSessionPayment", w.paymentMutation("pauseOffSessionPayment")},
		{2, "resumeOffSessionPayment", w.paymentMutation("resumeOffSessionPayment")},
		{2, "captureOffSessionPayment", w.paymentMutation("captureOffSessionPayment")},
		{5, "advanceTestClock", w.advance},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	pick := w.rng.IntN(total)
	for _, o := range ops {
		if pick < o.weight {
			w.check(t, fmt.Sprintf("seed %d, operation %d: %s %s", w.seed, i, o.name, o.run(t)))
			return
		}
		pick -= o.weight
	}
}

func (w *outboxWorld) createCustomer(t *testing.T) string {
	r := w.b.Do(t, w.key, `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Outbox Customer", "email": "outbox@example.com", "country": "US", "timeZone": "America/New_York", "testClockID": w.clk,
	}})
	r.RequireOK(t)
	id := r.String(t, "createCustomer.id")
	w.customers = append(w.customers, id)
	return id
}

func (w *outboxWorld) saveCard(t *testing.T) string {
	if len(w.customers) == 0 {
		return w.createCustomer(t)
	}
	cus := w.customers[w.rng.IntN(len(w.customers))]
	tokens := []string{"pm_card_visa", "pm_card_visa", "pm_card_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclinedInsufficientFunds", "pm_card_chargeDeclinedLostCard"}
	token := tokens[w.rng.IntN(len(tokens))]
	w.n++
	r := w.b.Do(t, w.key, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"customerID": cus,
		"card": map[string]any{"brand": "visa", "funding": "credit", "last4": "4242", "expMonth": 12,
			"expYear": w.now.Year() + 3, "issuingCountry": "US", "fingerprint": fmt.Sprintf("fp_outbox_%d_%d", w.seed, w.n)},
		"processorTokens": []map[string]any{{"processorID": w.acct.ProcessorID, "token": token, "networkTransactionID": "ntid000123"}},
	}})
	r.RequireOK(t)
	id := r.String(t, "savePaymentMethod.id")
	w.cards = append(w.cards, outboxCard{id: id, customer: cus})
	return id + " " + token
}

func (w *outboxWorld) createMandate(t *testing.T) string {
	if len(w.cards) == 0 {
		return w.saveCard(t)
	}
	c := w.cards[w.rng.IntN(len(w.cards))]
	r := w.b.Do(t, w.key, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": apitest.MandateInput(
		apitest.Chain{CustomerID: c.customer, PaymentMethodID: c.id}, "recurring", 100000, "usd")})
	if len(r.Errors) > 0 {
		// A card made invalid by a hard decline takes no new mandate.
		require.Equal(t, "invalid", w.state.cards[c.id], "only an invalid card is refused a mandate: %s", r.Raw)
		r.RequireError(t, "BAD_USER_INPUT")
		return c.id + " (refused)"
	}
	id := r.String(t, "createMandate.id")
	w.mandates = append(w.mandates, outboxMandate{id: id, customer: c.customer, card: c.id})
	return id
}

func (w *outboxWorld) revokeMandate(t *testing.T) string {
	if len(w.mandates) == 0 {
		return w.createMandate(t)
	}
	m := w.mandates[w.rng.IntN(len(w.mandates))]
	r := w.b.Do(t, w.key, `mutation($id: ID!) { revokeMandate(id: $id, reason: "customer asked") { status } }`, map[string]any{"id": m.id})
	if w.state.mandates[m.id] == "revoked" {
		require.Equal(t, "mandate_revoked", r.RequireError(t, "CONFLICT").Extensions["reason"])
		return m.id + " (already revoked)"
	}
	r.RequireOK(t)
	return m.id
}

func (w *outboxWorld) createPayment(t *testing.T) string {
	if len(w.mandates) == 0 {
		return w.createMandate(t)
	}
	if len(w.payments) >= 45 {
		return w.advance(t)
	}
	m := w.mandates[w.rng.IntN(len(w.mandates))]
	w.n++
	in := map[string]any{
		"idempotencyKey": fmt.Sprintf("outbox-%d-%d", w.seed, w.n),
		"customerID":     m.customer, "paymentMethodID": m.card, "mandateID": m.id,
		"amount": 100 + w.rng.IntN(5000), "currency": "usd", "cadence": "recurring",
	}
	if w.rng.IntN(3) == 0 {
		in["captureMethod"] = "manual"
	}
	if pol := w.policies[w.rng.IntN(len(w.policies))]; pol != "" {
		in["retryPolicyID"] = pol
	} else {
		in["retryStrategy"] = "none"
	}
	r := w.b.CreatePayment(t, w.key, in)
	if len(r.Errors) > 0 {
		// Refused: the mandate is revoked or the card invalid.
		require.True(t, w.state.mandates[m.id] != "active" || w.state.cards[m.card] != "active",
			"a payment on an active mandate and card is refused: %s", r.Raw)
		r.RequireError(t, "BAD_USER_INPUT")
		return m.id + " (refused)"
	}
	id := r.String(t, "createOffSessionPayment.id")
	require.Equal(t, "pending", r.String(t, "createOffSessionPayment.status"))
	w.payments = append(w.payments, id)
	w.creates = append(w.creates, in)
	return fmt.Sprintf("%s on %s (capture %v, policy %v)", id, m.card, in["captureMethod"], in["retryPolicyID"])
}

func (w *outboxWorld) replayPayment(t *testing.T) string {
	if len(w.creates) == 0 {
		return w.createPayment(t)
	}
	i := w.rng.IntN(len(w.creates))
	r := w.b.CreatePayment(t, w.key, w.creates[i])
	r.RequireOK(t)
	require.Equal(t, w.payments[i], r.String(t, "createOffSessionPayment.id"), "a replay returns the original payment")
	return w.payments[i]
}

// mutationFrom are the statuses each payment mutation applies to.
var mutationFrom = map[string][]string{
	"cancelOffSessionPayment":  {"pending", "pending_retry", "paused", "requires_capture"},
	"pauseOffSessionPayment":   {"pending_retry"},
	"resumeOffSessionPayment":  {"paused"},
	"captureOffSessionPayment": {"requires_capture"},
}

// paymentMutation is cancel, pause, resume or capture of a random payment,
// mostly one it applies to, sometimes whatever its status: one the lifecycle
// does not allow is a CONFLICT and changes nothing.
func (w *outboxWorld) paymentMutation(name string) func(t *testing.T) string {
	return func(t *testing.T) string {
		if len(w.payments) == 0 {
			return w.createPayment(t)
		}
		id := w.payments[w.rng.IntN(len(w.payments))]
		// Mostly one the mutation applies to, else any.
		var fits []string
		for _, p := range w.payments {
			if slices.Contains(mutationFrom[name], w.state.payments[p].status) {
				fits = append(fits, p)
			}
		}
		if len(fits) > 0 && w.rng.IntN(3) > 0 {
			id = fits[w.rng.IntN(len(fits))]
		}
		r := w.b.Do(t, w.key, fmt.Sprintf(`mutation($id: ID!) { %s(id: $id) { status } }`, name), map[string]any{"id": id})
		if len(r.Errors) > 0 {
			status := w.state.payments[id].status
			require.Len(t, r.Errors, 1, "%s of a %s payment: %s", name, status, r.Raw)
			code := r.Errors[0].Code()
			require.Equal(t, "CONFLICT", code, "%s of a %s payment: %s", name, status, r.Raw)
			return id + " (" + w.state.payments[id].status + ", refused)"
		}
		return id + " (" + w.state.payments[id].status + " → " + r.String(t, name+".status") + ")"
	}
}

func (w *outboxWorld) advance(t *testing.T) string {
	w.now = w.now.Add(time.Duration(1+w.rng.IntN(72)) * time.Hour)
	advance(t, w.b, w.key, w.clk, w.now)
	return w.now.Format(time.RFC3339)
}
