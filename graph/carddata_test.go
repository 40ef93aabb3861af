package graph_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// panSpellings are the Visa test number 4242 4242 4242 4242 written with
// every separator, and in other scripts' digits.
var panSpellings = map[string]string{
	"plain":               "4242424242424242",
	"spaces":              "4242 4242 4242 4242",
	"dashes":              "4242-4242-4242-4242",
	"dots":                "4242.4242.4242.4242",
	"slashes":             "4242/4242/4242/4242",
	"underscores":         "4242_4242_4242_4242",
	"commas":              "4242,4242,4242,4242",
	"tabs":                "4242\t4242\t4242\t4242",
	"double spaces":       "4242  4242  4242  4242",
	"non-breaking spaces": "4242\u00a04242\u00a04242\u00a04242",
	"full-width digits":   "４２４２４２４２４２４２４２４２",
}

// storedRows counts the rows a refused request must leave as they were.
func storedRows(t *testing.T, st *storage.Store) map[string]int {
	t.Helper()
	ctx := viewer.SystemContext(context.Background())
	count := func(n int, err error) int { require.NoError(t, err); return n }
	return map[string]int{
		"customers":         count(st.Client.Customer.Query().Count(ctx)),
		"mandates":          count(st.Client.Mandate.Query().Count(ctx)),
		"processors":        count(st.Client.Processor.Query().Count(ctx)),
		"webhook endpoints": count(st.Client.WebhookEndpoint.Query().Count(ctx)),
		"idempotency keys":  count(st.Client.IdempotencyKey.Query().Count(ctx)),
		"events":            count(st.Client.Event.Query().Count(ctx)),
	}
}

// TestRule7CardNumbersAreRefusedInEveryArgument: a card number, however it
// is written, is refused wherever it is sent (metadata keys and values,
// webhook descriptions and URLs, a mandate's terms URL, processor settings
// keys, idempotency keys), with BAD_USER_INPUT card_data_not_allowed
// naming the field, and nothing is stored.
func TestRule7CardNumbersAreRefusedInEveryArgument(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		const (
			customer  = `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`
			webhook   = `mutation($in: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $in) { webhookEndpoint { id } } }`
			mandate   = `mutation($in: CreateMandateInput!) { createMandate(input: $in) { id } }`
			processor = `mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id } }`
		)
		locations := []struct {
			name      string
			query     string
			input     func(pan string) map[string]any
			wantField string
		}{
			{"metadata key", customer, func(pan string) map[string]any {
				return map[string]any{"name": "Joan", "metadata": map[string]any{pan: "x"}}
			}, "input.metadata"},
			{"metadata value", customer, func(pan string) map[string]any {
				return map[string]any{"name": "Joan", "metadata": map[string]any{"note": "card " + pan}}
			}, "input.metadata.note"},
			{"idempotencyKey", customer, func(pan string) map[string]any {
				return map[string]any{"name": "Joan", "idempotencyKey": pan}
			}, "input.idempotencyKey"},
			{"webhook description", webhook, func(pan string) map[string]any {
				return map[string]any{"url": "https://hooks.example.com/x", "description": "card " + pan}
			}, "input.description"},
			{"webhook URL", webhook, func(pan string) map[string]any {
				return map[string]any{"url": "https://hooks.example.com/c/" + pan}
			}, "input.url"},
			{"mandate terms URL", mandate, func(pan string) map[string]any {
				in := apitest.MandateInput(c, "recurring", 1000, "usd")
				terms := in["terms"].(map[string]any)
				delete(terms, "text")
				terms["url"] = "https://merchant.example.com/terms?card=" + pan
				return in
			}, "input.terms.url"},
			{"processor settings key", processor, func(pan string) map[string]any {
				return map[string]any{"name": "Sim", "type": "simulator", "settings": map[string]any{pan: "1"}}
			}, "input.settings"},
		}
		before := storedRows(t, st)
		for _, loc := range locations {
			for spelling, pan := range panSpellings {
				r := b.Do(t, key, loc.query, map[string]any{"in": loc.input(pan)})
				e := r.RequireError(t, "BAD_USER_INPUT")
				require.Equal(t, loc.wantField, e.Field(), "%s, %s", loc.name, spelling)
				require.Equal(t, "card_data_not_allowed", e.Extensions["reason"], "%s, %s", loc.name, spelling)
				require.NotContains(t, r.Raw, pan, "the error does not echo the card number")
			}
		}

		// Literals are walked as variables are, object keys included.
		r := b.Do(t, key, `mutation { createCustomer(input: {name: "4242.4242.4242.4242"}) { id } }`, nil)
		require.Equal(t, "input.name", r.RequireError(t, "BAD_USER_INPUT").Field())
		r = b.Do(t, key, `mutation { createCustomer(input: {name: "Joan", metadata: {_4242_4242_4242_4242: "x"}}) { id } }`, nil)
		require.Equal(t, "input.metadata", r.RequireError(t, "BAD_USER_INPUT").Field())
		// An alias does not hide a second mutation.
		r = b.Do(t, key, `mutation { a: createCustomer(input: {name: "Joan"}) { id } b: createCustomer(input: {name: "Joan", metadata: {note: "4242/4242/4242/4242"}}) { id } }`, nil)
		e := r.RequireError(t, "BAD_USER_INPUT")
		require.Equal(t, "input.metadata.note", e.Field())
		require.Equal(t, []any{"b"}, e.Path)

		// Authentication and roles are decided first.
		r = b.Do(t, "", `mutation { createCustomer(input: {name: "4242.4242.4242.4242"}) { id } }`, nil)
		r.RequireError(t, "UNAUTHENTICATED")
		r = b.Do(t, b.A.Keys.Restricted, `mutation { createCustomer(input: {name: "4242.4242.4242.4242"}) { id } }`, nil)
		r.RequireError(t, "FORBIDDEN")

		require.Equal(t, before, storedRows(t, st), "nothing was stored")
		requireNoCardNumberStored(t, st)
	})
}

