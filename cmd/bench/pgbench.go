package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"time"

	"entgo.io/ent/dialect"
)

// TPC-B as pgbench runs it: the PostgreSQL figures are given as ratios to
// it, measured in the same run on the same server.
const (
	tpcbScale   = 10
	tpcbClients = 8
	tpcbThreads = 2
	tpcbSeconds = 10
)

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)

// tpcb runs pgbench's TPC-B on the server of TEST_DATABASE_URL, in a
// schema of its own that it drops after, and returns its transactions per
// second.
func tpcb(ctx context.Context) (float64, error) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		return 0, fmt.Errorf("pgbench is not installed (Debian: postgresql-contrib or the server package)")
	}
	// A schema of its own (freshURL), named for libpq by options rather
	// than pgx's search_path parameter.
	fresh, drop, err := freshURL(dialect.Postgres)
	if err != nil {
		return 0, err
	}
	defer drop()
	u, err := url.Parse(fresh)
	if err != nil {
		return 0, err
	}
	q := u.Query()
	q.Set("options", "-csearch_path="+q.Get("search_path"))
	q.Del("search_path")
	u.RawQuery = q.Encode()
	dsn := u.String()
	if out, err := exec.CommandContext(ctx, pgbench, "-i", "-q", "-s", strconv.Itoa(tpcbScale), dsn).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("pgbench -i: %v: %s", err, out)
	}
	out, err := exec.CommandContext(ctx, pgbench, "-c", strconv.Itoa(tpcbClients), "-j", strconv.Itoa(tpcbThreads),
		"-T", strconv.Itoa(tpcbSeconds), "-n", dsn).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %v: %s", err, out)
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench said no tps: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// tpcbRuns runs TPC-B runs times and returns the median tps, or 0 with
// the reason on stderr.
func tpcbRuns(runs int) float64 {
	var got []float64
	for range runs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		tps, err := tpcb(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "TPC-B: %v\n", err)
			return 0
		}
		got = append(got, tps)
	}
	slices.Sort(got)
	return got[len(got)/2]
}
