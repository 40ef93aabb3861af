package main

// The recovery bench (-population): the cohort, the processes that each
// evaluate a strategy, and the table.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/internal/population"
)

var strategies = []strategy{
	{name: "none", policy: policy(retrypolicy.StrategyNone, "3w", 0), attempts: 1},
	{name: "scheduled 4 in 21d", policy: policy(retrypolicy.StrategyScheduled, "3w", 4, "3d", "7d", "14d", "21d"), attempts: 3},
	{name: "scheduled 8 in 14d", policy: policy(retrypolicy.StrategyScheduled, "2w", 8, "1d", "3d", "5d", "7d", "9d", "11d", "13d", "14d"), attempts: 5},
	{name: "heuristic", policy: policy(retrypolicy.StrategyHeuristic, "3w", 8), attempts: 4},
	{name: "smart", policy: policy(retrypolicy.StrategySmart, "3w", 8), attempts: 4},
	{name: "oracle", policy: policy(retrypolicy.StrategySmart, "3w", 8), oracle: true, attempts: 2},
}

// run is the recovery bench: the training period, then each strategy
// evaluated by a process of its own, then the table.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	r, err := startRun(o, "offsession-bench-recovery-", stderr)
	if err != nil {
		return err
	}
	defer r.end()
	pop, dir, say, started := r.pop, r.dir, r.say, r.started
	params := pop.P

	// A few more than asked for: customers whose card the training period
	// found expired or invalid cannot be billed again.
	plan := cohorts(pop, o.cohort+o.cohort/20, o.trainShare)
	say("population %s, seed %d: %d customers, %d failing in April (the cohort); the first %.0f%% billed in the training months",
		params.Name, o.seed, plan.customers, len(plan.eval), 100*o.trainShare)

	tr, err := train(ctx, o, pop, plan, filepath.Join(dir, "train.db"), say)
	if err != nil {
		return fmt.Errorf("training period: %w", err)
	}
	say("evaluation: %d payments billed in April failed at once: the cohort", len(tr.Cohort))
	statePath := filepath.Join(dir, "state.json")
	if err := writeJSON(statePath, tr); err != nil {
		return err
	}

	// Each strategy is evaluated by a process of its own, on its own copy
	// of the database: the SQLite driver's memory allocator is shared
	// within a process, and strategies in one process slow each other down.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	results := make([]result, len(strategies))
	errs := make([]error, len(strategies))
	var order []int
	for i, s := range strategies {
		if o.only == "" || strings.Contains(","+o.only+",", ","+s.name+",") {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return strategies[order[a]].attempts > strategies[order[b]].attempts })
	each(o.parallel, order, func(i int) {
		errs[i] = runSelf(ctx, self, stderr, &results[i], "-child", statePath, "-child-strategy", strconv.Itoa(i))
		if errs[i] == nil {
			say("%s: done in %s", strategies[i].name, results[i].Took.Round(time.Second))
		}
	})
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", strategies[i].name, err)
		}
	}

	fmt.Fprintf(stdout, "\nRecovery of %d failed payments (population %s, seed %d; model %s trained on %d retries in %s, AUC %.3f)\n\n",
		len(tr.Cohort), params.Name, o.seed, tr.Version, tr.Rows, tr.Took.Round(time.Second), tr.AUC)
	printTable(stdout, results)
	fmt.Fprintf(stdout, "\nwhole run: %s\n", time.Since(started).Round(time.Second))
	return nil
}

// plan is who is billed and whose first attempts fail.
type plan struct {
	customers int
	// train are, for each training month, the customers whose payment
	// fails; eval those who fail in April.
	train [][]int
	eval  []int
}

// cohorts bills customers 0, 1, 2, ... until n of them fail in April; the
// first share of them are billed in the training months too. Only failed
// payments are made: a first attempt declined with no recent declines on
// the card stays declined with some, so the engine's first attempts fail
// exactly as foreseen here.
func cohorts(pop *population.Population, n int, share float64) plan {
	var p plan
	for i := 0; len(p.eval) < n; i++ {
		c := pop.Customer(i)
		if !pop.Answer(c, billing(c, evalMonth), 0).Approved {
			p.eval = append(p.eval, i)
		}
		p.customers = i + 1
	}
	p.train = make([][]int, len(trainMonths))
	for i := range int(share * float64(p.customers)) {
		c := pop.Customer(i)
		for m, month := range trainMonths {
			if !pop.Answer(c, billing(c, month), 0).Approved {
				p.train[m] = append(p.train[m], i)
			}
		}
	}
	return p
}

func printTable(w io.Writer, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tfailed payments\trecovered\trecovery rate\tattempts/payment\tattempts/recovered\tmedian days to recovery\tbudget violations\twall time\t")
	byName := map[string]result{}
	for _, r := range results {
		if r.Name == "" {
			continue // not evaluated (-only)
		}
		byName[r.Name] = r
		rate := float64(r.Recovered) / float64(max(r.Payments, 1))
		perRecovered, median := "-", "-"
		if r.Recovered > 0 {
			perRecovered = fmt.Sprintf("%.2f", float64(r.Attempts)/float64(r.Recovered))
			sort.Float64s(r.DaysToRecovery)
			median = fmt.Sprintf("%.1f", r.DaysToRecovery[len(r.DaysToRecovery)/2])
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%.2f\t%s\t%s\t%d\t%s\t\n", r.Name, r.Payments, r.Recovered, 100*rate,
			float64(r.Attempts)/float64(max(r.Payments, 1)), perRecovered, median, r.Violations, r.Took.Round(time.Second))
	}
	tw.Flush()
	smart, sched, oracle := byName["smart"], byName["scheduled 4 in 21d"], byName["oracle"]
	if sched.Recovered > 0 && oracle.Recovered > 0 {
		fmt.Fprintf(w, "\nsmart recovers %.2f× scheduled (4 in 21d) and %.0f%% of the oracle\n",
			float64(smart.Recovered)/float64(sched.Recovered), 100*float64(smart.Recovered)/float64(oracle.Recovered))
	}
}
