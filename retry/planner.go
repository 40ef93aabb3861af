package retry

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/offsession/offsession/scoring"
)

// Input is what a planner knows when a payment's attempt has just failed.
type Input struct {
	// Now is the time on the payment's clock.
	Now       time.Time
	PaymentID string
	Strategy  Strategy
	// Schedule holds the scheduled strategy's offsets from FirstAttemptAt.
	Schedule       []time.Duration
	MaxRetries     int
	RetryUntil     time.Time
	FirstAttemptAt time.Time
	LastAttemptAt  time.Time
	// RetriesUsed counts the retries made so far that reached the issuer
	// (technical failures do not count).
	RetriesUsed int
	// TechnicalStreak counts the technical failures in a row that end the
	// attempt history.
	TechnicalStreak int
	Decline         Classification
	DeclineCode     string
	// Earliest is the first time a retry is allowed: the network's advice
	// and the card's retry budget.
	Earliest     time.Time
	EarliestNote string
	// Location is the customer's time zone.
	Location *time.Location
	// Features the smart strategy may use.
	Amount   int64
	Currency string
	Brand    string
	Funding  string
	Country  string
	Cadence  string
	// AccountID is the payment's account.
	AccountID string
	// Scoring is what the retry model knows of the decision, and Model the
	// account's active retry model (nil for none): both resolved by the
	// caller before planning, for the smart strategy, so planners read
	// nothing but their input.
	Scoring *scoring.Context
	Model   *ActiveModel
}

// Decision is a planner's answer: a time, or stop with a failure reason.
type Decision struct {
	Stop bool
	// StopReason is retries_exhausted or exceeded_retry_window.
	StopReason string
	At         time.Time
	Record     SchedulingDecision
	// Value is, from the smart planner, the chance its plan recovers the
	// payment, as the model sees it.
	Value float64
	// Strategy is the strategy that decided (the holdout's for a payment
	// in the control group; technical after a technical failure), and
	// Kind how: KindModel, KindAnchored, KindExplored or KindNoModel for
	// smart, KindRule for the others, KindStop when no retry follows.
	// Engine.Next fills both.
	Strategy Strategy
	Kind     string
}

// The kinds of decision.
const (
	KindModel    = "model"
	KindAnchored = "anchored"
	KindExplored = "explored"
	KindNoModel  = "no_model"
	KindRule     = "rule"
	KindStop     = "stop"
)

// StrategyTechnical names the decisions after a technical failure, which
// every strategy shares.
const StrategyTechnical Strategy = "technical"

// The reasons a planner stops.
const (
	StopRetriesExhausted    = "retries_exhausted"
	StopExceededRetryWindow = "exceeded_retry_window"
)

// Planner picks the time of the next attempt of a declined payment. Each
// strategy is one; the clock is in Input.
type Planner interface {
	Plan(ctx context.Context, in Input) (Decision, error)
}

// technicalBackoff is how long after a technical failure the next attempt
// is made, by the number of technical failures in a row.
var technicalBackoff = []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}

// Engine plans retries: the rules every strategy shares (maximum retries,
// window, earliest allowed time, technical failures) around a planner per
// strategy.
type Engine struct {
	planners map[Strategy]Planner
}

// NewEngine returns an engine with the scheduled and heuristic strategies,
// and smart planned by smart (nil: a SmartPlanner without exploration).
func NewEngine(smart Planner) *Engine {
	h := HeuristicPlanner{}
	if smart == nil {
		smart = NewSmartPlanner(0, 0)
	}
	return &Engine{planners: map[Strategy]Planner{
		StrategyScheduled: ScheduledPlanner{},
		StrategyHeuristic: h,
		StrategySmart:     smart,
	}}
}

// maxTechnicalStreak technical failures in a row end a payment: its
// processors are not coming back in time.
const maxTechnicalStreak = 8

// Next decides what follows a failed attempt. A technical failure never
// reached the issuer: it is tried again shortly whatever the strategy
// (even none), and it is not a retry.
func (e *Engine) Next(ctx context.Context, in Input) (Decision, error) {
	d, err := e.next(ctx, in)
	if err != nil {
		return d, err
	}
	d.Strategy = in.Strategy
	if in.Decline.Class == Technical {
		d.Strategy = StrategyTechnical
	}
	switch {
	case d.Stop:
		d.Kind = KindStop
	case d.Kind == "":
		d.Kind = KindRule
	}
	return d, nil
}

