package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/dashboard"
)

// TestDashboardServesTheEmbeddedBuild: the page and the assets it names come
// from the binary, any page path gets the app, and a missing asset is a 404.
func TestDashboardServesTheEmbeddedBuild(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(dashboard.Handler())
	defer srv.Close()
	get := func(p string) (*http.Response, string) {
		res, err := http.Get(srv.URL + p)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res, string(b)
	}
	res, page := get("/dashboard/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, `<div id="root">`)
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'")
	assets := regexp.MustCompile(`/dashboard/(assets/[^"]+)`).FindAllStringSubmatch(page, -1)
	require.NotEmpty(t, assets, "the page names its assets")
	for _, a := range assets {
		res, body := get("/dashboard/" + a[1])
		require.Equal(t, http.StatusOK, res.StatusCode, a[1])
		require.NotEmpty(t, body)
		require.Contains(t, res.Header.Get("Cache-Control"), "immutable")
	}
	res, again := get("/dashboard/payments/osp_x")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, page, again)
	res, _ = get("/dashboard/assets/missing.js")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}
