package main

// One world of the merchant's protocol (-child-world).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

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
	accountID, clockID, err := e.newAccount(ctx, "bench-worlds", clockStart)
	if err != nil {
		return err
	}
	sys := viewer.SystemContext(ctx)
	prc, err := e.proc.Processors.Create(e.ctx, processors.CreateInput{Name: "Simulator", Type: processor.TypeSimulator})
	if err != nil {
		return err
	}
	policies := make([]string, len(abArms))
	for k, s := range abArms {
		s.policy.Name = s.name
		pol, err := e.proc.Policies.Create(e.ctx, s.policy)
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
	cards, err := seedCards(sys, e.store.Client, pop, all, accountID, prc.ID, clockID, clockStart, nil)
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
				Card: cards[i], Network: string(cardSpec(pop, i, clockID).Brand), Amount: c.Amount,
				At: billing(c, month), TargetDate: billing(c, month).Format(time.DateOnly),
				Strategy: offsessionpayment.RetryStrategySmart, MaxRetries: 8, PolicyID: policies[0], ClockID: &clockID,
			})
		}
		for start := 0; start < len(ok); start += 500 {
			err := storage.WithTx(sys, e.store.Client, func(tx *ent.Tx) error {
				return seed.WriteSucceeded(sys, tx, accountID, prc.ID, ok[start:min(start+500, len(ok))])
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
	if err := advance(e, clockID, clockStart, abTrainAt, nil); err != nil {
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
	gone, err := unusableCards(sys, e.store.Client)
	if err != nil {
		return err
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
	if err := advance(e, clockID, abTrainAt, abEnd, func(at time.Time) {
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