func (e *Engine) next(ctx context.Context, in Input) (Decision, error) {
	if in.Decline.Class == Technical {
		if in.TechnicalStreak >= maxTechnicalStreak {
			return stop(StopRetriesExhausted, fmt.Sprintf("%d processor failures in a row", in.TechnicalStreak)), nil
		}
		wait := technicalBackoff[min(max(in.TechnicalStreak, 1), len(technicalBackoff))-1]
		at := later(in.Now.Add(wait), in.Earliest)
		if !InWindow(at, in.RetryUntil) {
			return stop(StopExceededRetryWindow, "the processor keeps failing and the retry window has closed"), nil
		}
		return Decision{At: at, Record: SchedulingDecision{
			Strategy: "technical",
			Reason:   fmt.Sprintf("processor failure %d in a row: try again in %s; it does not count as a retry", max(in.TechnicalStreak, 1), wait),
		}}, nil
	}
	if in.Strategy == StrategyNone {
		return stop(StopRetriesExhausted, "strategy none: no retries"), nil
	}
	if in.RetriesUsed >= in.MaxRetries {
		return stop(StopRetriesExhausted, fmt.Sprintf("all %d retries used", in.MaxRetries)), nil
	}
	if !InWindow(in.Earliest, in.RetryUntil) {
		return stop(StopExceededRetryWindow, "no retry is allowed before the retry window closes: "+in.EarliestNote), nil
	}
	p, ok := e.planners[in.Strategy]
	if !ok {
		return Decision{}, fmt.Errorf("unknown retry strategy %q", in.Strategy)
	}
	d, err := p.Plan(ctx, in)
	if err != nil || d.Stop {
		return d, err
	}
	if d.At.Before(in.Earliest) {
		d.At = in.Earliest
		d.Record.Reason += "; moved to the earliest allowed time"
	}
	if !InWindow(d.At, in.RetryUntil) {
		return stop(StopExceededRetryWindow, "the next retry would fall after the retry window"), nil
	}
	if in.EarliestNote != "" {
		d.Record.Reason += "; " + in.EarliestNote
	}
	return d, nil
}

