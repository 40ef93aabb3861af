package apitest

import (
	"fmt"
	"testing"
	"time"
)

// Chain is a customer with a saved card and a mandate for it.
type Chain struct {
	CustomerID, PaymentMethodID, MandateID string
}

// ChainOptions vary a chain; zero fields take defaults.
type ChainOptions struct {
	// Token is the simulator token; default pm_card_visa.
	Token string
	// Brand of the card; default visa.
	Brand string
	// Fingerprint of the card; default one per customer.
	Fingerprint string
	// MaxAmount of the mandate; default 100000.
	MaxAmount int
	// Currency of the mandate; default usd.
	Currency string
	// Usage of the mandate; default recurring.
	Usage string
	// TestClockID attaches the customer to a test clock.
	TestClockID string
	// TimeZone of the customer; default America/New_York.
	TimeZone string
}

// NewChain makes a customer, a payment method and a mandate in account a.
func (b *Bundle) NewChain(t testing.TB, a Account, o ChainOptions) Chain {
	t.Helper()
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&o.Token, "pm_card_visa")
	def(&o.Brand, "visa")
	def(&o.Currency, "usd")
	def(&o.Usage, "recurring")
	def(&o.TimeZone, "America/New_York")
	if o.MaxAmount == 0 {
		o.MaxAmount = 100000
	}
	cus := map[string]any{"name": "Test Customer", "email": "test@example.com", "country": "US", "timeZone": o.TimeZone}
	if o.TestClockID != "" {
		cus["testClockID"] = o.TestClockID
	}
	r := b.Do(t, a.Keys.Secret, `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`, map[string]any{"in": cus})
	r.RequireOK(t)
	c := Chain{CustomerID: r.String(t, "createCustomer.id")}
	def(&o.Fingerprint, "fp_"+c.CustomerID)
	r = b.Do(t, a.Keys.Secret, `mutation($in: SavePaymentMethodInput!) { savePaymentMethod(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"customerID": c.CustomerID,
		"card": map[string]any{"brand": o.Brand, "funding": "credit", "last4": "4242", "expMonth": 12,
			"expYear": time.Now().Year() + 3, "issuingCountry": "US", "fingerprint": o.Fingerprint},
		"processorTokens": []map[string]any{{"processorID": a.ProcessorID, "token": o.Token, "networkTransactionID": "ntid000123"}},
	}})
	r.RequireOK(t)
	c.PaymentMethodID = r.String(t, "savePaymentMethod.id")
	r = b.Do(t, a.Keys.Secret, `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`, map[string]any{"in": MandateInput(c, o.Usage, o.MaxAmount, o.Currency)})
	r.RequireOK(t)
	c.MandateID = r.String(t, "createMandate.id")
	return c
}

// MandateInput is a valid createMandate input for the chain's customer and
// card.
func MandateInput(c Chain, usage string, maxAmount int, currency string) map[string]any {
	return map[string]any{
		"customerID": c.CustomerID, "paymentMethodID": c.PaymentMethodID, "usage": usage,
		"terms": map[string]any{"text": "I authorise monthly charges.", "version": "v1",
			"timingAndFrequency": "monthly", "amountDetermination": "plan price", "cancellationPolicy": "any time"},
		"acceptance": map[string]any{"type": "online", "ipAddress": "198.51.100.7", "userAgent": "test-agent",
			"acceptedAt": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)},
		"limits": map[string]any{"useLimit": "multi_use", "maxAmount": maxAmount, "currency": currency},
	}
}

// PaymentInput is a createOffSessionPayment input for the chain, with extra
// fields merged in.
func PaymentInput(c Chain, amount int, extra map[string]any) map[string]any {
	in := map[string]any{
		"customerID": c.CustomerID, "paymentMethodID": c.PaymentMethodID, "mandateID": c.MandateID,
		"amount": amount, "currency": "usd", "cadence": "recurring",
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// PaymentFields are the fields tests read of a payment.
const PaymentFields = `id status amount currency failureReason attemptCount amountCapturable amountReceived nextAttemptAt retryUntil retryStrategy holdout
	attempts(first: 50) { totalCount edges { node { id number outcome declineCode declineClass networkDeclineCode networkAdviceCode idempotencyKey scheduledAt startedAt finishedAt processorID
		scheduling { strategy reason } routing { strategy reason } } } }`

// CreatePayment creates a payment and returns the response.
func (b *Bundle) CreatePayment(t testing.TB, key string, in map[string]any) Response {
	t.Helper()
	return b.Do(t, key, `mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { `+PaymentFields+` } }`, map[string]any{"in": in})
}

// Payment reads a payment through node(id:).
func (b *Bundle) Payment(t testing.TB, key, id string) map[string]any {
	t.Helper()
	r := b.Do(t, key, fmt.Sprintf(`query($id: ID!) { node(id: $id) { ... on OffSessionPayment { %s } } }`, PaymentFields), map[string]any{"id": id})
	r.RequireOK(t)
	m, _ := r.Get(t, "node").(map[string]any)
	return m
}

// EventTypes lists the types of the events of an object, oldest first.
func (b *Bundle) EventTypes(t testing.TB, key, objectID string) []string {
	t.Helper()
	r := b.Do(t, key, `query($id: String!) { events(first: 100, where: {objectID: $id}, orderBy: [{field: CREATED_AT, direction: ASC}]) { edges { node { type objectVersion } } } }`, map[string]any{"id": objectID})
	r.RequireOK(t)
	var out []string
	for _, e := range r.Get(t, "events.edges").([]any) {
		out = append(out, e.(map[string]any)["node"].(map[string]any)["type"].(string))
	}
	return out
}
