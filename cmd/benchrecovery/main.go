// Command benchrecovery measures how much of a cohort of failed payments
// each retry strategy recovers, end to end through the engine, on a
// simulated population driven by a test clock.
//
// It runs in three steps, on SQLite files:
//
//  1. Training period. The first half of the cohort's customers
//     (-train-share) are billed in January and in February; the payments
//     whose first attempt is declined are retried by the smart strategy
//     with no model yet (the heuristic, with a larger exploration share so
//     the history covers every hour and day).
//  2. Training. A retry model is trained on that history and activated.
//  3. Evaluation. The database is copied once per strategy, and in each copy
//     the same customers are billed in April. Only payments whose first
//     attempt the issuer declines are made (the cohort): approved first
//     attempts are no part of a recovery benchmark. Each copy retries its
//     cohort with one strategy, and the attempts in the database are
//     counted.
//
// The oracle is the smart planner's search over the simulator's true
// approval chances, which no real planner can know: the ceiling.
//
// With -routing it measures routing instead (routing.go): one cohort,
// retried by the heuristic, under a priority route and under an auto route
// over two processors, one of which degrades. With -worlds it runs the
// merchant's A/B protocol on many worlds (worlds.go).
//
// The files, by mode: main.go the flags; harness.go what every mode runs
// on; measure.go what a run's database holds at its end; recovery.go and
// recovery_eval.go the recovery bench, oracle.go its ceiling; routing.go
// the routing mode; worlds.go, worlds_child.go and worlds_report.go the
// worlds.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/retry"
)

type options struct {
	population       string
	seed             uint64
	cohort           int
	dir              string
	parallel         int
	trainExploration float64
	trainShare       float64
	exploration      float64
	keep             bool
	cpuProfile       string
	only             string
	// routing runs the routing mode (routing.go) instead.
	routing bool
	// child, when set, is the state file of a run: this process evaluates
	// strategy childStrategy on it and prints its result.
	child         string
	childStrategy int
	// retrain and limit try changes to the model on a kept run (-keep):
	// the child trains a new model before it evaluates, on the first limit
	// payments of the cohort.
	retrain bool
	limit   int
	trees   int
	minLeaf int
	// smooth, when not negative, is the smart planner's Smooth.
	smooth time.Duration
	// worlds runs the merchant's protocol (worlds.go) on these worlds;
	// childWorld, when set, is the one world this process runs.
	worlds, results, table string
	anchor, attemptCost    float64
	minGap                 time.Duration
	childWorld             uint64
	perArm, coldPerArm     int
}

func main() {
	var o options
	flag.StringVar(&o.population, "population", "default", "simulated population: default or alternative")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the population, the planners and the training")
	flag.IntVar(&o.cohort, "cohort", 20000, "failed payments in the evaluation cohort")
	flag.StringVar(&o.dir, "dir", "", "directory for the SQLite files (default /dev/shm when there is one)")
	flag.IntVar(&o.parallel, "parallel", runtime.NumCPU(), "strategies evaluated at once")
	flag.Float64Var(&o.trainExploration, "train-exploration", 0.3, "exploration share in the training period")
	flag.Float64Var(&o.trainShare, "train-share", 0.5, "share of the customers billed in the training months")
	flag.Float64Var(&o.exploration, "exploration", 0.05, "exploration share of the smart strategy in the evaluation")
	flag.BoolVar(&o.keep, "keep", false, "keep the SQLite files")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	flag.StringVar(&o.only, "only", "", "evaluate only these strategies (comma-separated names)")
	flag.BoolVar(&o.routing, "routing", false, "compare priority and auto routing over a processor that degrades, with the heuristic retry strategy")
	flag.StringVar(&o.child, "child", "", "(internal) evaluate one strategy on this run state")
	flag.IntVar(&o.childStrategy, "child-strategy", 0, "(internal) the strategy a child evaluates")
	flag.BoolVar(&o.retrain, "retrain", false, "with -child: train a new model on the kept training history first")
	flag.IntVar(&o.limit, "limit", 0, "with -child: evaluate only the cohort's first payments")
	flag.IntVar(&o.trees, "trees", 0, "trees in the model's bag (default 8)")
	flag.IntVar(&o.minLeaf, "min-leaf", 0, "fewest retries a tree node needs to be split (default 100)")
	flag.DurationVar(&o.smooth, "smooth", -1, "the smart planner's smoothing on each side of a time (default 3h)")
	flag.Float64Var(&o.anchor, "anchor", retry.AnchorDefault, "the smart planner's Anchor (negative: the model alone decides)")
	flag.Float64Var(&o.attemptCost, "attempt-cost", retry.AttemptCostDefault, "the smart planner's AttemptCost")
	flag.DurationVar(&o.minGap, "min-gap", 0, "the smart planner's MinGap (default 6h)")
	flag.StringVar(&o.results, "results", "", "with -worlds: keep each world's result in this directory as it ends")
	flag.StringVar(&o.table, "table", "", "print the table of the worlds' results kept in this directory (-results)")
	flag.StringVar(&o.worlds, "worlds", "", "run the A/B protocol on these worlds: report, tuning, or seeds by commas")
	flag.Uint64Var(&o.childWorld, "child-world", 0, "(internal) run the A/B protocol on this world")
	flag.IntVar(&o.perArm, "per-arm", 1000, "with -worlds: declined March payments per arm, at least")
	flag.IntVar(&o.coldPerArm, "cold-per-arm", 300, "with -worlds: new customers' declined payments per arm")
	flag.Parse()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-recovery:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	// The children's heaps are small; collecting less often saves a tenth
	// of the run.
	debug.SetGCPercent(400)
	// IDs come from a counter, each process's far from the others', so the
	// same seed makes the same payments with the same IDs, which the
	// heuristic's jitter and the exploration draws hash: runs repeat.
	work, firstID := run, uint64(0)
	switch {
	case o.child != "":
		work, firstID = child, uint64(o.childStrategy+1)<<40
	case o.childWorld != 0:
		work = childWorld
	case o.worlds != "":
		work = runWorlds
	case o.table != "":
		work = func(_ context.Context, o options, stdout, _ io.Writer) error { return printKept(o, stdout) }
	case o.routing:
		work = runRouting
	}
	ids.Repeatable(o.seed, firstID)
	if err := work(context.Background(), o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench-recovery:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}
