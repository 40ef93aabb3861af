// Package ids makes and reads offsession's object IDs: opaque strings with a
// type prefix, as Stripe's are (cus_..., osp_...). The prefix tells which kind
// of object an ID names, which is how node(id:) finds its table.
//
// The part after the prefix is a ULID in lower-case Crockford base32: 48 bits
// of milliseconds then 80 bits of randomness, kept monotonic within a
// process, so IDs sort in creation order.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Prefixes of every object that has a public ID, mapped to the name of the
// table that stores it.
var tables = map[string]string{
	"acct": "accounts",
	"key":  "api_keys",
	"cus":  "customers",
	"pm":   "payment_methods",
	"mdt":  "mandates",
	"osp":  "off_session_payments",
	"att":  "attempts",
	"prc":  "processors",
	"evt":  "events",
	"clk":  "test_clocks",
	"rtp":  "retry_policies",
	"rte":  "routes",
	"mdl":  "retry_models",
	"we":   "webhook_endpoints",
	"whd":  "webhook_deliveries",
	"idk":  "idempotency_keys",
	"sch":  "simulator_charges",
}

const encoding = "0123456789abcdefghjkmnpqrstvwxyz"

// ulidLen is the length of the part after the prefix and underscore.
const ulidLen = 26

var (
	mu       sync.Mutex
	lastMS   uint64
	lastRand [10]byte
	// counted, when set, makes IDs from a counter (Repeatable).
	counted *counter
)

type counter struct{ n, tag uint64 }

// Repeatable makes every later ID of this process from a counter that
// starts at start, and from seed, instead of from the clock and
// crypto/rand: a run that makes the same objects in the same order gets the
// same IDs, so a benchmark repeats exactly. Processes that share a database
// must start far apart. The IDs still sort in creation order. Benchmarks
// only: such IDs are guessable.
func Repeatable(seed, start uint64) {
	mu.Lock()
	defer mu.Unlock()
	counted = &counter{n: start, tag: seed*0x9e3779b97f4a7c15 | 1}
}

// New returns a fresh ID with the given prefix. It panics on a prefix that
// is not registered: that is a programming error, not bad input.
func New(prefix string) string {
	if _, ok := tables[prefix]; !ok {
		panic(fmt.Sprintf("ids: unknown prefix %q", prefix))
	}
	var b [16]byte
	next(&b)
	return prefix + "_" + encode(b)
}

// next fills b with a monotonic ULID: within one millisecond the random part
// is incremented rather than redrawn, so IDs made in sequence sort in
// sequence.
func next(b *[16]byte) {
	mu.Lock()
	defer mu.Unlock()
	if counted != nil {
		binary.BigEndian.PutUint64(b[0:8], counted.n)
		binary.BigEndian.PutUint64(b[8:16], counted.tag)
		counted.n++
		return
	}
	ms := uint64(time.Now().UnixMilli())
	if ms <= lastMS {
		ms = lastMS
		// Increment the 80-bit random part; a carry out of it is
		// astronomically unlikely and only costs monotonicity.
		for i := len(lastRand) - 1; i >= 0; i-- {
			lastRand[i]++
			if lastRand[i] != 0 {
				break
			}
		}
	} else {
		if _, err := rand.Read(lastRand[:]); err != nil {
			panic(fmt.Sprintf("ids: read random: %v", err))
		}
		lastMS = ms
	}
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(b[0:6], ts[2:])
	copy(b[6:], lastRand[:])
}

func encode(b [16]byte) string {
	// 128 bits as 26 base32 digits: the first digit carries 3 bits.
	var out [ulidLen]byte
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	for i := ulidLen - 1; i >= 0; i-- {
		out[i] = encoding[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Table returns the table that stores objects with the ID's prefix, or an
// error when the ID is malformed or its prefix unknown.
func Table(id string) (string, error) {
	prefix, rest, ok := strings.Cut(id, "_")
	if !ok {
		return "", fmt.Errorf("malformed ID %q: no type prefix", id)
	}
	table, known := tables[prefix]
	if !known {
		return "", fmt.Errorf("malformed ID %q: unknown type prefix %q", id, prefix)
	}
	if !wellFormed(rest) {
		return "", fmt.Errorf("malformed ID %q", id)
	}
	return table, nil
}

// HasPrefix reports whether id is a well-formed ID of the given prefix.
func HasPrefix(id, prefix string) bool {
	p, rest, ok := strings.Cut(id, "_")
	return ok && p == prefix && wellFormed(rest)
}

func wellFormed(s string) bool {
	if len(s) != ulidLen || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(encoding, rune(s[i])) {
			return false
		}
	}
	return true
}

// Prefixes returns every registered prefix with its table.
func Prefixes() map[string]string {
	out := make(map[string]string, len(tables))
	for k, v := range tables {
		out[k] = v
	}
	return out
}
