package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/httpapi"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/ratelimit"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

type throttleBundle struct {
	handler http.Handler
	key     string
	lookups *atomic.Int64
}

// setupThrottle builds the HTTP surface on st with a GraphQL stand-in that
// answers 200 (or, with ?refuse, refuses by a budget), a frozen clock so no
// bucket refills, and a count of API-key lookups.
func setupThrottle(t *testing.T, st *storage.Store, cfg httpapi.Config) throttleBundle {
	t.Helper()
	ctx := viewer.SystemContext(context.Background())
	_, keys, err := auth.CreateAccount(ctx, st.Client, "Throttled")
	require.NoError(t, err)
	lookups := &atomic.Int64{}
	st.Client.APIKey.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			lookups.Add(1)
			return next.Query(ctx, q)
		})
	}))
	gql := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("refuse") {
			ratelimit.FromContext(r.Context()).Refuse(2500 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{}}`)
	})
	frozen := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return frozen }
	h := httpapi.NewHandler(httpapi.Deps{
		DB: st.Client, GraphQL: gql, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Ready: func(context.Context) error { return nil },
	}, cfg)
	return throttleBundle{handler: h, key: keys.Restricted, lookups: lookups}
}

func (b throttleBundle) post(t *testing.T, remote, key, forwardedFor, query string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql"+query, strings.NewReader(`{"query":"{ viewer { role } }"}`))
	req.RemoteAddr = remote
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) (code, field string) {
	t.Helper()
	var body struct {
		Errors []struct {
			Extensions map[string]string `json:"extensions"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	require.Len(t, body.Errors, 1, rec.Body.String())
	return body.Errors[0].Extensions["code"], body.Errors[0].Extensions["field"]
}

// TestThrottleInvalidKeysPerAddress: after a burst of invalid keys from one
// address, its next attempts get 429 RATE_LIMITED with no key looked up;
// other addresses are not affected.
func TestThrottleInvalidKeysPerAddress(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := setupThrottle(t, st, httpapi.Config{InvalidKeyBurst: 5})
		const attacker = "203.0.113.7:40000"
		for i := 0; i < 5; i++ {
			rec := b.post(t, attacker, "sk_wrong", "", "")
			require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
		}
		require.EqualValues(t, 5, b.lookups.Load())
		for _, key := range []string{"sk_wrong", "rk_another", b.key} {
			rec := b.post(t, "203.0.113.7:40001", key, "", "")
			require.Equal(t, http.StatusTooManyRequests, rec.Code, rec.Body.String())
			require.NotEmpty(t, rec.Header().Get("Retry-After"))
			code, field := errorCode(t, rec)
			require.Equal(t, "RATE_LIMITED", code)
			require.Equal(t, "Authorization", field)
		}
		require.EqualValues(t, 5, b.lookups.Load(), "a throttled address costs no lookup")

		rec := b.post(t, "198.51.100.9:1234", b.key, "", "")
		require.Equal(t, http.StatusOK, rec.Code, "another address is not throttled: %s", rec.Body.String())
		rec = b.post(t, "[2001:db8:1::1]:1234", "bad", "", "")
		require.Equal(t, http.StatusUnauthorized, rec.Code)
	})
}

// TestThrottleForwardedForOnlyFromTrustedProxies: X-Forwarded-For does not
// let a client spread its failures over made-up addresses, unless the
// connection comes from a trusted proxy.
func TestThrottleForwardedForOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		untrusted := setupThrottle(t, st, httpapi.Config{InvalidKeyBurst: 3})
		for i := 0; i < 3; i++ {
			untrusted.post(t, "192.0.2.10:1", "bad", "198.51.100."+string(rune('1'+i)), "")
		}
		rec := untrusted.post(t, "192.0.2.10:1", "bad", "198.51.100.99", "")
		require.Equal(t, http.StatusTooManyRequests, rec.Code, "X-Forwarded-For ignored without a trusted proxy")

		trusted := setupThrottle(t, st, httpapi.Config{InvalidKeyBurst: 3, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
		for i := 0; i < 3; i++ {
			rec := trusted.post(t, "10.1.2.3:1", "bad", "198.51.100.1, 10.9.9.9", "")
			require.Equal(t, http.StatusUnauthorized, rec.Code)
		}
		rec = trusted.post(t, "10.1.2.3:1", "bad", "198.51.100.1, 10.9.9.9", "")
		require.Equal(t, http.StatusTooManyRequests, rec.Code, "the client behind the proxies is throttled")
		rec = trusted.post(t, "10.1.2.3:1", "bad", "198.51.100.2", "")
		require.Equal(t, http.StatusUnauthorized, rec.Code, "another client behind the same proxy is not")
	})
}

// TestThrottleBudgetRefusalIs429: a request the GraphQL layer refuses by a
// budget is answered 429 with Retry-After.
func TestThrottleBudgetRefusalIs429(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := setupThrottle(t, st, httpapi.Config{})
		rec := b.post(t, "192.0.2.1:1", b.key, "", "?refuse")
		require.Equal(t, http.StatusTooManyRequests, rec.Code)
		require.Equal(t, "3", rec.Header().Get("Retry-After"))
		rec = b.post(t, "192.0.2.1:1", b.key, "", "")
		require.Equal(t, http.StatusOK, rec.Code)
	})
}
