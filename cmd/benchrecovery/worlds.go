package main

// The merchant's protocol over many worlds (-worlds): recurring
// subscribers billed monthly with two months of history, a model trained
// and activated with the defaults, then an A/B month in which every
// customer is assigned at random to one retry policy, and a cold-start
// cohort of new customers reported apart.

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/seed"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
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
	dir, err := os.MkdirTemp(o.dirOrShm(), "offsession-bench-worlds-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(dir)
	}
	results := make([]worldResult, len(seeds))
	errs := make([]error, len(seeds))
	sem := make(chan struct{}, max(o.parallel, 1))
	var wg sync.WaitGroup
	for k, s := range seeds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			args := append(os.Args[1:], "-child-world", strconv.FormatUint(s, 10), "-dir", dir)
			cmd := exec.CommandContext(ctx, self, args...)
			cmd.Stderr = stderr
			out, err := cmd.Output()
			if err == nil {
				err = json.Unmarshal(out, &results[k])
			}
			if err == nil && o.results != "" {
				// Kept as each world ends, so a long run's finished
				// worlds survive it (-table prints them).
				err = writeJSON(filepath.Join(o.results, fmt.Sprintf("world-%d.json", s)), results[k])
			}
			if errs[k] = err; err == nil {
				fmt.Fprintf(stderr, "[%5.0fs] world-%d: done in %s\n", time.Since(started).Seconds(), s, results[k].Took.Round(time.Second))
			}
		}()
	}
	wg.Wait()
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

