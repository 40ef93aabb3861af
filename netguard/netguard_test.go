package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/netguard"
)

// RefusedURLs is every spelling of a non-public address the guard must
// refuse; graph tests send the same list through the API.
var refusedURLs = []string{
	"http://169.254.169.254/latest/meta-data/",
	"http://127.0.0.1:8080/hooks",
	"http://127.0.0.1./hooks",
	"http://127.1/",
	"http://2130706433/",
	"http://0x7f000001/",
	"http://0x7f.0.0.1/",
	"http://0177.0.0.1/",
	"http://017700000001/",
	"http://10.0.0.1/",
	"http://172.16.0.1/",
	"http://192.168.1.1/",
	"http://100.64.0.1/",
	"http://0.0.0.0/",
	"http://224.0.0.1/",
	"http://255.255.255.255/",
	"http://[::1]/",
	"http://[::]/",
	"http://[::ffff:127.0.0.1]/",
	"http://[::ffff:7f00:1]/",
	"http://[::ffff:169.254.169.254]/",
	"http://[::127.0.0.1]/",
	"http://[64:ff9b::7f00:1]/",
	"http://[2002:7f00:1::]/",
	"http://[fe80::1]/",
	"http://[fe80::1%25eth0]/",
	"http://[fc00::1]/",
	"http://[fd12:3456::1]/",
	"http://[ff02::1]/",
	"http://localhost:8080/",
	"http://api.localhost/",
	"https://private.example.test/",
}

// fakeDNS answers private.example.test with a private address and every
// other name with a public one.
func fakeDNS(_ context.Context, host string) ([]netip.Addr, error) {
	if host == "private.example.test" {
		return []netip.Addr{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

func TestGuardRefusesEveryNonPublicSpelling(t *testing.T) {
	t.Parallel()
	g := netguard.New(netguard.Config{Lookup: fakeDNS})
	for _, u := range refusedURLs {
		err := g.CheckURL(context.Background(), u)
		require.ErrorIs(t, err, netguard.ErrNotAllowed, u)
	}
	for _, u := range []string{"https://hooks.example.com/x", "http://93.184.216.34:8080/", "https://[2606:4700::1111]/"} {
		require.NoError(t, g.CheckURL(context.Background(), u), u)
	}
	for _, u := range []string{"ftp://example.com/", "hooks.example.com", "http://"} {
		err := g.CheckURL(context.Background(), u)
		require.Error(t, err, u)
		require.NotErrorIs(t, err, netguard.ErrNotAllowed, u)
	}
}

func TestGuardAllowPrivateLetsEveryAddressThrough(t *testing.T) {
	t.Parallel()
	g := netguard.New(netguard.Config{AllowPrivate: true, Lookup: fakeDNS})
	for _, u := range refusedURLs {
		require.NoError(t, g.CheckURL(context.Background(), u), u)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(srv.Close)
	resp, err := (&http.Client{Transport: g.Transport()}).Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

// TestGuardRefusesARebindingAtConnectTime: a name that resolved to a
// public address when its URL was checked and resolves to 127.0.0.1 when
// the connection is made is refused, and nothing reaches the listener.
func TestGuardRefusesARebindingAtConnectTime(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.Config.ConnState = func(net.Conn, http.ConnState) { conns.Add(1) }
	srv.Start()
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port

	var lookups atomic.Int32
	g := netguard.New(netguard.Config{Lookup: func(context.Context, string) ([]netip.Addr, error) {
		if lookups.Add(1) == 1 {
			return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}})
	u := "http://rebind.example.test:" + strconv.Itoa(port) + "/hooks"
	require.NoError(t, g.CheckURL(context.Background(), u))

	_, err := (&http.Client{Transport: g.Transport()}).Get(u)
	require.ErrorIs(t, err, netguard.ErrNotAllowed)
	var op *net.OpError
	require.True(t, errors.As(err, &op) && op.Op == "dial", "a refusal is a dial error: %v", err)
	require.Equal(t, int32(2), lookups.Load())
	require.Zero(t, conns.Load(), "no connection reached the listener")
}

// TestGuardControlRefusesAPrivateAddress: the dialer's Control function
// refuses what a resolver outside the guard handed it.
func TestGuardControlRefusesAPrivateAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	g := netguard.New(netguard.Config{})
	d := net.Dialer{Control: g.Control}
	_, err = d.Dial("tcp", ln.Addr().String())
	require.ErrorIs(t, err, netguard.ErrNotAllowed)
	require.ErrorIs(t, g.Control("tcp", "[::ffff:10.0.0.1]:443", nil), netguard.ErrNotAllowed)
	require.NoError(t, g.Control("tcp", "93.184.216.34:443", nil))
}