// TestRule7NULAndCredentialLineBreaksAreRefused: a NUL byte anywhere, and
// a CR or LF in processor credentials, are refused with a coded error
// naming the field, and nothing is stored.
func TestRule7NULAndCredentialLineBreaksAreRefused(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		rows := []struct {
			name       string
			query      string
			vars       map[string]any
			wantField  string
			wantReason string
		}{
			{"NUL in a name", `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"name": "Jo\x00an"}}, "input.name", "nul_not_allowed"},
			{"NUL in a metadata key", `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"name": "Joan", "metadata": map[string]any{"a\x00b": "x"}}}, "input.metadata", "nul_not_allowed"},
			{"NUL in a webhook description", `mutation($in: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $in) { webhookEndpoint { id } } }`,
				map[string]any{"in": map[string]any{"url": "https://hooks.example.com/x", "description": "a\x00"}}, "input.description", "nul_not_allowed"},
			{"LF in credentials", `mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"name": "Stripe", "type": "stripe", "credentials": "sk_test_abc\nX-Injected: 1"}}, "input.credentials", "line_break_not_allowed"},
			{"CR in credentials", `mutation($in: CreateProcessorInput!) { createProcessor(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"name": "Stripe", "type": "stripe", "credentials": "sk_test_abc\r"}}, "input.credentials", "line_break_not_allowed"},
			{"CRLF in rotated credentials", `mutation($id: ID!, $in: UpdateProcessorInput!) { updateProcessor(id: $id, input: $in) { id } }`,
				map[string]any{"id": b.A.ProcessorID, "in": map[string]any{"credentials": "sim_rotated\r\n"}}, "input.credentials", "line_break_not_allowed"},
		}
		before := storedRows(t, st)
		for _, tt := range rows {
			r := b.Do(t, key, tt.query, tt.vars)
			e := r.RequireError(t, "BAD_USER_INPUT")
			require.Equal(t, tt.wantField, e.Field(), tt.name)
			require.Equal(t, tt.wantReason, e.Extensions["reason"], tt.name)
			require.NotContains(t, r.Raw, "sk_test_abc", "credentials are never echoed")
		}
		require.Equal(t, before, storedRows(t, st), "nothing was stored")
		p, err := st.Client.Processor.Get(viewer.SystemContext(context.Background()), b.A.ProcessorID)
		require.NoError(t, err)
		require.Equal(t, "sim_secret_do_not_leak", p.Credentials, "the credentials were not rotated")
	})
}

// requireNoCardNumberStored looks for the test number's digits in every
// customer's and processor's stored strings.
func requireNoCardNumberStored(t *testing.T, st *storage.Store) {
	t.Helper()
	ctx := viewer.SystemContext(context.Background())
	cs, err := st.Client.Customer.Query().All(ctx)
	require.NoError(t, err)
	for _, c := range cs {
		for k, v := range c.Metadata {
			require.NotContains(t, k+v, "4242", "customer %s", c.ID)
		}
	}
	ps, err := st.Client.Processor.Query().All(ctx)
	require.NoError(t, err)
	for _, p := range ps {
		for k := range p.Settings {
			require.False(t, strings.Contains(k, "4242"), "processor %s", p.ID)
		}
	}
}
