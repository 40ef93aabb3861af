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
// over two processors, one of which degrades.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/ids"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/seed"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// The calendar of the run: customers are billed on their billing day in
// each of trainMonths and in evalMonth, and the clock runs until every retry
// window has closed. Two training months give the second one's retries a
// history of the customer's earlier payments to learn from.
var (
	clockStart  = time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC)
	trainMonths = []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	trainEnd    = time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)
	evalMonth   = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	evalEnd     = time.Date(2026, 5, 25, 0, 0, 0, 0, time.UTC)
)

// strategy is one row of the table: a retry policy, and for the oracle a
// planner of its own.
type strategy struct {
	name   string
	policy payments.CreateRetryPolicyInput
	oracle bool
	// attempts is about how many attempts a payment takes: the costliest
	// strategies start first.
	attempts int
}

func policy(s retrypolicy.Strategy, window string, maxRetries int, schedule ...string) payments.CreateRetryPolicyInput {
	return payments.CreateRetryPolicyInput{Name: string(s) + " " + window, Strategy: s, Window: &window, MaxRetries: &maxRetries, Schedule: schedule}
}

var strategies = []strategy{
	{name: "none", policy: policy(retrypolicy.StrategyNone, "3w", 0), attempts: 1},
	{name: "scheduled 4 in 21d", policy: policy(retrypolicy.StrategyScheduled, "3w", 4, "3d", "7d", "14d", "21d"), attempts: 3},
	{name: "scheduled 8 in 14d", policy: policy(retrypolicy.StrategyScheduled, "2w", 8, "1d", "3d", "5d", "7d", "9d", "11d", "13d", "14d"), attempts: 5},
	{name: "heuristic", policy: policy(retrypolicy.StrategyHeuristic, "3w", 8), attempts: 4},
	{name: "smart", policy: policy(retrypolicy.StrategySmart, "3w", 8), attempts: 4},
	{name: "oracle", policy: policy(retrypolicy.StrategySmart, "3w", 8), oracle: true, attempts: 2},
}

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
	}
	ids.Repeatable(o.seed, firstID)
	if err := work(context.Background(), o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench-recovery:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	if o.routing {
		return runRouting(ctx, o, stdout, stderr)
	}
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
	sem := make(chan struct{}, max(o.parallel, 1))
	var wg sync.WaitGroup
	order := make([]int, len(strategies))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return strategies[order[a]].attempts > strategies[order[b]].attempts })
	for _, i := range order {
		s := strategies[i]
		if o.only != "" && !strings.Contains(","+o.only+",", ","+s.name+",") {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			args := append(os.Args[1:], "-child", statePath, "-child-strategy", strconv.Itoa(i))
			cmd := exec.CommandContext(ctx, self, args...)
			cmd.Stderr = stderr
			out, err := cmd.Output()
			if err == nil {
				err = json.Unmarshal(out, &results[i])
			}
			if errs[i] = err; err == nil {
				say("%s: done in %s", s.name, results[i].Took.Round(time.Second))
			}
		}()
	}
	wg.Wait()
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

// benchRun is what every run of the bench starts with: its population, its
// scratch directory, and a log that tells the seconds since the start.
type benchRun struct {
	pop     *population.Population
	dir     string
	started time.Time
	stderr  io.Writer
	keep    bool
}

func startRun(o options, prefix string, stderr io.Writer) (*benchRun, error) {
	r := &benchRun{started: time.Now(), stderr: stderr, keep: o.keep}
	var err error
	if r.pop, err = newPopulation(o); err != nil {
		return nil, err
	}
	if r.dir, err = seed.ScratchDir(o.dir, prefix); err != nil {
		return nil, err
	}
	return r, nil
}

// end removes the run's scratch directory, unless it is kept (-keep).
func (r *benchRun) end() {
	if !r.keep {
		os.RemoveAll(r.dir)
	}
}

