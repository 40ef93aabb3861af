package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/ent/route"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/routing/routes"
	"github.com/offsession/offsession/viewer"
)

// The routing mode (-routing) measures what routing adds to retries. Two
// simulator processors hold a token for every card; from degradeFrom, on
// the payments' clock, the first turns degradeDeclineRate of its approvals
// into do_not_honor, as a processor whose approvals fall off does. The same
// cohort of failed April payments is retried by the same retry policy, once
// under a priority route with the degrading processor first and once under
// an auto route over the same processors, each on its own copy of one
// database, one after the other in this process. There is no training
// period and no model: the heuristic needs none. Of the flags, -population,
// -seed, -cohort, -dir and -keep apply.
var (
	routingStart       = evalMonth.AddDate(0, 0, -3)
	degradeFrom        = time.Date(2026, 4, 5, 0, 0, 0, 0, time.UTC)
	degradeDeclineRate = 0.25
	routingPolicy      = policy(retrypolicy.StrategyHeuristic, "3w", 8)
	routingStrategies  = []route.Strategy{route.StrategyPriority, route.StrategyAuto}
)

// routingBase is the database both routing strategies start from: the
// account, its clock, its two processors, the retry policy and a card for
// every customer of the cohort.
type routingBase struct {
	Path      string
	AccountID string
	ClockID   string
	// Degrading and Steady are the processors' IDs; the payment methods
	// hold their tokens in that order.
	Degrading, Steady string
	PolicyID          string
	Cohort            []int
	Cards             map[int]seed.Card
}

// routingResult is one routing strategy's row.
type routingResult struct {
	result
	// AfterDegrade are the attempts started from degradeFrom on, and
	// OnDegrading those of them the degrading processor took.
	AfterDegrade, OnDegrading int
}

// runRouting runs the routing mode: it makes the base database, retries
// the cohort under each routing strategy and prints the table.
func runRouting(ctx context.Context, o options, stdout, stderr io.Writer) error {
	r, err := startRun(o, "offsession-bench-routing-", stderr)
	if err != nil {
		return err
	}
	defer r.end()
	pop, dir, say, started := r.pop, r.dir, r.say, r.started
	params := pop.P

	p := cohorts(pop, o.cohort, 0)
	say("population %s, seed %d: %d customers, %d failing in April (the cohort)", params.Name, o.seed, p.customers, len(p.eval))
	base, err := makeRoutingBase(ctx, pop, p.eval, filepath.Join(dir, "base.db"))
	if err != nil {
		return fmt.Errorf("routing base: %w", err)
	}
	say("routing: %d cards with a token on both processors", len(base.Cards))

	results := make([]routingResult, 0, len(routingStrategies))
	for i, s := range routingStrategies {
		r, err := evalRouting(ctx, pop, base, s, filepath.Join(dir, fmt.Sprintf("routing-%d.db", i)), stderr)
		if err != nil {
			return fmt.Errorf("%s routing: %w", s, err)
		}
		say("%s routing: done in %s", s, r.Took.Round(time.Second))
		results = append(results, r)
	}

	fmt.Fprintf(stdout, "\nRouting of %d failed payments retried by the %s policy (%s, %d retries; population %s, seed %d)\n",
		len(base.Cohort), routingPolicy.Strategy, *routingPolicy.Window, *routingPolicy.MaxRetries, params.Name, o.seed)
	fmt.Fprintf(stdout, "over two simulator processors: \"degrading\" turns %.0f%% of its approvals into do_not_honor from %s; \"steady\" does not\n\n",
		100*degradeDeclineRate, degradeFrom.Format("Jan 2 15:04 MST"))
	printRoutingTable(stdout, results)
	fmt.Fprintf(stdout, "\nwhole run: %s\n", time.Since(started).Round(time.Second))
	return nil
}

