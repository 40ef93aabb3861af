package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/offsession/offsession/scoring"
)

// benchModel trains a model of the default size on rows whose approval
// depends on the hour, the weekday and the decline.
func benchModel(tb testing.TB) *scoring.Model {
	r := rand.New(rand.NewPCG(1, 2))
	rows := make([]scoring.Row, 30000)
	for i := range rows {
		x := make([]uint8, scoring.NumFeatures)
		for f := range x {
			x[f] = uint8(r.IntN(scoring.Cardinality[f]))
		}
		p := 0.1 + 0.3*float64(boolInt(x[6] == 5)) + 0.2*float64(boolInt(x[5] >= 6 && x[5] <= 10)) + 0.2*float64(boolInt(x[0] == 3))
		rows[i] = scoring.Row{X: x, Approved: r.Float64() < p}
	}
	bag, err := scoring.Train(rows, scoring.TrainConfig{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	return bag.Compile()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// decisionInput is a retry decision over a 14-day window, for a customer
// with a full history.
func decisionInput(m *scoring.Model) Input {
	loc, _ := time.LoadLocation("America/Chicago")
	now := time.Date(2026, 3, 3, 14, 7, 0, 0, time.UTC)
	var hist []scoring.Past
	for i := range scoring.HistoryKept {
		hist = append(hist, scoring.Past{At: now.Add(-time.Duration(i+1) * 61 * time.Hour), Approved: i%3 == 0})
	}
	return Input{
		Now: now, Earliest: now, RetryUntil: now.Add(14 * 24 * time.Hour), MaxRetries: 8, RetriesUsed: 1,
		Strategy: StrategySmart, Location: loc, AccountID: "acct_bench", Decline: Classification{Class: Soft},
		Model: &ActiveModel{Version: "v1", Model: m},
		Scoring: &scoring.Context{
			DeclineCode: "insufficient_funds", AttemptNumber: 3, FirstFailureAt: now.Add(-50 * time.Hour),
			LastAttemptAt: now.Add(-time.Minute), RecentDeclines: 2, Amount: 1999, Exponent: 2,
			Brand: "visa", Funding: "debit", Country: "US", Cadence: "recurring", Location: loc, History: hist,
		},
	}
}

// TestSmartPlannerScoresEveryHour: a decision over a 14-day window scores
// each hourly slot, picks the best plan and names its runners-up.
func TestSmartPlannerScoresEveryHour(t *testing.T) {
	t.Parallel()
	p := NewSmartPlanner(0, 1)
	p.Anchor = -1 // the model alone decides
	in := decisionInput(benchModel(t))
	d, err := p.Plan(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if d.Stop || d.Record.ModelVersion != "v1" || d.Record.Score == nil || len(d.Record.Alternatives) != alternativesKept {
		t.Fatalf("decision: %+v", d)
	}
	if d.At.Before(in.Earliest) || d.At.After(in.RetryUntil) || d.At.Minute() != 0 {
		t.Fatalf("chose %s, outside the hourly slots of the window", d.At)
	}
	if n := len(p.candidates(in)); n != 14*24 {
		t.Fatalf("%d candidate slots in 14 days, want %d", n, 14*24)
	}
}

// BenchmarkSmartDecision is one retry decision of the smart planner over a
// 14-day window with hourly candidates (336 slots, each scored by a model
// of the default size, then the plan search), for a customer with a full
// history.
func BenchmarkSmartDecision(b *testing.B) {
	p := NewSmartPlanner(0, 1)
	in := decisionInput(benchModel(b))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.Plan(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSmoothAveragesNeighbours: a lone high hour is spread over its
// neighbours, so no plan is built on one hour's chance; the ends average
// the neighbours they have.
func TestSmoothAveragesNeighbours(t *testing.T) {
	t.Parallel()
	got := smooth([]float64{0, 0, 0, 0.9, 0, 0, 0.6}, 1, false)
	want := []float64{0, 0, 0.3, 0.3, 0.3, 0.2, 0.3}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-12 || d < -1e-12 {
			t.Fatalf("smooth: got %v, want %v", got, want)
		}
	}
	if p := []float64{0.1, 0.5}; &smooth(p, 0, false)[0] != &p[0] {
		t.Error("a radius of 0 must leave the scores as they are")
	}
}

// TestPlanValues checks the plan search against values worked by hand: a
// decline wears the rest of the plan when the next retry comes within the
// window, and not when it waits the window out.
func TestPlanValues(t *testing.T) {
	t.Parallel()
	const gap, window, wear = 6, 168, 0.8
	p := make([]float64, 400)
	p[0], p[10], p[300] = 0.2, 0.5, 0.9
	v := PlanValues(p, 2, gap, window, wear, 0)
	// From slot 0, the second retry at 300 is past the window: unworn.
	if want := 0.2 + 0.8*0.9; !near(v[0], want) {
		t.Errorf("value[0] = %.4f, want %.4f (a retry after the window is not worn)", v[0], want)
	}
	// From slot 10, the same.
	if want := 0.5 + 0.5*0.9; !near(v[10], want) {
		t.Errorf("value[10] = %.4f, want %.4f", v[10], want)
	}
	// One retry left: each slot is worth its own chance.
	v1 := PlanValues(p, 1, gap, window, wear, 0)
	if !near(v1[300], 0.9) || !near(v1[0], 0.2) {
		t.Errorf("one retry: value[0] = %.4f, value[300] = %.4f, want 0.2 and 0.9", v1[0], v1[300])
	}
	// Within the window, the next retry is worn: slot 10 after slot 0.
	q := make([]float64, 100)
	q[0], q[10] = 0.2, 0.5
	if w, want := PlanValues(q, 2, gap, window, wear, 0)[0], 0.2+0.8*wear*0.5; !near(w, want) {
		t.Errorf("value[0] = %.4f, want %.4f (a retry within the window is worn)", w, want)
	}
	// Retries closer than the gap are never planned together.
	r := make([]float64, 100)
	r[0], r[gap-1] = 0.5, 0.5
	if w := PlanValues(r, 2, gap, window, wear, 0)[0]; !near(w, 0.5) {
		t.Errorf("value[0] = %.4f, want 0.5 (the other slot is within the gap)", w)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestExplorationDoesNotDependOnOrder: a decision's exploration draw is the
// same whatever other decisions were made before it, so concurrent workers
// cannot change which payments explore.
func TestExplorationDoesNotDependOnOrder(t *testing.T) {
	t.Parallel()
	m := benchModel(t)
	inputs := make([]Input, 40)
	for i := range inputs {
		inputs[i] = decisionInput(m)
		inputs[i].PaymentID = fmt.Sprintf("osp_%d", i)
	}
	plan := func(p *SmartPlanner, order []int) map[string]Decision {
		out := map[string]Decision{}
		for _, i := range order {
			d, err := p.Plan(context.Background(), inputs[i])
			if err != nil {
				t.Fatal(err)
			}
			out[inputs[i].PaymentID] = d
		}
		return out
	}
	forward, backward := make([]int, len(inputs)), make([]int, len(inputs))
	for i := range inputs {
		forward[i], backward[i] = i, len(inputs)-1-i
	}
	a := plan(NewSmartPlanner(0.5, 7), forward)
	b := plan(NewSmartPlanner(0.5, 7), backward)
	explored := 0
	for id, d := range a {
		if !d.At.Equal(b[id].At) || d.Record.Explored != b[id].Record.Explored {
			t.Fatalf("%s: planned %s (explored %v) in one order, %s (explored %v) in the other", id, d.At, d.Record.Explored, b[id].At, b[id].Record.Explored)
		}
		if d.Record.Explored {
			explored++
		}
	}
	if explored == 0 || explored == len(inputs) {
		t.Fatalf("%d of %d decisions explored with a share of 0.5", explored, len(inputs))
	}
}

// hourModel is a one-tree model that splits on the local hour: every hour
// scores base on baseRows rows, except hour, which scores p on rows rows;
// shrunk as training shrinks.
func hourModel(base float64, baseRows int32, hour int, p float64, rows int32) *scoring.Model {
	const hourFeature = 5
	t := scoring.Tree{Feature: []int8{hourFeature}, First: []int32{1}, P: []float64{base}, N: []int32{24 * baseRows}}
	for h := range 24 {
		t.Feature, t.First = append(t.Feature, -1), append(t.First, 0)
		if h == hour {
			t.P, t.N = append(t.P, p), append(t.N, rows)
		} else {
			t.P, t.N = append(t.P, base), append(t.N, baseRows)
		}
	}
	m := &scoring.Model{Trees: []scoring.Tree{t}}
	m.Shrink(scoring.ShrinkDefault)
	return m
}

// TestSmartKeepsTheHeuristicWhereTheModelKnowsLittle: a model whose one
// better hour rests on a handful of rows does not move the retry off the
// heuristic's time; the same hour on thousands of rows does, and the
// decision says which happened.
func TestSmartKeepsTheHeuristicWhereTheModelKnowsLittle(t *testing.T) {
	t.Parallel()
	p := NewSmartPlanner(0, 1)
	in := decisionInput(nil)
	in.Scoring.History = nil
	h, err := HeuristicPlanner{}.Plan(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// 03:00 local: an hour the heuristic never picks.
	in.Model = &ActiveModel{Version: "v1", Model: hourModel(0.3, 2000, 3, 0.95, 3)}
	d, err := p.Plan(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !d.At.Equal(h.At) || d.Record.ModelVersion != "v1" {
		t.Fatalf("a spike on 3 rows moved the retry to %s (heuristic %s): %s", d.At, h.At, d.Record.Reason)
	}
	in.Model = &ActiveModel{Version: "v2", Model: hourModel(0.3, 2000, 3, 0.95, 5000)}
	d, err = p.Plan(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if hour := d.At.In(in.Location).Hour(); d.At.Equal(h.At) || hour > 6 { // within the smoothing of 03:00
		t.Fatalf("a well-supported hour left the retry at %s (heuristic %s): %s", d.At.In(in.Location), h.At, d.Record.Reason)
	}
	p.Anchor = -1
	in.Model = &ActiveModel{Version: "v1", Model: hourModel(0.3, 2000, 3, 0.95, 3)}
	if d, _ = p.Plan(context.Background(), in); d.At.Equal(h.At) {
		t.Fatal("without the anchor the model alone decides, and it prefers another time")
	}
}

// TestSmartStopsWhenNoRetryIsWorthItsCost: where the model gives every
// time a chance below an attempt's cost, the planner stops instead of
// spending the remaining retries; at no cost it plans one.
func TestSmartStopsWhenNoRetryIsWorthItsCost(t *testing.T) {
	t.Parallel()
	p := NewSmartPlanner(0, 1)
	in := decisionInput(nil)
	in.Model = &ActiveModel{Version: "v1", Model: hourModel(0.01, 5000, 3, 0.01, 5000)}
	d, err := p.Plan(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Stop || d.StopReason != StopRetriesExhausted {
		t.Fatalf("a 1%% chance at a cost of %.2f: %+v", p.AttemptCost, d)
	}
	p.AttemptCost = 0
	if d, _ = p.Plan(context.Background(), in); d.Stop {
		t.Fatalf("at no cost any chance is worth a retry: %+v", d)
	}
	// A plan's value is what it recovers less what its attempts cost.
	if v := PlanValues([]float64{0.5}, 1, 1, 1, 1, 0.03)[0]; !near(v, 0.47) {
		t.Fatalf("one retry at 0.5 costing 0.03 is worth %.4f", v)
	}
}
