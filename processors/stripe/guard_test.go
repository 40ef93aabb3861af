package stripe_test

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

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/processors/connector"
)

// TestStripeKeyIsNotSentToAReboundPrivateAddress: a base URL whose host
// resolves to 127.0.0.1 at connect time is refused by the dialer; the
// secret key never reaches the listener and the attempt is a technical
// error that names no address.
func TestStripeKeyIsNotSentToAReboundPrivateAddress(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.Config.ConnState = func(net.Conn, http.ConnState) { conns.Add(1) }
	srv.Start()
	t.Cleanup(srv.Close)
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	guard := netguard.New(netguard.Config{Lookup: func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}})
	conn, err := processors.NewRegistry(nil, guard).Connector(&ent.Processor{
		ID: "prc_stripe_rebound", Type: processor.TypeStripe, Credentials: stripeTestKey,
		BaseURL: "http://stripe.example.test:" + port,
	})
	require.NoError(t, err)
	out, err := conn.Authorize(context.Background(), connector.AuthorizeRequest{
		IdempotencyKey: "att_rebound", Token: "pm_card_visa", Amount: 1999, Currency: "usd",
	})
	require.NoError(t, err)
	require.Equal(t, connector.TechnicalError, out.Result)
	require.Equal(t, "stripe: the base URL's address is not allowed", out.Message)
	require.Zero(t, conns.Load(), "no connection reached the listener")
}
