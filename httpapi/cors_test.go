package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/httpapi"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/requestid"
)

// TestCORSForConfiguredOrigins: a browser's preflight from a configured
// origin is answered before authentication (it carries no key) with the
// methods and headers /graphql takes; its request, with the key, gets the
// origin echoed and the request ID exposed. Another origin gets no CORS
// header at all, preflight or not; no origin configured means none.
func TestCORSForConfiguredOrigins(t *testing.T) {
	t.Parallel()
	const dashboard, evil = "https://dashboard.example.com", "https://evil.example.net"
	origins, err := httpapi.ParseOrigins(" https://Dashboard.example.com , http://localhost:5173")
	require.NoError(t, err)
	require.Equal(t, []string{dashboard, "http://localhost:5173"}, origins)
	b := setupThrottle(t, storagetest.Open(t, storagetest.Dialects()[0]), httpapi.Config{CORSOrigins: origins})

	preflight := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		rec := httptest.NewRecorder()
		b.handler.ServeHTTP(rec, req)
		return rec
	}
	post := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ viewer { role } }"}`))
		req.RemoteAddr = "192.0.2.1:1000"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+b.key)
		req.Header.Set("Origin", origin)
		rec := httptest.NewRecorder()
		b.handler.ServeHTTP(rec, req)
		return rec
	}

	rec := preflight(dashboard)
	require.Equal(t, http.StatusNoContent, rec.Code)
	require.Equal(t, dashboard, rec.Header().Get("Access-Control-Allow-Origin"))
	require.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST")
	require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Authorization")
	require.Contains(t, rec.Header().Values("Vary"), "Origin")
	require.Equal(t, int64(0), b.lookups.Load(), "a preflight looks up no key")

	rec = post(dashboard)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, dashboard, rec.Header().Get("Access-Control-Allow-Origin"))
	require.Equal(t, requestid.Header, rec.Header().Get("Access-Control-Expose-Headers"))
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"), "keys are never cookies")

	for _, rec := range []*httptest.ResponseRecorder{preflight(evil), post(evil)} {
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "another origin is not allowed")
		require.Empty(t, rec.Header().Get("Access-Control-Allow-Methods"))
	}

	none := setupThrottle(t, storagetest.Open(t, storagetest.Dialects()[0]), httpapi.Config{})
	req := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
	req.Header.Set("Origin", dashboard)
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec = httptest.NewRecorder()
	none.handler.ServeHTTP(rec, req)
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "no origin configured: no cross-origin access")

	for _, bad := range []string{"*", "https://*.example.com", "dashboard.example.com", "https://example.com/app", "ftp://example.com"} {
		_, err := httpapi.ParseOrigins(bad)
		require.Error(t, err, bad)
	}
}
