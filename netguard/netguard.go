// Package netguard decides which hosts offsession may call out to: the
// webhook endpoints and processor base URLs that callers configure. It
// refuses loopback, private, link-local, multicast, unspecified and other
// special-purpose addresses in every spelling, once when a URL is checked
// and again when the connection is made, so that a name that resolved to a
// public address when it was checked and to a private one later (DNS
// rebinding) is still refused. It never decides what is sent, only where.
//
// A Guard with AllowPrivate lets every address through: for development,
// tests and demos whose servers listen on 127.0.0.1.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Defaults of Config.
const (
	LookupTimeoutDefault = 3 * time.Second
	DialTimeoutDefault   = 10 * time.Second
)

// LookupFunc resolves a host name to its addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// Config tunes a Guard. Zero fields take their defaults.
type Config struct {
	// AllowPrivate lets URLs and connections reach any address, private
	// ones included. Default false: development only.
	AllowPrivate bool
	// Lookup resolves host names, both when a URL is checked and when a
	// connection is made. Default net.DefaultResolver.
	Lookup LookupFunc
	// LookupTimeout bounds the lookup made when a URL is checked. Default
	// LookupTimeoutDefault (3 s).
	LookupTimeout time.Duration
	// DialTimeout bounds one connection attempt. Default DialTimeoutDefault
	// (10 s).
	DialTimeout time.Duration
}

// Guard checks URLs and connections against Config.
type Guard struct {
	cfg Config
}

// New returns a guard.
func New(cfg Config) *Guard {
	if cfg.Lookup == nil {
		cfg.Lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if cfg.LookupTimeout == 0 {
		cfg.LookupTimeout = LookupTimeoutDefault
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DialTimeoutDefault
	}
	return &Guard{cfg: cfg}
}

// AllowsPrivate reports whether g lets private addresses through.
func (g *Guard) AllowsPrivate() bool { return g.cfg.AllowPrivate }

// ErrNotAllowed is wrapped by every refusal of the guard.
var ErrNotAllowed = errors.New("address not allowed")

// RefusedError says why a host was refused. Its text names the host, as
// the caller gave it, and the kind of address, never a resolved address.
type RefusedError struct {
	Host string
	// Reason is the kind of address, such as "loopback" or "private".
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s is not allowed: %s", e.Host, e.Reason)
}

// Unwrap makes errors.Is(err, ErrNotAllowed) true.
func (e *RefusedError) Unwrap() error { return ErrNotAllowed }

// CheckURL checks an outbound http(s) URL: its host must not be, or
// resolve to, a refused address. A name that does not resolve now is let
// through: the connection is checked again when it is made.
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("must be an http(s) URL")
	}
	if g.cfg.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	addrs, err := g.resolve(ctx, host, true)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if reason := Refused(a); reason != "" {
			return &RefusedError{Host: host, Reason: reason}
		}
	}
	return nil
}

// resolve returns host's addresses, refusing the spellings that resolvers
// read differently. With lenient, a failed lookup gives no address and no
// error.
func (g *Guard) resolve(ctx context.Context, host string, lenient bool) ([]netip.Addr, error) {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if a, err := netip.ParseAddr(name); err == nil {
		if a.Zone() != "" {
			return nil, &RefusedError{Host: host, Reason: "an IPv6 zone names a local interface"}
		}
		return []netip.Addr{a}, nil
	}
	switch {
	case name == "":
		return nil, &RefusedError{Host: host, Reason: "no host"}
	case g.cfg.AllowPrivate:
	case numericLastLabel(name):
		// 2130706433, 0x7f000001, 0177.0.0.1, 127.1: some resolvers read
		// these as IPv4 addresses, others as names.
		return nil, &RefusedError{Host: host, Reason: "an IPv4 address must be written as four decimal numbers"}
	case name == "localhost" || strings.HasSuffix(name, ".localhost"):
		return nil, &RefusedError{Host: host, Reason: "loopback"}
	}
	lctx, cancel := context.WithTimeout(ctx, g.cfg.LookupTimeout)
	defer cancel()
	addrs, err := g.cfg.Lookup(lctx, name)
	if err != nil && !lenient {
		return nil, fmt.Errorf("look up %s: %w", host, err)
	}
	return addrs, nil
}

// numericLastLabel reports whether a host's last label is a number
// (decimal, or hex with 0x): WHATWG URL parsing then reads the host as an
// IPv4 address, and so does inet_aton, in forms netip does not accept.
func numericLastLabel(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if h, ok := strings.CutPrefix(last, "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// DialContext connects as net.Dialer does, to an address the guard allows:
// the host is resolved with the guard's lookup and every address it
// resolves to must be allowed. It is http.Transport's DialContext.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	addrs, err := g.resolve(ctx, host, false)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	if len(addrs) == 0 {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	if !g.cfg.AllowPrivate {
		for _, a := range addrs {
			if reason := Refused(a); reason != "" {
				return nil, &net.OpError{Op: "dial", Net: network, Err: &RefusedError{Host: host, Reason: reason}}
			}
		}
	}
	d := net.Dialer{Timeout: g.cfg.DialTimeout, Control: g.Control}
	var errs []error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// Control is a net.Dialer Control function: it refuses a connection to an
// address the guard does not allow, after resolution and before connecting.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	if g.cfg.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Host: address, Reason: "not an IP address"}
	}
	if reason := Refused(ap.Addr()); reason != "" {
		return &RefusedError{Host: address, Reason: reason}
	}
	return nil
}

// Transport returns an HTTP transport that connects only through the
// guard. It uses no proxy: a proxy would connect on the guard's behalf.
func (g *Guard) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = g.DialContext
	return t
}
