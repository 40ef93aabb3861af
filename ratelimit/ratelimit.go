// Package ratelimit owns the budgets that keep one caller from taking the
// whole service: per API key, a budget of query cost and one of mutations;
// per client address, a throttle of failed authentications. It is built on
// golang.org/x/time/rate. It never decides what a request costs (the GraphQL
// layer scores it) and never writes a response (the HTTP layer does).
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of Config.
const (
	CostPerSecondDefault      = 10000
	MutationsPerSecondDefault = 100
	MaxKeysDefault            = 100000
)

// Config sizes the budgets of each API key. Zero fields take their defaults.
type Config struct {
	// CostPerSecond is the query cost a key may spend each second. Default
	// CostPerSecondDefault.
	CostPerSecond float64
	// CostBurst is the most cost a key may spend at once. Default twice
	// CostPerSecond; never below MinCostBurst.
	CostBurst int
	// MinCostBurst is the least CostBurst may be, so that the costliest
	// request the complexity limit allows can run. Default 0.
	MinCostBurst int
	// MutationsPerSecond is how many mutation fields (aliases each count) a
	// key may run each second. Default MutationsPerSecondDefault.
	MutationsPerSecond float64
	// MutationBurst is the most mutation fields a key may run at once, in
	// one request or many. Default twice MutationsPerSecond, at least 1.
	MutationBurst int
	// MaxKeys bounds how many keys' buckets are kept in memory; full buckets
	// are dropped first. Default MaxKeysDefault.
	MaxKeys int
}

// WithDefaults returns c with its zero fields filled.
func (c Config) WithDefaults() Config {
	if c.CostPerSecond == 0 {
		c.CostPerSecond = CostPerSecondDefault
	}
	if c.CostBurst == 0 {
		c.CostBurst = burstOf(c.CostPerSecond)
	}
	c.CostBurst = max(c.CostBurst, c.MinCostBurst)
	if c.MutationsPerSecond == 0 {
		c.MutationsPerSecond = MutationsPerSecondDefault
	}
	if c.MutationBurst == 0 {
		c.MutationBurst = burstOf(c.MutationsPerSecond)
	}
	if c.MaxKeys == 0 {
		c.MaxKeys = MaxKeysDefault
	}
	return c
}

// burstOf is twice a rate, at least 1, without overflowing an int.
func burstOf(perSecond float64) int {
	return int(max(1, min(2*perSecond, math.MaxInt32)))
}

// Budgets are every API key's cost and mutation budgets.
type Budgets struct {
	cfg       Config
	cost      *buckets
	mutations *buckets
}

// NewBudgets returns empty budgets: every key starts with full buckets.
func NewBudgets(cfg Config) *Budgets {
	cfg = cfg.WithDefaults()
	return &Budgets{
		cfg:       cfg,
		cost:      newBuckets(cfg.CostPerSecond, cfg.CostBurst, cfg.MaxKeys),
		mutations: newBuckets(cfg.MutationsPerSecond, cfg.MutationBurst, cfg.MaxKeys),
	}
}

// Config returns the budgets' configuration, defaults filled.
func (b *Budgets) Config() Config { return b.cfg }

// Charge is what one request spends.
type Charge struct {
	// Cost is the request's query cost (complexity), at least 1.
	Cost int64
	// Mutations is the number of mutation fields it runs, aliases included.
	Mutations int64
}

// Decision is the answer to a Charge.
type Decision struct {
	Allowed bool
	// Exceeded names the budget that refused: "cost" or "mutations".
	Exceeded string
	// OverBurst is set when the request alone asks for more than that
	// budget ever holds: waiting does not help, a smaller request does.
	OverBurst bool
	// RetryAfter is how long until the refused request would be allowed.
	RetryAfter time.Duration
	// CostRemaining and MutationsRemaining are what the key has left.
	CostRemaining, MutationsRemaining float64
}

// Charge spends c from key's budgets at now, all or nothing: a refused
// request spends from neither.
func (b *Budgets) Charge(key string, c Charge, now time.Time) Decision {
	costs := b.cost.get(key, now)
	muts := b.mutations.get(key, now)
	d := Decision{Allowed: true}
	rc := costs.ReserveN(now, int(min(c.Cost, math.MaxInt32)))
	switch {
	case !rc.OK():
		d = Decision{Exceeded: "cost", OverBurst: true}
	case rc.DelayFrom(now) > 0:
		d = Decision{Exceeded: "cost", RetryAfter: rc.DelayFrom(now)}
		rc.CancelAt(now)
	case c.Mutations > 0:
		rm := muts.ReserveN(now, int(min(c.Mutations, math.MaxInt32)))
		switch {
		case !rm.OK():
			d = Decision{Exceeded: "mutations", OverBurst: true}
			rc.CancelAt(now)
		case rm.DelayFrom(now) > 0:
			d = Decision{Exceeded: "mutations", RetryAfter: rm.DelayFrom(now)}
			rm.CancelAt(now)
			rc.CancelAt(now)
		}
	}
	d.CostRemaining = max(0, costs.TokensAt(now))
	d.MutationsRemaining = max(0, muts.TokensAt(now))
	return d
}

// Throttle refuses a client address after a burst of failures, such as
// invalid API keys, until its bucket refills.
type Throttle struct{ b *buckets }

// NewThrottle allows burst failures per address, refilled at perSecond.
func NewThrottle(perSecond float64, burst, maxAddrs int) *Throttle {
	return &Throttle{b: newBuckets(perSecond, burst, maxAddrs)}
}

// Blocked reports whether addr has used up its failures at now, and how
// long until it may try again. It keeps no state for an address that has
// not failed.
func (t *Throttle) Blocked(addr string, now time.Time) (bool, time.Duration) {
	l := t.b.peek(addr)
	if l == nil || l.TokensAt(now) >= 1 {
		return false, 0
	}
	r := l.ReserveN(now, 1)
	defer r.CancelAt(now)
	return true, r.DelayFrom(now)
}

// Fail records a failure from addr at now.
func (t *Throttle) Fail(addr string, now time.Time) {
	t.b.get(addr, now).AllowN(now, 1)
}

// buckets are token buckets by key, at most max of them kept.
type buckets struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	max   int
	m     map[string]*rate.Limiter
}

func newBuckets(perSecond float64, burst, max int) *buckets {
	return &buckets{limit: rate.Limit(perSecond), burst: burst, max: max, m: map[string]*rate.Limiter{}}
}

func (b *buckets) peek(key string) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[key]
}

func (b *buckets) get(key string, now time.Time) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.m[key]; ok {
		return l
	}
	if len(b.m) >= b.max {
		b.evict(now)
	}
	l := rate.NewLimiter(b.limit, b.burst)
	b.m[key] = l
	return l
}

// evict drops the full buckets (they hold nothing a new one would not),
// and if none is full, an arbitrary one: memory stays bounded, at worst a
// key or address gets a fresh burst early.
func (b *buckets) evict(now time.Time) {
	for k, l := range b.m {
		if l.TokensAt(now) >= float64(b.burst) {
			delete(b.m, k)
		}
	}
	if len(b.m) < b.max {
		return
	}
	for k := range b.m {
		delete(b.m, k)
		return
	}
}
