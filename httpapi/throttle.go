package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ratelimit"
)

// Defaults of Config's throttle of invalid keys.
const (
	InvalidKeyBurstDefault     = 20
	InvalidKeyPerSecondDefault = 1
	MaxAddrsDefault            = 100000
)

// clientAddr is the address a request came from: RemoteAddr, or when
// RemoteAddr is a trusted proxy, the nearest address in X-Forwarded-For
// that is not one. IPv6 addresses count by their /64, which one machine
// usually holds whole.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if isTrusted(addr, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = hop.Unmap()
			if !isTrusted(addr, trusted) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// refuseThrottled answers 429 RATE_LIMITED for an address that sent too
// many invalid keys, before any key is looked up.
func refuseThrottled(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(1, math.Ceil(retryAfter.Seconds())))))
	writeJSON(w, http.StatusTooManyRequests, errorBody(w, apierror.RateLimited, "Authorization", "too many invalid API keys from this address; slow down"))
}

// rateLimitedStatus turns a response the GraphQL layer refused by a
// budget (ratelimit.Outcome) into HTTP 429 with Retry-After.
func rateLimitedStatus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, out := ratelimit.NewContext(r.Context())
		next.ServeHTTP(&limitedWriter{ResponseWriter: w, out: out}, r.WithContext(ctx))
	})
}

type limitedWriter struct {
	http.ResponseWriter
	out         *ratelimit.Outcome
	wroteHeader bool
}

func (w *limitedWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if refused, after := w.out.Refused(); refused && code == http.StatusOK {
		if after > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(after.Seconds()))))
		}
		code = http.StatusTooManyRequests
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer (for the
// WebSocket upgrade and flushing).
func (w *limitedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
