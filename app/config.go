package app

import (
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/offsession/offsession/graph"
	"github.com/offsession/offsession/httpapi"
	"github.com/offsession/offsession/netguard"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/ratelimit"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/scheduler"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/webhooks"
)

// Config is offsession's configuration. Every field but SmartPlanner and
// URLLookup has an environment variable and a flag of the same meaning; a
// flag wins over the variable.
type Config struct {
	// DatabaseURL: OFFSESSION_DATABASE_URL, -database-url. Default
	// sqlite://offsession.db; postgres://user@host/db for PostgreSQL.
	DatabaseURL string
	// ListenAddr: OFFSESSION_LISTEN_ADDR, -listen. Default :8080.
	ListenAddr string
	// LogLevel: OFFSESSION_LOG_LEVEL, -log-level: debug, info, warn or
	// error. Default info.
	LogLevel string
	// Workers: OFFSESSION_WORKERS, -workers. Payments worked on at once.
	// Default 4.
	Workers int
	// PollInterval: OFFSESSION_POLL_INTERVAL, -poll-interval. How often due
	// payments are looked for. Default 200ms.
	PollInterval time.Duration
	// AttemptLease: OFFSESSION_ATTEMPT_LEASE, -attempt-lease. How long a
	// worker holds a payment before another may take it over. Default 30s.
	AttemptLease time.Duration
	// ProcessorTimeout: OFFSESSION_PROCESSOR_TIMEOUT, -processor-timeout.
	// Default 10s; must be shorter than the lease.
	ProcessorTimeout time.Duration
	// WebhookBackoff: OFFSESSION_WEBHOOK_BACKOFF, -webhook-backoff. The wait
	// after a webhook delivery's first failure; it doubles with each
	// failure, up to 30 minutes, for three days. Default 30s.
	WebhookBackoff time.Duration
	// RetrainEvery: OFFSESSION_RETRAIN_EVERY, -retrain-every. How often the
	// retry model is retrained on each account's history; the new version
	// is activated only if it passes the activation gate and predicts the
	// newest retries better than the active one. 0 turns it off. Default
	// scheduler.RetrainEveryDefault (7 days).
	RetrainEvery time.Duration
	// ProbeInterval: OFFSESSION_ROUTING_PROBE_INTERVAL, -routing-probe-interval.
	// How often a processor eliminated after technical failures gets one
	// probe attempt. Default 30s.
	ProbeInterval time.Duration
	// RateLimit: OFFSESSION_RATE_LIMIT, -rate-limit. Mutation fields per
	// second per API key (aliases each count). Default 100.
	RateLimit float64
	// RateBurst: OFFSESSION_RATE_BURST, -rate-burst. The most mutation
	// fields a key may run at once; a request with more is refused whole.
	// Default twice RateLimit.
	RateBurst int
	// QueryCostLimit: OFFSESSION_QUERY_COST_LIMIT, -query-cost-limit. Query
	// cost (see MaxComplexity) per second per API key. Default 10000; 0
	// also means the default, not no limit.
	QueryCostLimit float64
	// QueryCostBurst: OFFSESSION_QUERY_COST_BURST, -query-cost-burst. The
	// most cost a key may spend at once. Default twice QueryCostLimit, and
	// never below MaxComplexity.
	QueryCostBurst int
	// MaxComplexity: OFFSESSION_MAX_COMPLEXITY, -max-complexity. The most
	// one request may cost: each field 1, a connection's edges and nodes
	// times its page size. Default 10000; 0 also means the default.
	MaxComplexity int
	// MaxPageSize: OFFSESSION_MAX_PAGE_SIZE, -max-page-size. The largest
	// first or last of any connection, and the most IDs of nodes(ids:).
	// Default 100; 0 also means the default.
	MaxPageSize int
	// PageSize: OFFSESSION_PAGE_SIZE, -page-size. The page of a connection
	// given neither first nor last. Default 20; 0 also means the default.
	// It must not exceed MaxPageSize, so a MaxPageSize under 20 needs a
	// PageSize too.
	PageSize int
	// TrustedProxies: OFFSESSION_TRUSTED_PROXIES, -trusted-proxies.
	// Comma-separated addresses or CIDR prefixes of proxies whose
	// X-Forwarded-For names the client (for the throttle of invalid keys).
	// Default none: the client is the connection's address.
	TrustedProxies string
	// CORSOrigins: OFFSESSION_CORS_ORIGINS, -cors-origins: comma-separated
	// origins (scheme://host[:port]) whose pages may call the API.
	CORSOrigins string
	// ExplorationShare: OFFSESSION_EXPLORATION_SHARE, -exploration-share.
	// The share of retry decisions that pick a random allowed time, so the
	// history stays fit to learn from. Default 0.05.
	ExplorationShare float64
	// AllowPrivateURLs: OFFSESSION_ALLOW_PRIVATE_URLS, -allow-private-urls.
	// Lets webhook endpoints and processor base URLs reach loopback,
	// private and link-local addresses: for development against local
	// servers only. Default false.
	AllowPrivateURLs bool
	// SmartPlanner, when set (benchmarks), replaces the smart strategy's
	// planner; not a flag.
	SmartPlanner retry.Planner
	// URLLookup, when set (tests), resolves the hosts of webhook and
	// processor URLs instead of the system resolver; not a flag.
	URLLookup netguard.LookupFunc
}

