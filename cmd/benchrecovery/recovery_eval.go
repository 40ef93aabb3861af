package main

// The recovery bench's training period (train) and one strategy's
// evaluation (child).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/viewer"
)

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

// train runs the training period on a new database at path: it bills the
// plan's customers in the training months, runs the clock, then trains and
// activates a model and picks the cohort.
func train(ctx context.Context, o options, pop *population.Population, p plan, path string, say func(string, ...any)) (*trained, error) {
	started := time.Now()
	e, err := open(ctx, path, smartPlanner(o, o.trainExploration, o.seed))
	if err != nil {
		return nil, err
	}
	defer e.store.Close()
	accountID, clockID, err := e.newAccount(ctx, "bench-recovery", clockStart)
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	tr := &trained{Path: path, AccountID: accountID, ClockID: clockID, Policies: map[string]string{}, Cards: map[int]seed.Card{}}
	prc, err := e.proc.Processors.Create(e.ctx, processors.CreateInput{Name: "Simulator", Type: processor.TypeSimulator})
	if err != nil {
		return nil, err
	}
	for _, s := range strategies {
		pol, err := e.proc.Policies.Create(e.ctx, s.policy)
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
	cards, err := seedCards(sys, e.store.Client, pop, idx, accountID, prc.ID, clockID, clockStart, nil)
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
	gone, err := unusableCards(sys, e.store.Client)
	if err != nil {
		return nil, err
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
