package graph_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// nonPublicURLs spells loopback, private, link-local, multicast,
// unspecified and special-purpose addresses every way a resolver or URL
// parser might read them.
var nonPublicURLs = []string{
	"http://169.254.169.254/latest/meta-data/",
	"http://127.0.0.1:8080/hooks",
	"http://127.0.0.1./hooks",
	"http://127.1/",
	"http://2130706433/",
	"http://0x7f000001/",
	"http://0x7f.0.0.1/",
	"http://0177.0.0.1/",
	"http://10.0.0.1/",
	"http://172.16.0.1/",
	"http://192.168.1.1/",
	"http://100.64.0.1/",
	"http://0.0.0.0/",
	"http://224.0.0.1/",
	"http://[::1]/",
	"http://[::]/",
	"http://[::ffff:127.0.0.1]/",
	"http://[::ffff:a9fe:a9fe]/",
	"http://[64:ff9b::7f00:1]/",
	"http://[2002:7f00:1::]/",
	"http://[fe80::1]/",
	"http://[fe80::1%25eth0]/",
	"http://[fd00::1]/",
	"http://[ff02::1]/",
	"http://localhost:8080/",
	"http://metadata.localhost/",
	"https://internal.example.test/",
}

// testDNS answers internal.example.test with a private address, and
// public.example.test (and any other name) with a public one.
func testDNS(_ context.Context, host string) ([]netip.Addr, error) {
	if host == "internal.example.test" {
		return []netip.Addr{netip.MustParseAddr("10.20.30.40")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

// TestOutboundURLGuardRefusesEveryNonPublicSpelling: webhook URLs and
// processor base URLs that are, or resolve to, a non-public address are
// refused with a coded error naming the field, and nothing is stored.
func TestOutboundURLGuardRefusesEveryNonPublicSpelling(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, func(c *app.Config) { c.URLLookup = testDNS })
		key := b.A.Keys.Secret
		sys := viewer.SystemContext(context.Background())
		prc := b.Do(t, key, `mutation { createProcessor(input: {name: "Stripe", type: stripe, credentials: "sk_test_guard", baseURL: "https://public.example.test"}) { id } }`, nil)
		prc.RequireOK(t)
		prcID := prc.String(t, "createProcessor.id")
		endpoints, err := st.Client.WebhookEndpoint.Query().Count(sys)
		require.NoError(t, err)
		processors, err := st.Client.Processor.Query().Count(sys)
		require.NoError(t, err)

		for _, u := range nonPublicURLs {
			vars := map[string]any{"url": u, "id": prcID}
			r := b.Do(t, key, `mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) { webhookEndpoint { id } } }`, vars)
			e := r.RequireError(t, "BAD_USER_INPUT")
			require.Equal(t, "input.url", e.Field(), u)
			require.Equal(t, "address_not_allowed", e.Extensions["reason"], u)

			r = b.Do(t, key, `mutation($url: String!) { createProcessor(input: {name: "Stripe", type: stripe, credentials: "sk_test_guard", baseURL: $url}) { id } }`, vars)
			require.Equal(t, "input.baseURL", r.RequireError(t, "BAD_USER_INPUT").Field(), u)

			r = b.Do(t, key, `mutation($id: ID!, $url: String!) { updateProcessor(id: $id, input: {baseURL: $url}) { id } }`, vars)
			require.Equal(t, "input.baseURL", r.RequireError(t, "BAD_USER_INPUT").Field(), u)
		}

		n, err := st.Client.WebhookEndpoint.Query().Count(sys)
		require.NoError(t, err)
		require.Equal(t, endpoints, n, "no webhook endpoint stored")
		n, err = st.Client.Processor.Query().Count(sys)
		require.NoError(t, err)
		require.Equal(t, processors, n, "no processor stored")
		p, err := st.Client.Processor.Get(sys, prcID)
		require.NoError(t, err)
		require.Equal(t, "https://public.example.test", p.BaseURL, "the base URL is unchanged")
	})
}

// TestOutboundURLGuardRefusesARebindingAtDelivery: a webhook host that
// resolved to a public address when the endpoint was created and to
// 127.0.0.1 when the delivery connects is refused by the dialer; no
// connection reaches the listener, and the delivery log gives a generic
// reason, not the address or the dial error.
func TestOutboundURLGuardRefusesARebindingAtDelivery(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		var conns atomic.Int32
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		srv.Config.ConnState = func(net.Conn, http.ConnState) { conns.Add(1) }
		srv.Start()
		t.Cleanup(srv.Close)
		port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)

		var rebound atomic.Bool
		b := apitest.NewWith(t, st, func(c *app.Config) {
			c.URLLookup = func(context.Context, string) ([]netip.Addr, error) {
				if rebound.Load() {
					return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
				}
				return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
			}
		})
		key := b.A.Keys.Secret
		r := b.Do(t, key, `mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) { webhookEndpoint { id } } }`,
			map[string]any{"url": "http://rebind.example.test:" + port + "/hooks"})
		r.RequireOK(t)
		ep := r.String(t, "createWebhookEndpoint.webhookEndpoint.id")

		rebound.Store(true)
		c := b.NewChain(t, b.A, apitest.ChainOptions{})
		b.CreatePayment(t, key, apitest.PaymentInput(c, 1000, nil)).RequireOK(t)
		require.NoError(t, b.Proc.Deliverer.RunDue(context.Background()))

		require.Zero(t, conns.Load(), "no connection reached the listener")
		r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 10) { edges { node { status attemptCount attempts { statusCode error } } } } } } }`, map[string]any{"id": ep})
		r.RequireOK(t)
		edges := r.Get(t, "node.deliveries.edges").([]any)
		require.NotEmpty(t, edges)
		for _, e := range edges {
			n := e.(map[string]any)["node"].(map[string]any)
			require.Equal(t, "pending", n["status"], "refused, to be tried again")
			for _, a := range n["attempts"].([]any) {
				require.Equal(t, "connection failed", a.(map[string]any)["error"])
				require.Zero(t, a.(map[string]any)["statusCode"])
			}
		}
		require.NotContains(t, r.Raw, "127.0.0.1")
		require.NotContains(t, r.Raw, port)
	})
}
