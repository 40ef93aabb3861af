package main

// The merchant's protocol over many worlds (-worlds): recurring
// subscribers billed monthly with two months of history, a model trained
// and activated with the defaults, then an A/B month in which every
// customer is assigned at random to one retry policy, and a cold-start
// cohort of new customers reported apart.

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/internal/seed"
)

// The A/B calendar: subscribers are billed in January and February (the
// history), the model is trained and activated on February 28 before any
// March payment starts in any time zone, and the March payments are the
// experiment. The clock runs until every March retry window has closed.
var (
	abHistory = []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	abTrainAt = time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)
	abMonth   = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	abEnd     = time.Date(2026, 4, 24, 0, 0, 0, 0, time.UTC)
	// coldStart numbers the new customers apart from the subscribers.
	coldStart = 1 << 24
)

// abArms are the policies customers are assigned to. The oracle arm is the
// smart policy planned with the simulator's true chances: the ceiling, on
// customers drawn like the others'.
var abArms = []strategy{
	{name: "smart", policy: policy(retrypolicy.StrategySmart, "3w", 8)},
	{name: "heuristic", policy: policy(retrypolicy.StrategyHeuristic, "3w", 8)},
	{name: "scheduled 8 in 14d", policy: policy(retrypolicy.StrategyScheduled, "2w", 8, "1d", "3d", "5d", "7d", "9d", "11d", "13d", "14d")},
	{name: "oracle", policy: policy(retrypolicy.StrategySmart, "3w", 8), oracle: true},
}

// armShares are the arms' shares of the customers, in sevenths: the
// oracle, only a ceiling, gets half an arm.
var armShares = []int{2, 2, 2, 1}

// arm is the arm customer i of world seed is assigned to: a hash, so the
// assignment is random but the same in every run.
func arm(seed uint64, i int) int {
	h := fnv.New64a()
	fmt.Fprintf(h, "ab/%d/%d", seed, i)
	u := int(h.Sum64() % 7)
	for k, n := range armShares {
		if u < n {
			return k
		}
		u -= n
	}
	return len(armShares) - 1
}

// enough reports whether count holds n per arm (the oracle's share of
// it).
func enough(count []int, n int) bool {
	for k, c := range count {
		if c < n*armShares[k]/armShares[0] {
			return false
		}
	}
	return true
}

// armResult is what one arm did with the payments whose first attempt
// was declined.
type armResult struct {
	Payments, Recovered, Attempts int
	// FirstRetries and FirstApproved count the first retries and how many
	// were approved: what the training's off-policy estimate is about.
	FirstRetries, FirstApproved int
}

func (a armResult) rate() float64 { return float64(a.Recovered) / float64(max(a.Payments, 1)) }
func (a armResult) se() float64 {
	p := a.rate()
	return math.Sqrt(p * (1 - p) / float64(max(a.Payments, 1)))
}

// worldResult is one world's run.
type worldResult struct {
	World       uint64
	Subscribers int
	// Arms and Cold are by arm name: the subscribers' and the new
	// customers'.
	Arms, Cold map[string]armResult
	Violations int
	Model      string
	Activated  bool
	Refusal    string
	AUC        float64
	AUCLower   float64
	// OffPolicy is the training's estimate of the model's first retries,
	// with its 95% interval.
	OffPolicy, OffPolicyLo, OffPolicyHi float64
	Took                                time.Duration
}

// worldSeeds reads -worlds: "report", "tuning" or seeds by commas.
func worldSeeds(s string) ([]uint64, error) {
	switch s {
	case "report":
		return population.ReportWorlds, nil
	case "tuning":
		return population.TuningWorlds, nil
	}
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("-worlds: %q is not a seed", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runWorlds runs each world in a process of its own, o.parallel at once,
// and prints the table.
func runWorlds(ctx context.Context, o options, stdout, stderr io.Writer) error {
	started := time.Now()
	seeds, err := worldSeeds(o.worlds)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := seed.ScratchDir(o.dir, "offsession-bench-worlds-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	results := make([]worldResult, len(seeds))
	errs := make([]error, len(seeds))
	each(o.parallel, indices(len(seeds)), func(k int) {
		s := seeds[k]
		err := runSelf(ctx, self, stderr, &results[k], "-child-world", strconv.FormatUint(s, 10), "-dir", dir)
		if err == nil && o.results != "" {
			// Kept as each world ends, so a long run's finished worlds
			// survive it (-table prints them).
			err = writeJSON(filepath.Join(o.results, fmt.Sprintf("world-%d.json", s)), results[k])
		}
		if errs[k] = err; err == nil {
			fmt.Fprintf(stderr, "[%5.0fs] world-%d: done in %s\n", time.Since(started).Seconds(), s, results[k].Took.Round(time.Second))
		}
	})
	for k, err := range errs {
		if err != nil {
			return fmt.Errorf("world-%d: %w", seeds[k], err)
		}
	}
	printWorlds(stdout, results, o.perArm)
	fmt.Fprintf(stdout, "\nwhole run: %s\n", time.Since(started).Round(time.Second))
	return nil
}

// printKept prints the table of the worlds' results kept in dir
// (-results).
func printKept(o options, stdout io.Writer) error {
	paths, err := filepath.Glob(filepath.Join(o.table, "world-*.json"))
	if err != nil {
		return err
	}
	var rs []worldResult
	for _, p := range paths {
		var r worldResult
		if err := readJSON(p, &r); err != nil {
			return err
		}
		rs = append(rs, r)
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].World < rs[b].World })
	printWorlds(stdout, rs, o.perArm)
	return nil
}
