package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/retry"
)

// oracle plans retries with what only the simulator knows: each customer's
// true chance of approval at every hour, worn by the card's recent
// declines. It searches its plan the way the smart planner does (hourly
// slots, at least six hours apart, the whole remaining plan valued), so the
// gap between the two is what the model does not know.
type oracle struct {
	pop *population.Population

	mu        sync.Mutex
	customers map[string]population.Customer // payment ID → customer
	declines  map[string][]time.Time         // payment ID → its declined attempts
}

func (o *oracle) Plan(_ context.Context, in retry.Input) (retry.Decision, error) {
	o.mu.Lock()
	c, ok := o.customers[in.PaymentID]
	o.declines[in.PaymentID] = append(o.declines[in.PaymentID], in.LastAttemptAt)
	declines := o.declines[in.PaymentID]
	o.mu.Unlock()
	if !ok {
		return retry.Decision{}, fmt.Errorf("oracle: payment %s is not the bench's", in.PaymentID)
	}
	slots := retry.CandidateSlots(in, retry.SlotDefault, retry.MinGapDefault)
	p := make([]float64, len(slots))
	for i, t := range slots {
		recent := 0
		for _, d := range declines {
			if t.Sub(d) < 7*24*time.Hour {
				recent++
			}
		}
		p[i] = o.pop.Approval(c, t, recent)
	}
	if len(slots) == 0 {
		return retry.Decision{Stop: true, StopReason: retry.StopExceededRetryWindow}, nil
	}
	k := max(in.MaxRetries-in.RetriesUsed, 1)
	// The simulator's fatigue counts the declines of the last 7 days, as
	// the planner's default wear window does.
	value := retry.PlanValues(p, k, int(retry.MinGapDefault/retry.SlotDefault), int(retry.WearWindowDefault/retry.SlotDefault), o.pop.P.Fatigue, 0)
	chosen := 0
	for i := range value {
		if value[i] > value[chosen] {
			chosen = i
		}
	}
	score := p[chosen]
	return retry.Decision{At: slots[chosen], Value: value[chosen], Record: retry.SchedulingDecision{
		Strategy: string(retry.StrategySmart), Score: &score,
		Reason: fmt.Sprintf("oracle: the true chance of approval is %.3f", score),
	}}, nil
}
