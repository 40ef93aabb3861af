// Package routes keeps an account's routes: their create and update
// mutations, and the load step of routing: it reads the routes and
// processors an attempt may use, lets the router decide (routing.Decide),
// and rebuilds the router's statistics from the attempts every replica
// finished.
package routes

import (
	"context"
	"fmt"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/route"
	"github.com/offsession/offsession/routing"
)

// Card is what the router knows of pm.
func Card(pm *ent.PaymentMethod) routing.Card {
	c := routing.Card{Brand: string(pm.Brand), Funding: string(pm.Funding), IssuingCountry: pm.IssuingCountry}
	for _, t := range pm.ProcessorTokens {
		c.TokenOrder = append(c.TokenOrder, t.ProcessorID)
	}
	return c
}

// Plan loads the enabled routes of pm's account and its processors that
// hold a token for pm, and returns the router's plan with the processors
// it names, in its order. db must read as the payment's account (or the
// system).
func Plan(ctx context.Context, r *routing.Router, db *ent.Client, pm *ent.PaymentMethod, in routing.Input) (routing.Plan, []*ent.Processor, error) {
	in.Card = Card(pm)
	procs, err := db.Processor.Query().
		Where(processor.IDIn(in.Card.TokenOrder...), processor.AccountID(pm.AccountID)).
		All(ctx)
	if err != nil {
		return routing.Plan{}, nil, fmt.Errorf("read processors: %w", err)
	}
	rows, err := db.Route.Query().
		Where(route.Enabled(true), route.AccountID(pm.AccountID)).
		Order(ent.Asc(route.FieldPriority), ent.Asc(route.FieldID)).
		All(ctx)
	if err != nil {
		return routing.Plan{}, nil, fmt.Errorf("read routes: %w", err)
	}
	byID := make(map[string]*ent.Processor, len(procs))
	known := make(map[string]routing.Processor, len(procs))
	for _, p := range procs {
		byID[p.ID] = p
		known[p.ID] = routing.Processor{ID: p.ID, Enabled: p.Enabled, CostPercentBps: p.CostPercentBps, CostFixed: p.CostFixed}
	}
	routes := make([]routing.Route, len(rows))
	for i, rt := range rows {
		routes[i] = routing.Route{
			ID: rt.ID, Name: rt.Name, Priority: rt.Priority, Strategy: routing.Strategy(rt.Strategy),
			Conditions: rt.Conditions, Processors: rt.Processors,
			ExplorationShare: rt.ExplorationShare, CostAware: rt.CostAware,
		}
	}
	plan := r.Decide(in, routes, known)
	ordered := make([]*ent.Processor, len(plan.Processors))
	for i, id := range plan.Processors {
		ordered[i] = byID[id]
	}
	return plan, ordered, nil
}

// Token returns pm's token at processor processorID, with the network
// transaction ID it was saved with.
func Token(pm *ent.PaymentMethod, processorID string) (token, networkTransactionID string) {
	for _, t := range pm.ProcessorTokens {
		if t.ProcessorID == processorID {
			return t.Token, t.NetworkTransactionID
		}
	}
	return "", ""
}

// Resume returns the cascade an attempt in flight goes on with: the
// processor it is on (current), then the rest of its decision's eligible
// processors that supports takes. A decision that does not name current
// gives current alone.
func Resume(ctx context.Context, db *ent.Client, d routing.Decision, current string, supports func(*ent.Processor) bool) ([]*ent.Processor, error) {
	var ids []string
	from := false
	for _, c := range d.Candidates {
		if c.ProcessorID == current {
			from = true
		}
		if from && c.Eligible {
			ids = append(ids, c.ProcessorID)
		}
	}
	if !from {
		ids = []string{current}
	}
	procs, err := db.Processor.Query().Where(processor.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("read processors: %w", err)
	}
	cascade := make([]*ent.Processor, 0, len(ids))
	for _, id := range ids {
		for _, pr := range procs {
			if pr.ID == id && (pr.ID == current || supports(pr)) {
				cascade = append(cascade, pr)
			}
		}
	}
	return cascade, nil
}