// bind binds c's fields to flags on fs, with their defaults, and returns
// the environment variable of each flag, for applyEnv.
func (c *Config) bind(fs *flag.FlagSet) map[string]string {
	vars := map[string]string{}
	v := func(flagName, envName string) string { vars[flagName] = envName; return flagName }
	fs.StringVar(&c.DatabaseURL, v("database-url", "OFFSESSION_DATABASE_URL"), storage.DefaultURL, "database URL: sqlite://PATH or postgres://USER@HOST/DB")
	fs.StringVar(&c.ListenAddr, v("listen", "OFFSESSION_LISTEN_ADDR"), ":8080", "address to serve HTTP on")
	fs.StringVar(&c.LogLevel, v("log-level", "OFFSESSION_LOG_LEVEL"), "info", "debug, info, warn or error")
	fs.IntVar(&c.Workers, v("workers", "OFFSESSION_WORKERS"), scheduler.WorkersDefault, "payments worked on at once")
	fs.DurationVar(&c.PollInterval, v("poll-interval", "OFFSESSION_POLL_INTERVAL"), scheduler.PollIntervalDefault, "how often due payments are looked for")
	fs.DurationVar(&c.AttemptLease, v("attempt-lease", "OFFSESSION_ATTEMPT_LEASE"), payments.AttemptLeaseDefault, "how long a worker holds a payment")
	fs.DurationVar(&c.ProcessorTimeout, v("processor-timeout", "OFFSESSION_PROCESSOR_TIMEOUT"), payments.ProcessorTimeoutDefault, "timeout of one processor call")
	fs.DurationVar(&c.RetrainEvery, v("retrain-every", "OFFSESSION_RETRAIN_EVERY"), scheduler.RetrainEveryDefault, "how often the retry model is retrained (0: never)")
	fs.DurationVar(&c.WebhookBackoff, v("webhook-backoff", "OFFSESSION_WEBHOOK_BACKOFF"), webhooks.BackoffBaseDefault, "wait after a webhook delivery's first failure")
	fs.DurationVar(&c.ProbeInterval, v("routing-probe-interval", "OFFSESSION_ROUTING_PROBE_INTERVAL"), routing.ProbeIntervalDefault, "how often an eliminated processor is probed")
	fs.Float64Var(&c.RateLimit, v("rate-limit", "OFFSESSION_RATE_LIMIT"), ratelimit.MutationsPerSecondDefault, "mutation fields per second per API key")
	fs.IntVar(&c.RateBurst, v("rate-burst", "OFFSESSION_RATE_BURST"), 0, "most mutation fields a key may run at once (0: twice -rate-limit)")
	fs.Float64Var(&c.QueryCostLimit, v("query-cost-limit", "OFFSESSION_QUERY_COST_LIMIT"), ratelimit.CostPerSecondDefault, "query cost per second per API key")
	fs.IntVar(&c.QueryCostBurst, v("query-cost-burst", "OFFSESSION_QUERY_COST_BURST"), 0, "most query cost a key may spend at once (0: twice -query-cost-limit)")
	fs.IntVar(&c.MaxComplexity, v("max-complexity", "OFFSESSION_MAX_COMPLEXITY"), graph.MaxComplexityDefault, "most one request may cost")
	fs.IntVar(&c.MaxPageSize, v("max-page-size", "OFFSESSION_MAX_PAGE_SIZE"), graph.MaxPageSizeDefault, "largest first or last of a connection")
	fs.IntVar(&c.PageSize, v("page-size", "OFFSESSION_PAGE_SIZE"), graph.PageSizeDefault, "page of a connection given neither first nor last")
	fs.StringVar(&c.TrustedProxies, v("trusted-proxies", "OFFSESSION_TRUSTED_PROXIES"), "", "comma-separated proxies (addresses or CIDRs) whose X-Forwarded-For is trusted")
	fs.StringVar(&c.CORSOrigins, v("cors-origins", "OFFSESSION_CORS_ORIGINS"), "", "comma-separated origins (scheme://host[:port]) whose pages may call the API from a browser")
	fs.Float64Var(&c.ExplorationShare, v("exploration-share", "OFFSESSION_EXPLORATION_SHARE"), 0.05, "share of retry decisions that explore")
	fs.BoolVar(&c.AllowPrivateURLs, v("allow-private-urls", "OFFSESSION_ALLOW_PRIVATE_URLS"), false, "let webhook and processor URLs reach private addresses (development only)")
	for name, env := range vars {
		f := fs.Lookup(name)
		f.Usage += " (env " + env + ")"
	}
	return vars
}

