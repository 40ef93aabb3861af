package graph_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// gapRequest is one raw HTTP request to /graphql.
type gapRequest struct {
	method, query, contentType, accept, key string
	body                                    string
}

// send makes the request and returns its status, headers and body.
func (g gapRequest) send(t *testing.T, b *apitest.Bundle) (int, http.Header, string) {
	t.Helper()
	target := "/graphql"
	if g.query != "" {
		target += "?query=" + url.QueryEscape(g.query)
	}
	req := httptest.NewRequest(g.method, target, strings.NewReader(g.body))
	if g.contentType != "" {
		req.Header.Set("Content-Type", g.contentType)
	}
	if g.accept != "" {
		req.Header.Set("Accept", g.accept)
	}
	if g.key != "" {
		req.Header.Set("Authorization", "Bearer "+g.key)
	}
	rec := httptest.NewRecorder()
	b.Handler.ServeHTTP(rec, req)
	raw, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return rec.Code, rec.Header(), string(raw)
}

func gqlBody(t *testing.T, query string, vars map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return string(b)
}

// TestRule7HTTPRefusalsAreCoded: what the GraphQL layer refuses over HTTP
// (no key, a bad key, a wrong content type, a wrong method, a mutation over
// GET, a document that does not parse or validate) gets the status the
// GraphQL over HTTP spec asks for, a coded error naming what is at fault,
// no data entry, and changes nothing.
func TestRule7HTTPRefusalsAreCoded(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		create := gqlBody(t, `mutation { createCustomer(input: {email: "gap@example.com"}) { id } }`, nil)
		tests := []struct {
			name       string
			req        gapRequest
			wantStatus int
			wantCode   string
			wantField  string
			wantReason string
			wantHeader map[string]string
		}{
			{name: "no key", req: gapRequest{method: "POST", contentType: "application/json", body: create},
				wantStatus: 401, wantCode: "UNAUTHENTICATED", wantField: "Authorization",
				wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="offsession"`}},
			{name: "no key, a query over GET", req: gapRequest{method: "GET", query: `{ viewer { role } }`},
				wantStatus: 401, wantCode: "UNAUTHENTICATED", wantField: "Authorization",
				wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="offsession"`}},
			{name: "a bad key", req: gapRequest{method: "POST", contentType: "application/json", body: create, key: "sk_not_a_real_key"},
				wantStatus: 401, wantCode: "UNAUTHENTICATED", wantField: "Authorization",
				wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="offsession", error="invalid_token"`}},
			{name: "text/plain body", req: gapRequest{method: "POST", contentType: "text/plain", body: create, key: key},
				wantStatus: 415, wantCode: "BAD_USER_INPUT", wantField: "Content-Type", wantReason: "unsupported_content_type"},
			{name: "no content type", req: gapRequest{method: "POST", body: create, key: key},
				wantStatus: 415, wantCode: "BAD_USER_INPUT", wantField: "Content-Type", wantReason: "unsupported_content_type"},
			{name: "form body", req: gapRequest{method: "POST", contentType: "application/x-www-form-urlencoded", body: "query=" + url.QueryEscape(`mutation { createCustomer(input: {}) { id } }`), key: key},
				wantStatus: 415, wantCode: "BAD_USER_INPUT", wantField: "Content-Type", wantReason: "unsupported_content_type"},
			{name: "mutation over GET", req: gapRequest{method: "GET", query: `mutation { createCustomer(input: {email: "gap@example.com"}) { id } }`, key: key},
				wantStatus: 405, wantCode: "BAD_USER_INPUT", wantField: "method", wantReason: "method_not_allowed",
				wantHeader: map[string]string{"Allow": "POST"}},
			{name: "PUT", req: gapRequest{method: "PUT", contentType: "application/json", body: create, key: key},
				wantStatus: 405, wantCode: "BAD_USER_INPUT", wantField: "method", wantReason: "method_not_allowed",
				wantHeader: map[string]string{"Allow": "GET, POST"}},
			{name: "body not JSON", req: gapRequest{method: "POST", contentType: "application/json", body: "{", key: key},
				wantStatus: 400, wantCode: "BAD_USER_INPUT", wantField: "body", wantReason: "invalid_json"},
			{name: "no query", req: gapRequest{method: "POST", contentType: "application/json", body: `{"qeury": "{ __typename }"}`, key: key},
				wantStatus: 400, wantCode: "BAD_USER_INPUT", wantField: "query", wantReason: "missing_query"},
			{name: "parse error, application/json", req: gapRequest{method: "POST", contentType: "application/json", accept: "application/json", body: `{"query": "mutation {"}`, key: key},
				wantStatus: 200, wantCode: "BAD_USER_INPUT"},
			{name: "parse error, graphql-response+json", req: gapRequest{method: "POST", contentType: "application/json", accept: "application/graphql-response+json", body: `{"query": "mutation {"}`, key: key},
				wantStatus: 400, wantCode: "BAD_USER_INPUT"},
			{name: "validation error, application/json", req: gapRequest{method: "POST", contentType: "application/json", accept: "application/json", body: gqlBody(t, `mutation { createCustomer(input: {nope: 1}) { id } }`, nil), key: key},
				wantStatus: 200, wantCode: "BAD_USER_INPUT"},
			{name: "validation error, graphql-response+json", req: gapRequest{method: "POST", contentType: "application/json", accept: "application/graphql-response+json", body: gqlBody(t, `mutation { createCustomer(input: {nope: 1}) { id } }`, nil), key: key},
				wantStatus: 400, wantCode: "BAD_USER_INPUT"},
			{name: "variable coercion error, application/json", req: gapRequest{method: "POST", contentType: "application/json", accept: "application/json",
				body: gqlBody(t, `mutation($in: CreateCustomerInput!) { createCustomer(input: $in) { id } }`, map[string]any{"in": "not an object"}), key: key},
				wantStatus: 200, wantCode: "BAD_USER_INPUT"},
		}
		before := tableState(t, b)
		for _, tt := range tests {
			status, header, raw := tt.req.send(t, b)
			require.Equal(t, tt.wantStatus, status, "%s: %s", tt.name, raw)
			for k, v := range tt.wantHeader {
				require.Equal(t, v, header.Get(k), "%s: header %s", tt.name, k)
			}
			var resp struct {
				Errors []apitest.Error `json:"errors"`
			}
			require.NoError(t, json.Unmarshal([]byte(raw), &resp), "%s: not JSON: %s", tt.name, raw)
			require.Len(t, resp.Errors, 1, "%s: %s", tt.name, raw)
			e := resp.Errors[0]
			require.Equal(t, tt.wantCode, e.Code(), "%s: %s", tt.name, raw)
			require.Equal(t, tt.wantField, e.Field(), "%s: %s", tt.name, raw)
			if tt.wantReason != "" {
				require.Equal(t, tt.wantReason, e.Extensions["reason"], "%s: %s", tt.name, raw)
			}
			require.NotContains(t, raw, `"data"`, "%s: a request that did not execute has no data entry", tt.name)
			require.NotContains(t, raw, "gap@example.com", "%s: the body is not echoed", tt.name)
			require.Equal(t, before, tableState(t, b), "%s changed rows", tt.name)
		}

		// The playground still loads the schema with no key.
		status, _, raw := gapRequest{method: "POST", contentType: "application/json", body: `{"query": "{ __schema { queryType { name } } }"}`}.send(t, b)
		require.Equal(t, 200, status, raw)
	})
}

// TestRule7SettingsAndClocksOutOfRange: a simulator setting the simulator
// cannot use, and a test clock outside the years 2000 to 2100, are coded
// errors naming the setting or the time, and change nothing.
func TestRule7SettingsAndClocksOutOfRange(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		r := b.Do(t, key, `mutation { createTestClock(input: {frozenTime: "2099-06-01T00:00:00Z"}) { id } }`, nil)
		r.RequireOK(t)
		clockID := r.String(t, "createTestClock.id")

		const createProcessor = `mutation($s: StringMap) { createProcessor(input: {name: "sim", type: simulator, settings: $s}) { id } }`
		const updateProcessor = `mutation($id: ID!, $s: StringMap) { updateProcessor(id: $id, input: {settings: $s}) { id } }`
		settings := func(k, v string) map[string]any { return map[string]any{"s": map[string]any{k: v}} }
		update := func(k, v string) map[string]any {
			return map[string]any{"id": b.A.ProcessorID, "s": map[string]any{k: v}}
		}
		tests := []struct {
			name, query string
			vars        map[string]any
			wantField   string
			wantReason  string
		}{
			{"decline_rate above 1", createProcessor, settings("decline_rate", "7"), "input.settings.decline_rate", "invalid_processor_setting"},
			{"decline_rate not a number", createProcessor, settings("decline_rate", "lots"), "input.settings.decline_rate", "invalid_processor_setting"},
			{"negative brand decline rate", createProcessor, settings("decline_rate:visa", "-0.1"), "input.settings.decline_rate:visa", "invalid_processor_setting"},
			{"decline_rate NaN", createProcessor, settings("decline_rate", "NaN"), "input.settings.decline_rate", "invalid_processor_setting"},
			{"negative latency_ms", createProcessor, settings("latency_ms", "-5"), "input.settings.latency_ms", "invalid_processor_setting"},
			{"latency_ms with a unit", createProcessor, settings("latency_ms", "5ms"), "input.settings.latency_ms", "invalid_processor_setting"},
			{"latency_ms of an hour", createProcessor, settings("latency_ms", "3600000"), "input.settings.latency_ms", "invalid_processor_setting"},
			{"outage yes", createProcessor, settings("outage", "yes"), "input.settings.outage", "invalid_processor_setting"},
			{"degrade_from not a time", createProcessor, settings("degrade_from", "april"), "input.settings.degrade_from", "invalid_processor_setting"},
			{"degrade_decline_rate above 1", createProcessor, settings("degrade_decline_rate", "2"), "input.settings.degrade_decline_rate", "invalid_processor_setting"},
			{"update: decline_rate above 1", updateProcessor, update("decline_rate", "7"), "input.settings.decline_rate", "invalid_processor_setting"},
			{"update: negative latency_ms", updateProcessor, update("latency_ms", "-5"), "input.settings.latency_ms", "invalid_processor_setting"},
			{"test clock at 9999-12-31", `mutation { createTestClock(input: {frozenTime: "9999-12-31T00:00:00Z"}) { id } }`, nil, "input.frozenTime", "test_clock_time_out_of_range"},
			{"test clock at 1970", `mutation { createTestClock(input: {frozenTime: "1970-01-01T00:00:00Z"}) { id } }`, nil, "input.frozenTime", "test_clock_time_out_of_range"},
			{"test clock advanced past 2100", `mutation($id: ID!) { advanceTestClock(id: $id, frozenTime: "2101-01-01T00:00:00Z") { id } }`, map[string]any{"id": clockID}, "frozenTime", "test_clock_time_out_of_range"},
		}
		before := tableState(t, b)
		for _, tt := range tests {
			r := b.Do(t, key, tt.query, tt.vars)
			e := r.RequireError(t, "BAD_USER_INPUT")
			require.Equal(t, tt.wantField, e.Field(), "%s: %s", tt.name, r.Raw)
			require.Equal(t, tt.wantReason, e.Extensions["reason"], "%s: %s", tt.name, r.Raw)
			require.Equal(t, before, tableState(t, b), "%s changed rows", tt.name)
		}

		// Values in range are taken.
		r = b.Do(t, key, createProcessor, map[string]any{"s": map[string]any{"decline_rate": "0.07", "latency_ms": "5", "outage": "false", "degrade_from": "2026-04-05T00:00:00Z"}})
		r.RequireOK(t)
		r = b.Do(t, key, `mutation { createTestClock(input: {frozenTime: "2100-12-31T00:00:00Z"}) { id } }`, nil)
		r.RequireOK(t)
	})
}