func stop(reason, why string) Decision {
	return Decision{Stop: true, StopReason: reason, Record: SchedulingDecision{Strategy: "stop", Reason: why}}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ScheduledPlanner retries at fixed offsets from the first attempt.
type ScheduledPlanner struct{}

// Plan implements Planner.
func (ScheduledPlanner) Plan(_ context.Context, in Input) (Decision, error) {
	if in.RetriesUsed >= len(in.Schedule) {
		return stop(StopRetriesExhausted, fmt.Sprintf("all %d scheduled retries used", len(in.Schedule))), nil
	}
	off := in.Schedule[in.RetriesUsed]
	return Decision{At: in.FirstAttemptAt.Add(off), Record: SchedulingDecision{
		Strategy: string(StrategyScheduled),
		Reason:   fmt.Sprintf("retry %d of %d: %s after the first attempt", in.RetriesUsed+1, len(in.Schedule), formatOffset(off)),
	}}, nil
}

func formatOffset(d time.Duration) string {
	if d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

// HeuristicPlanner spaces retries out more and more, moves a retry for a lack of
// funds to just after a typical payday (the 1st and the 15th) when one is
// near, and keeps retries in the customer's local daytime.
type HeuristicPlanner struct{}

// heuristicSpacing is the wait after the last attempt, by retry number.
var heuristicSpacing = []time.Duration{1 * day, 2 * day, 3 * day, 4 * day, 5 * day, 6 * day, 7 * day}

// Local daytime: retries go between 09:00 and 18:00, customer time.
const (
	dayStartHour = 9
	dayEndHour   = 18
	// A payday slot is the day after the payday, at 10:00, when the
	// deposit has posted.
	paydaySlotHour = 10
	// A retry waits for a payday at most this long.
	paydayReach = 4 * day
)

// fundsDeclines are codes that usually mean the money is not there yet.
var fundsDeclines = map[string]bool{
	"insufficient_funds": true, "do_not_honor": true, "generic_decline": true,
	"withdrawal_count_limit_exceeded": true, "card_velocity_exceeded": true,
}

// Plan implements Planner.
func (HeuristicPlanner) Plan(_ context.Context, in Input) (Decision, error) {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	n := in.RetriesUsed + 1
	spacing := heuristicSpacing[min(n, len(heuristicSpacing))-1]
	at := later(in.LastAttemptAt.Add(spacing), in.Earliest)
	why := []string{fmt.Sprintf("retry %d of %d, %s after the last attempt", n, in.MaxRetries, formatOffset(spacing))}
	if fundsDeclines[in.DeclineCode] {
		if p := nextPaydaySlot(at, loc); p.Sub(at) <= paydayReach {
			at = p
			why = append(why, "after the payday of the "+ordinal(p.In(loc).Day()-1))
		}
	}
	// Jitter spreads retries; a retry it pushes out of the day starts the
	// next morning instead, jittered from 10:00 (at most 11:30, still day).
	j := jitter(in.PaymentID, n)
	at, moved := daytime(at.Add(j), loc)
	if moved {
		at = at.Add(j)
		why = append(why, fmt.Sprintf("in the customer's daytime (%s)", loc))
	}
	if !InWindow(at, in.RetryUntil) {
		// Fit the last retry in before the window closes, if it can be.
		last := lastDaytimeBefore(in.RetryUntil, loc)
		if last.Before(in.Earliest) || !last.After(in.LastAttemptAt) {
			return stop(StopExceededRetryWindow, "no daytime slot is left before the retry window closes"), nil
		}
		at = last
		why = append(why, "the last daytime slot before the retry window closes")
	}
	return Decision{At: at, Record: SchedulingDecision{
		Strategy: string(StrategyHeuristic),
		Reason:   strings.Join(why, "; "),
	}}, nil
}

// nextPaydaySlot is the first slot after a payday (the 1st or 15th) at or
// after t.
func nextPaydaySlot(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	for m := 0; m < 3; m++ {
		y, mo := lt.Year(), lt.Month()+time.Month(m)
		for _, d := range []int{2, 16} {
			slot := time.Date(y, mo, d, paydaySlotHour, 0, 0, 0, loc)
			if !slot.Before(t) {
				return slot.UTC()
			}
		}
	}
	return t
}

func ordinal(d int) string {
	switch d {
	case 1:
		return "1st"
	case 15:
		return "15th"
	}
	return fmt.Sprintf("%dth", d)
}

// daytime moves t into the customer's daytime: before 09:00 to 10:00 the
// same day, from 18:00 to 10:00 the next day.
func daytime(t time.Time, loc *time.Location) (time.Time, bool) {
	lt := t.In(loc)
	switch h := lt.Hour(); {
	case h < dayStartHour:
		return time.Date(lt.Year(), lt.Month(), lt.Day(), paydaySlotHour, 0, 0, 0, loc).UTC(), true
	case h >= dayEndHour:
		return time.Date(lt.Year(), lt.Month(), lt.Day()+1, paydaySlotHour, 0, 0, 0, loc).UTC(), true
	}
	return t.UTC(), false
}

// lastDaytimeBefore is the latest daytime moment at or before t.
func lastDaytimeBefore(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	switch h := lt.Hour(); {
	case h >= dayEndHour:
		return time.Date(lt.Year(), lt.Month(), lt.Day(), dayEndHour-1, 0, 0, 0, loc).UTC()
	case h < dayStartHour:
		return time.Date(lt.Year(), lt.Month(), lt.Day()-1, dayEndHour-1, 0, 0, 0, loc).UTC()
	}
	return t.UTC()
}

// jitter spreads retries over up to 90 minutes, the same for the same
// payment and retry, so a replay plans the same time.
func jitter(paymentID string, n int) time.Duration {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%d", paymentID, n)
	return time.Duration(h.Sum32()%90) * time.Minute
}