// applyEnv sets every flag of fs that the command line did not give from
// its environment variable in vars, if set and not empty. The value goes
// through the flag's own parser, so a variable is held to exactly what its
// flag is, and a bad value is an error naming the variable, never a silent
// default. Flags are the standard library's; no configuration library is
// needed for one source over the other.
func applyEnv(fs *flag.FlagSet, vars map[string]string, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		env := vars[name]
		val, ok := lookup(env)
		if !ok || val == "" || given[name] {
			continue
		}
		if err := fs.Set(name, val); err != nil {
			kind, _ := flag.UnquoteUsage(fs.Lookup(name))
			if kind == "" {
				kind = "bool"
			}
			return fmt.Errorf("%s=%q is not a valid %s (as -%s): %w", env, val, kind, name, err)
		}
	}
	return nil
}

func (c *Config) validate() error {
	if err := (payments.Config{AttemptLease: c.AttemptLease, ProcessorTimeout: c.ProcessorTimeout}).Validate(); err != nil {
		return err
	}
	switch {
	case c.Workers < 1 || c.Workers > 1024:
		return fmt.Errorf("workers must be 1 to 1024, got %d", c.Workers)
	case c.PollInterval < time.Millisecond:
		return fmt.Errorf("poll interval must be at least 1ms, got %s", c.PollInterval)
	case c.RateLimit <= 0:
		return fmt.Errorf("rate limit must be positive, got %g", c.RateLimit)
	case c.RateBurst < 0 || c.QueryCostBurst < 0:
		return fmt.Errorf("rate and query cost bursts must not be negative")
	case c.QueryCostLimit < 0:
		return fmt.Errorf("query cost limit must not be negative, got %g", c.QueryCostLimit)
	case c.MaxComplexity < 0 || c.MaxPageSize < 0 || c.PageSize < 0:
		return fmt.Errorf("max complexity, max page size and page size must not be negative")
	case c.PageSize > c.MaxPageSize && c.MaxPageSize > 0:
		return fmt.Errorf("page size (%d) must not be larger than the max page size (%d)", c.PageSize, c.MaxPageSize)
	case c.ExplorationShare < 0 || c.ExplorationShare > 1:
		return fmt.Errorf("exploration share must be 0 to 1, got %g", c.ExplorationShare)
	}
	if _, err := httpapi.ParseOrigins(c.CORSOrigins); err != nil {
		return err
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	_, err := c.level()
	return err
}

// trustedProxies parses TrustedProxies.
func (c *Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (c *Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(c.LogLevel))); err != nil {
		return l, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}