// makeRoutingBase writes the base database at path.
func makeRoutingBase(ctx context.Context, pop *population.Population, cohort []int, path string) (*routingBase, error) {
	e, err := open(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	defer e.store.Close()
	accountID, clockID, err := e.newAccount(ctx, "bench-recovery routing", routingStart)
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	b := &routingBase{Path: path, AccountID: accountID, Cohort: cohort}
	b.ClockID = clockID
	degrading, err := e.proc.Processors.Create(e.ctx, processors.CreateInput{Name: "degrading", Type: processor.TypeSimulator,
		Settings: schematype.StringMap{
			"degrade_from":         degradeFrom.Format(time.RFC3339),
			"degrade_decline_rate": fmt.Sprint(degradeDeclineRate),
		}})
	if err != nil {
		return nil, fmt.Errorf("create the degrading processor: %w", err)
	}
	steady, err := e.proc.Processors.Create(e.ctx, processors.CreateInput{Name: "steady", Type: processor.TypeSimulator})
	if err != nil {
		return nil, fmt.Errorf("create the steady processor: %w", err)
	}
	b.Degrading, b.Steady = degrading.ID, steady.ID
	pol, err := e.proc.Policies.Create(e.ctx, routingPolicy)
	if err != nil {
		return nil, fmt.Errorf("create the retry policy: %w", err)
	}
	b.PolicyID = pol.ID

	// The cards are seeded with their token on the degrading processor,
	// then given the same token on the steady one: the population's
	// customer answers the same at either.
	b.Cards, err = seedCards(sys, e.store.Client, pop, cohort, accountID, degrading.ID, clockID, routingStart, func(tx *ent.Tx, c seed.Card) error {
		err := tx.PaymentMethod.UpdateOneID(c.PaymentMethodID).
			SetProcessorTokens([]schematype.ProcessorToken{{ProcessorID: degrading.ID, Token: c.Token}, {ProcessorID: steady.ID, Token: c.Token}}).
			Exec(sys)
		if err != nil {
			return fmt.Errorf("add the steady processor's token to %s: %w", c.PaymentMethodID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// evalRouting copies the base database to path, routes every attempt of
// the account by one route of strategy s over both processors (the
// degrading one first), bills the cohort in April, runs the clock through
// April and May, and counts what the database then holds.
func evalRouting(ctx context.Context, pop *population.Population, base *routingBase, s route.Strategy, path string, stderr io.Writer) (routingResult, error) {
	started := time.Now()
	var r routingResult
	if err := copyDB(ctx, base.Path, path); err != nil {
		return r, err
	}
	e, err := open(ctx, path, nil)
	if err != nil {
		return r, err
	}
	defer e.store.Close()
	e.ctx = viewer.NewContext(ctx, viewer.Viewer{AccountID: base.AccountID, Role: viewer.RoleAdmin})
	name, priority := string(s), 1
	_, err = e.proc.Routes.Create(e.ctx, routes.Input{
		Name: &name, Priority: &priority, Strategy: &s,
		Processors: []schematype.RouteProcessor{{ProcessorID: base.Degrading}, {ProcessorID: base.Steady}},
	})
	if err != nil {
		return r, fmt.Errorf("create the route: %w", err)
	}
	if err := bill(e, base.Cards, pop, base.Cohort, evalMonth, base.PolicyID, nil); err != nil {
		return r, err
	}
	if err := advance(e, base.ClockID, routingStart, evalEnd, func(at time.Time) {
		if at.Day() == 1 || at.Day() == 15 {
			fmt.Fprintf(stderr, "  %s routing: clock at %s after %s\n", s, at.Format("Jan 2"), time.Since(started).Round(time.Second))
		}
	}); err != nil {
		return r, err
	}
	sys := viewer.SystemContext(ctx)
	if r.result, err = measure(sys, e.store.Client, evalMonth.Add(-48*time.Hour)); err != nil {
		return r, fmt.Errorf("measure: %w", err)
	}
	after := e.store.Client.Attempt.Query().Where(attempt.StartedAtGTE(degradeFrom))
	if r.AfterDegrade, err = after.Clone().Count(sys); err != nil {
		return r, fmt.Errorf("count attempts after the degradation: %w", err)
	}
	if r.OnDegrading, err = after.Where(attempt.ProcessorID(base.Degrading)).Count(sys); err != nil {
		return r, fmt.Errorf("count attempts on the degrading processor: %w", err)
	}
	r.Name = string(s)
	r.Took = time.Since(started)
	return r, nil
}

// printRoutingTable prints a row per routing strategy, then the uplift of
// auto over priority.
func printRoutingTable(w io.Writer, results []routingResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "routing\tfailed payments\trecovered\trecovery rate\tattempts/payment\tattempts on degrading after it degrades\twall time\t")
	rate := map[string]float64{}
	for _, r := range results {
		rate[r.Name] = float64(r.Recovered) / float64(max(r.Payments, 1))
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%.2f\t%.1f%% (%d of %d)\t%s\t\n", r.Name, r.Payments, r.Recovered, 100*rate[r.Name],
			float64(r.Attempts)/float64(max(r.Payments, 1)), 100*float64(r.OnDegrading)/float64(max(r.AfterDegrade, 1)),
			r.OnDegrading, r.AfterDegrade, r.Took.Round(time.Second))
	}
	tw.Flush()
	prio, auto := rate[string(route.StrategyPriority)], rate[string(route.StrategyAuto)]
	if prio > 0 {
		fmt.Fprintf(w, "\nauto recovers %.3f× priority: %+.1f points of recovery rate\n", auto/prio, 100*(auto-prio))
	}
}