// copyDB copies the SQLite database at from to a new file to, consistently
// even while it is open elsewhere.
func copyDB(ctx context.Context, from, to string) error {
	src, err := storage.Open(ctx, "sqlite://"+from)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.DB.ExecContext(ctx, "VACUUM INTO ?", to); err != nil {
		return fmt.Errorf("copy the database: %w", err)
	}
	return nil
}

// seedCards writes a customer, card and mandate for each of the customers
// idx, with the card's token on processorID, 500 to a transaction; then,
// if set, in the same transaction, each card is handed to then.
func seedCards(ctx context.Context, db *ent.Client, pop *population.Population, idx []int, accountID, processorID, clockID string, at time.Time,
	then func(tx *ent.Tx, c seed.Card) error) (map[int]seed.Card, error) {
	cards := map[int]seed.Card{}
	for start := 0; start < len(idx); start += 500 {
		part := idx[start:min(start+500, len(idx))]
		specs := make([]seed.CardSpec, len(part))
		for j, i := range part {
			specs[j] = cardSpec(pop, i, clockID)
		}
		err := storage.WithTx(ctx, db, func(tx *ent.Tx) error {
			made, err := seed.WriteCards(ctx, tx, accountID, processorID, specs, at)
			if err != nil {
				return err
			}
			for j, c := range made {
				cards[part[j]] = c
				if then != nil {
					if err := then(tx, c); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("seed cards: %w", err)
		}
	}
	return cards, nil
}

// say logs a line after the seconds since the run started.
func (r *benchRun) say(format string, args ...any) {
	fmt.Fprintf(r.stderr, "[%5.0fs] %s\n", time.Since(r.started).Seconds(), fmt.Sprintf(format, args...))
}

// newPopulation is the population the flags name.
func newPopulation(o options) (*population.Population, error) {
	params, ok := population.Named(o.population)
	if !ok {
		return nil, fmt.Errorf("unknown population %q", o.population)
	}
	return population.New(params, o.seed)
}

// plan is who is billed and whose first attempts fail.
type plan struct {
	customers int
	// train are, for each training month, the customers whose payment
	// fails; eval those who fail in April.
	train [][]int
	eval  []int
}

// billing is when customer c is billed in month: midnight of their billing
// day, in their time zone (the payment's target date).
func billing(c population.Customer, month time.Time) time.Time {
	return time.Date(month.Year(), month.Month(), c.BillingDay, 0, 0, 0, 0, c.Location)
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

// trained is the outcome of the training period, and what the
// evaluations start from.
type trained struct {
	Path      string
	AccountID string
	ClockID   string
	// Policies are the retry policies' IDs, by strategy name.
	Policies map[string]string
	// Cohort are the customers whose April payment fails at once, and
	// Cards their cards.
	Cohort  []int
	Cards   map[int]seed.Card
	Version string
	Rows    int
	AUC     float64
	Took    time.Duration
}

// engine is one database with the engine built on it.
type engine struct {
	store *storage.Store
	proc  *app.Process
	ctx   context.Context // the account's
}

func open(ctx context.Context, path string, smart retry.Planner) (*engine, error) {
	st, err := storage.Open(ctx, "sqlite://"+path)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	proc, err := app.Build(st, app.Config{AttemptLease: time.Minute, ProcessorTimeout: 10 * time.Second, SmartPlanner: smart},
		clockwork.NewRealClock(), log)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &engine{store: st, proc: proc, ctx: ctx}, nil
}

func smartPlanner(o options, exploration float64, seed uint64) *retry.SmartPlanner {
	sp := retry.NewSmartPlanner(exploration, seed)
	if o.smooth >= 0 {
		sp.Smooth = o.smooth
	}
	sp.Anchor = o.anchor
	sp.AttemptCost = o.attemptCost
	if o.minGap > 0 {
		sp.MinGap = o.minGap
	}
	return sp
}

func train(ctx context.Context, o options, pop *population.Population, p plan, path string, say func(string, ...any)) (*trained, error) {
	started := time.Now()
	e, err := open(ctx, path, smartPlanner(o, o.trainExploration, o.seed))
	if err != nil {
		return nil, err
	}
	defer e.store.Close()
	if _, err := e.store.Migrate(ctx); err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	acct, _, err := auth.CreateAccount(sys, e.store.Client, "bench-recovery")
	if err != nil {
		return nil, err
	}
	e.ctx = viewer.NewContext(ctx, viewer.Viewer{AccountID: acct.ID, Role: viewer.RoleAdmin})
	svc := e.proc.Payments
	tr := &trained{Path: path, AccountID: acct.ID, Policies: map[string]string{}, Cards: map[int]seed.Card{}}
	clk, err := svc.CreateTestClock(e.ctx, payments.CreateTestClockInput{FrozenTime: clockStart})
	if err != nil {
		return nil, err
	}
	tr.ClockID = clk.ID
	prc, err := svc.CreateProcessor(e.ctx, payments.CreateProcessorInput{Name: "Simulator", Type: processor.TypeSimulator})
	if err != nil {
		return nil, err
	}
	for _, s := range strategies {
		pol, err := svc.CreateRetryPolicy(e.ctx, s.policy)
		if err != nil {
			return nil, err
		}
		tr.Policies[s.name] = pol.ID
	}

	// Every customer billed in either month gets a card.
	who := map[int]bool{}
	for _, i := range append(slices.Concat(p.train...), p.eval...) {
		who[i] = true
	}
	idx := make([]int, 0, len(who))
	for i := range who {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	cards, err := seedCards(sys, e.store.Client, pop, idx, acct.ID, prc.ID, clk.ID, clockStart, nil)
	if err != nil {
		return nil, err
	}
	say("training period: %d customers with cards", len(idx))

	for m, month := range trainMonths {
		if err := bill(e, cards, pop, p.train[m], month, tr.Policies["smart"], nil); err != nil {
			return nil, err
		}
		say("training period: %d payments billed in %s", len(p.train[m]), month.Format("January"))
	}
	if err := advance(e, tr.ClockID, clockStart, trainEnd, func(at time.Time) {
		if at.Day() == 1 || at.Day() == 15 {
			say("training period: clock at %s", at.Format("Jan 2"))
		}
	}); err != nil {
		return nil, err
	}
	n, err := e.store.Client.Attempt.Query().Count(sys)
	if err != nil {
		return nil, err
	}
	say("training period: %d attempts made", n)

	m, err := e.proc.Models.Train(e.ctx, o.trainInput(), func(msg string) { say("training: %s", msg) })
	if err != nil {
		return nil, err
	}
	if _, err := e.proc.Models.Activate(e.ctx, m.Version); err != nil {
		return nil, err
	}
	tr.Version = fmt.Sprintf("v%d", m.Version)
	tr.Rows = m.TrainRows
	tr.AUC = m.Metrics.AUC
	tr.Took = time.Since(started)

	// The cohort: customers whose card the training period found expired
	// or invalid cannot be billed again, and are left out.
	unusable, err := e.store.Client.PaymentMethod.Query().Where(paymentmethod.StatusNEQ(paymentmethod.StatusActive)).IDs(sys)
	if err != nil {
		return nil, err
	}
	gone := map[string]bool{}
	for _, id := range unusable {
		gone[id] = true
	}
	for _, i := range p.eval {
		if !gone[cards[i].PaymentMethodID] && len(tr.Cohort) < o.cohort {
			tr.Cohort = append(tr.Cohort, i)
			tr.Cards[i] = cards[i]
		}
	}
	if len(tr.Cohort) < o.cohort {
		return nil, fmt.Errorf("only %d of the cohort's cards are usable in April", len(tr.Cohort))
	}
	return tr, nil
}

// cardSpec is the saved card of customer i, on the clock clockID: two in
// five are Mastercard, the rest Visa, credit or debit as the customer's.
func cardSpec(pop *population.Population, i int, clockID string) seed.CardSpec {
	c := pop.Customer(i)
	spec := seed.CardSpec{
		TimeZone: c.Location.String(), TestClockID: &clockID, Token: population.Token(pop.P, pop.Seed, i),
		Brand: paymentmethod.BrandVisa, Funding: paymentmethod.FundingDebit, Usage: mandate.UsageRecurring,
	}
	if i%5 < 2 {
		spec.Brand = paymentmethod.BrandMastercard
	}
	if c.Credit {
		spec.Funding = paymentmethod.FundingCredit
	}
	return spec
}

// bill creates the payments of customers in month on policyID; created,
// if set, hears each payment's ID and customer.
func bill(e *engine, cards map[int]seed.Card, pop *population.Population, customers []int, month time.Time, policyID string, created func(id string, i int)) error {
	for _, i := range customers {
		c := pop.Customer(i)
		card := cards[i]
		date := billing(c, month).Format(time.DateOnly)
		p, err := e.proc.Payments.CreateOffSessionPayment(e.ctx, payments.CreateOffSessionPaymentInput{
			CustomerID: card.CustomerID, PaymentMethodID: card.PaymentMethodID, MandateID: card.MandateID,
			Amount: c.Amount, Currency: "usd", Cadence: offsessionpayment.CadenceRecurring,
			TargetDate: &date, RetryPolicyID: &policyID,
		})
		if err != nil {
			return fmt.Errorf("bill customer %d: %w", i, err)
		}
		if created != nil {
			created(p.ID, i)
		}
	}
	return nil
}

// advance moves the clock a day at a time from from to to.
func advance(e *engine, clockID string, from, to time.Time, day func(time.Time)) error {
	for at := from.Add(24 * time.Hour); !at.After(to); at = at.Add(24 * time.Hour) {
		if _, err := e.proc.Payments.AdvanceTestClock(e.ctx, clockID, at); err != nil {
			return fmt.Errorf("advance the clock to %s: %w", at.Format(time.DateOnly), err)
		}
		if day != nil {
			day(at)
		}
	}
	return nil
}

// result is one strategy's row.
type result struct {
	Name                string
	Payments, Recovered int
	Attempts            int
	DaysToRecovery      []float64
	Violations          int
	Took                time.Duration
}

// child evaluates one strategy: it copies the database the training period
// left, bills the cohort in April on the strategy's retry policy, runs the
// clock through April and May, and prints what the database then holds.
func child(ctx context.Context, o options, stdout, stderr io.Writer) error {
	started := time.Now()
	var tr trained
	if err := readJSON(o.child, &tr); err != nil {
		return err
	}
	s := strategies[o.childStrategy]
	pop, err := newPopulation(o)
	if err != nil {
		return err
	}
	path := filepath.Join(filepath.Dir(o.child), fmt.Sprintf("eval-%d.db", o.childStrategy))
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	if err := copyDB(ctx, tr.Path, path); err != nil {
		return err
	}
	var or *oracle
	var planner retry.Planner
	if s.oracle {
		or = &oracle{pop: pop, customers: map[string]population.Customer{}, declines: map[string][]time.Time{}}
		planner = or
	} else {
		planner = smartPlanner(o, o.exploration, o.seed+1)
	}
	e, err := open(ctx, path, planner)
	if err != nil {
		return err
	}
	defer e.store.Close()
	e.ctx = viewer.NewContext(ctx, viewer.Viewer{AccountID: tr.AccountID, Role: viewer.RoleAdmin})
	if o.retrain {
		m, err := e.proc.Models.Train(e.ctx, o.trainInput(), nil)
		if err != nil {
			return err
		}
		if _, err := e.proc.Models.Activate(e.ctx, m.Version); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "  retrained: v%d on %d retries, AUC %.3f, Brier %.4f\n", m.Version, m.TrainRows, m.Metrics.AUC, m.Metrics.Brier)
	}
	if o.limit > 0 && o.limit < len(tr.Cohort) {
		tr.Cohort = tr.Cohort[:o.limit]
	}
	created := func(id string, i int) {
		if or != nil {
			or.customers[id] = pop.Customer(i)
		}
	}
	if err := bill(e, tr.Cards, pop, tr.Cohort, evalMonth, tr.Policies[s.name], created); err != nil {
		return err
	}
	if err := advance(e, tr.ClockID, trainEnd, evalEnd, func(at time.Time) {
		if at.Day() == 1 || at.Day() == 15 {
			fmt.Fprintf(stderr, "  %s: clock at %s after %s\n", s.name, at.Format("Jan 2"), time.Since(started).Round(time.Second))
		}
	}); err != nil {
		return err
	}
	r, err := measure(viewer.SystemContext(ctx), e.store.Client, evalMonth.Add(-48*time.Hour))
	if err != nil {
		return err
	}
	r.Name = s.name
	r.Took = time.Since(started)
	return json.NewEncoder(stdout).Encode(r)
}

// trainInput is how the bench trains its model.
func (o options) trainInput() models.TrainInput {
	seed := int(o.seed)
	in := models.TrainInput{Seed: &seed}
	if o.trees > 0 {
		in.Trees = &o.trees
	}
	if o.minLeaf > 0 {
		in.MinLeaf = &o.minLeaf
	}
	return in
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// measure counts, from the database, what happened to the payments whose
// first attempt started after since.
func measure(ctx context.Context, db *ent.Client, since time.Time) (result, error) {
	var r result
	var atts []struct {
		PaymentID   string    `json:"payment_id"`
		Number      int       `json:"number"`
		StartedAt   time.Time `json:"started_at"`
		Outcome     string    `json:"outcome"`
		IsRetry     bool      `json:"is_retry"`
		Fingerprint string    `json:"card_fingerprint"`
		Network     string    `json:"card_network"`
		Class       *string   `json:"decline_class"`
	}
	err := db.Attempt.Query().
		Order(ent.Asc(attempt.FieldStartedAt)).
		Select(attempt.FieldPaymentID, attempt.FieldNumber, attempt.FieldStartedAt, attempt.FieldOutcome, attempt.FieldIsRetry,
			attempt.FieldCardFingerprint, attempt.FieldCardNetwork, attempt.FieldDeclineClass).
		Scan(ctx, &atts)
	if err != nil {
		return r, err
	}
	first := map[string]time.Time{}
	inCohort := func(id string) bool { t, ok := first[id]; return ok && !t.Before(since) }
	retries := map[string][]time.Time{} // card → its retries so far, every payment's
	hard := map[string]bool{}           // payment → a hard decline happened
	for _, a := range atts {
		if a.Number == 1 {
			first[a.PaymentID] = a.StartedAt
		}
		cohort := inCohort(a.PaymentID)
		if cohort {
			r.Attempts++
			if a.Outcome == string(attempt.OutcomeApproved) {
				r.Recovered++
				r.DaysToRecovery = append(r.DaysToRecovery, a.StartedAt.Sub(first[a.PaymentID]).Hours()/24)
			}
		}
		if !a.IsRetry {
			if a.Class != nil && *a.Class == string(attempt.DeclineClassHard) {
				hard[a.PaymentID] = true
			}
			continue
		}
		card := a.Fingerprint
		retries[card] = append(retries[card], a.StartedAt)
		if cohort && (hard[a.PaymentID] || overBudget(a.Network, retries[card])) {
			r.Violations++
		}
		if a.Class != nil && *a.Class == string(attempt.DeclineClassHard) {
			hard[a.PaymentID] = true
		}
	}
	for id := range first {
		if inCohort(id) {
			r.Payments++
		}
	}
	return r, nil
}

// overBudget reports whether the last of a card's retries broke a network
// rule, as the networks publish them: Visa at most 20 in 30 days,
// Mastercard at most 10 in 24 hours and 35 in 30 days. It is the audit of
// the engine's own budgets, so it does not use them.
func overBudget(network string, retries []time.Time) bool {
	last := retries[len(retries)-1]
	within := func(d time.Duration) int {
		n := 0
		for _, t := range retries {
			if last.Sub(t) < d {
				n++
			}
		}
		return n
	}
	const day = 24 * time.Hour
	switch network {
	case "visa":
		return within(30*day) > 20
	case "mastercard":
		return within(day) > 10 || within(30*day) > 35
	}
	return false
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