func (o options) dirOrShm() string {
	if o.dir != "" {
		return o.dir
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return ""
}

// childWorld runs the protocol on one world and prints its result.
func childWorld(ctx context.Context, o options, stdout, stderr io.Writer) error {
	started := time.Now()
	world := o.childWorld
	params := population.World(world)
	pop, err := population.New(params, world)
	if err != nil {
		return err
	}
	say := func(format string, args ...any) {
		fmt.Fprintf(stderr, "  [%4.0fs] world-%d: %s\n", time.Since(started).Seconds(), world, fmt.Sprintf(format, args...))
	}
	// Subscribers until every arm has perArm March payments whose first
	// attempt the issuer declines (a first attempt declined with no recent
	// declines is declined with some too; a few more are added for the
	// cards the history finds unusable), and new customers until every arm
	// has coldPerArm.
	subs, count := 0, make([]int, len(abArms))
	failing := map[int]bool{} // the subscribers whose March payment fails
	for ; subs < 400000 && !enough(count, o.perArm+o.perArm/10); subs++ {
		if declines(pop, subs, abMonth) {
			count[arm(world, subs)]++
			failing[subs] = true
		}
	}
	var cold []int
	count = make([]int, len(abArms))
	for i := coldStart; !enough(count, o.coldPerArm); i++ {
		if k := arm(world, i); declines(pop, i, abMonth) {
			cold = append(cold, i)
			count[k]++
		}
	}
	path := filepath.Join(o.dir, fmt.Sprintf("world-%d.db", world))
	_ = os.Remove(path)
	if !o.keep {
		defer os.Remove(path)
	}
	or := &oracle{pop: pop, customers: map[string]population.Customer{}, declines: map[string][]time.Time{}}
	e, err := open(ctx, path, &armPlanner{oracle: or, smart: smartPlanner(o, o.exploration, world)})
	if err != nil {
		return err
	}
	defer e.store.Close()
	if _, err := e.store.Migrate(ctx); err != nil {
		return err
	}
	sys := viewer.SystemContext(ctx)
	acct, _, err := auth.CreateAccount(sys, e.store.Client, "bench-worlds")
	if err != nil {
		return err
	}
	e.ctx = viewer.NewContext(ctx, viewer.Viewer{AccountID: acct.ID, Role: viewer.RoleAdmin})
	svc := e.proc.Payments
	clk, err := svc.CreateTestClock(e.ctx, payments.CreateTestClockInput{FrozenTime: clockStart})
	if err != nil {
		return err
	}
	prc, err := svc.CreateProcessor(e.ctx, payments.CreateProcessorInput{Name: "Simulator", Type: processor.TypeSimulator})
	if err != nil {
		return err
	}
	policies := make([]string, len(abArms))
	for k, s := range abArms {
		s.policy.Name = s.name
		pol, err := svc.CreateRetryPolicy(e.ctx, s.policy)
		if err != nil {
			return err
		}
		policies[k] = pol.ID
	}
	all := make([]int, 0, subs+len(cold))
	for i := range subs {
		all = append(all, i)
	}
	all = append(all, cold...)
	cards, err := seedCards(sys, e.store.Client, pop, all, acct.ID, prc.ID, clk.ID, clockStart, nil)
	if err != nil {
		return err
	}
	say("%d subscribers, %d new customers failing in March", subs, len(cold))

	// The history: every subscriber billed in January and February on the
	// smart policy with no model yet (the heuristic, exploring a share of
	// its decisions), as an account starts. A payment whose first attempt
	// is approved is written as succeeded with that attempt (seed), which
	// is all it leaves of the customer's history; the rest are made and
	// retried by the engine. The simulator approves the first attempt
	// when it would with no recent declines on the card and the month
	// before had none either: a customer's only declines are their own
	// payments' (retries reach at most three weeks into the next month).
	subscribers := all[:subs]
	for m, month := range abHistory {
		var run []int
		var ok []seed.Succeeded
		for _, i := range subscribers {
			if declines(pop, i, month) || m > 0 && declines(pop, i, abHistory[m-1]) {
				run = append(run, i)
				continue
			}
			c := pop.Customer(i)
			ok = append(ok, seed.Succeeded{
				Card: cards[i], Network: string(cardSpec(pop, i, clk.ID).Brand), Amount: c.Amount,
				At: billing(c, month), TargetDate: billing(c, month).Format(time.DateOnly),
				Strategy: offsessionpayment.RetryStrategySmart, MaxRetries: 8, PolicyID: policies[0], ClockID: &clk.ID,
			})
		}
		for start := 0; start < len(ok); start += 500 {
			err := storage.WithTx(sys, e.store.Client, func(tx *ent.Tx) error {
				return seed.WriteSucceeded(sys, tx, acct.ID, prc.ID, ok[start:min(start+500, len(ok))])
			})
			if err != nil {
				return err
			}
		}
		if err := bill(e, cards, pop, run, month, policies[0], nil); err != nil {
			return err
		}
		say("%s: %d payments through the engine, %d approved at once", month.Format("January"), len(run), len(ok))
	}
	if err := advance(e, clk.ID, clockStart, abTrainAt, nil); err != nil {
		return err
	}
	r := worldResult{World: world, Subscribers: subs, Arms: map[string]armResult{}, Cold: map[string]armResult{}}
	m, err := e.proc.Models.Train(e.ctx, o.trainInput(), nil)
	if err != nil {
		return err
	}
	r.Model, r.AUC, r.AUCLower = fmt.Sprintf("v%d", m.Version), m.Metrics.AUC, m.Metrics.AUCLower
	if op := m.Metrics.OffPolicy; op != nil {
		r.OffPolicy, r.OffPolicyLo, r.OffPolicyHi = op.Model.Value, op.Model.Lower, op.Model.Upper
	}
	if _, err := e.proc.Models.Activate(e.ctx, m.Version); err != nil {
		r.Refusal = err.Error()
	} else {
		r.Activated = true
	}
	say("model %s on %d retries, AUC %.3f (lower %.3f), activated %v %s", r.Model, m.TrainRows, r.AUC, r.AUCLower, r.Activated, r.Refusal)

	// The A/B month: only the payments whose first attempt may fail are
	// made, as only they are retried: those declined with no recent
	// declines on the card, and those of customers declined in February,
	// whose retries may reach into March. Cards the history found expired
	// or invalid cannot be billed again.
	unusable, err := e.store.Client.PaymentMethod.Query().Where(paymentmethod.StatusNEQ(paymentmethod.StatusActive)).IDs(sys)
	if err != nil {
		return err
	}
	gone := map[string]bool{}
	for _, id := range unusable {
		gone[id] = true
	}
	group := map[string]string{} // payment → "arm" or "cold arm"
	for k := range abArms {
		var who []int
		for _, i := range all {
			if arm(world, i) == k && !gone[cards[i].PaymentMethodID] && (i >= coldStart || failing[i] || declines(pop, i, abHistory[1])) {
				who = append(who, i)
			}
		}
		err := bill(e, cards, pop, who, abMonth, policies[k], func(id string, i int) {
			group[id] = strconv.Itoa(k)
			if i >= coldStart {
				group[id] = "c" + group[id]
			}
			if abArms[k].oracle {
				or.mu.Lock()
				or.customers[id] = pop.Customer(i)
				or.mu.Unlock()
			}
		})
		if err != nil {
			return err
		}
	}
	if err := advance(e, clk.ID, abTrainAt, abEnd, func(at time.Time) {
		if at.Day() == 1 || at.Day() == 15 {
			say("clock at %s", at.Format("Jan 2"))
		}
	}); err != nil {
		return err
	}
	if err := measureArms(sys, e.store.Client, group, &r); err != nil {
		return err
	}
	r.Took = time.Since(started)
	return json.NewEncoder(stdout).Encode(r)
}

// declines reports whether customer i's first attempt in month is
// declined when the card has no recent declines.
func declines(pop *population.Population, i int, month time.Time) bool {
	c := pop.Customer(i)
	return !pop.Answer(c, billing(c, month), 0).Approved
}

// armPlanner plans the oracle arm's payments with the oracle and the rest
// with the smart planner: both arms are on a smart policy.
type armPlanner struct {
	oracle *oracle
	smart  retry.Planner
}

func (a *armPlanner) Plan(ctx context.Context, in retry.Input) (retry.Decision, error) {
	a.oracle.mu.Lock()
	_, ok := a.oracle.customers[in.PaymentID]
	a.oracle.mu.Unlock()
	if ok {
		return a.oracle.Plan(ctx, in)
	}
	return a.smart.Plan(ctx, in)
}
