package models

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/retrymodel"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/scoring"
	"github.com/offsession/offsession/viewer"
)

// Algorithm names what Train fits.
const Algorithm = "bagged_id3"

// TrainInput tunes a training run; zero fields take scoring's defaults.
type TrainInput struct {
	Trees   *int `json:"trees,omitempty"`
	MinLeaf *int `json:"minLeaf,omitempty"`
	Seed    *int `json:"seed,omitempty"`
	// TestShare is the newest share of the history held out to measure
	// the model (a time-ordered split). Default 0.2.
	TestShare *float64 `json:"testShare,omitempty"`
	// shuffleLabels trains on the outcomes dealt at random (a placebo):
	// for the tests of the activation gate.
	shuffleLabels bool
}

// backtestSchedule is the scheduled strategy the backtest compares with:
// Stripe's default of 4 retries in 21 days.
var backtestSchedule = []string{"3d", "7d", "14d", "21d"}

// Start creates the next model version, in status training, and trains it
// in the background: it returns at once, and never blocks payments.
// Progress and the outcome show on the model's row.
func (s *Service) Start(ctx context.Context, in TrainInput) (*ent.RetryModel, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	m, err := s.create(ctx, in)
	if err != nil {
		return nil, err
	}
	bg := viewer.NewContext(context.WithoutCancel(ctx), viewer.Viewer{AccountID: m.AccountID, Role: viewer.RoleAdmin})
	go func() {
		if _, err := s.train(bg, m, in, nil); err != nil {
			s.log.ErrorContext(bg, "retry model training failed", "model", m.ID, "err", err)
		}
	}()
	return m, nil
}

// Train creates the next model version and trains it, telling progress as
// it goes; for the CLI.
func (s *Service) Train(ctx context.Context, in TrainInput, progress func(string)) (*ent.RetryModel, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	m, err := s.create(ctx, in)
	if err != nil {
		return nil, err
	}
	return s.train(ctx, m, in, progress)
}

func (s *Service) create(ctx context.Context, in TrainInput) (*ent.RetryModel, error) {
	last, err := s.db.RetryModel.Query().Order(ent.Desc(retrymodel.FieldVersion)).First(ctx)
	version := 1
	switch {
	case err == nil:
		version = last.Version + 1
	case !ent.IsNotFound(err):
		return nil, err
	}
	params := schematype.StringMap{}
	for k, v := range map[string]any{"trees": in.Trees, "min_leaf": in.MinLeaf, "seed": in.Seed, "test_share": in.TestShare} {
		switch p := v.(type) {
		case *int:
			if p != nil {
				params[k] = strconv.Itoa(*p)
			}
		case *float64:
			if p != nil {
				params[k] = strconv.FormatFloat(*p, 'f', -1, 64)
			}
		}
	}
	return s.db.RetryModel.Create().
		SetVersion(version).
		SetAlgorithm(Algorithm).
		SetParameters(params).
		SetFeatures(scoring.FeatureNames).
		Save(ctx)
}

func (s *Service) train(ctx context.Context, m *ent.RetryModel, in TrainInput, progress func(string)) (*ent.RetryModel, error) {
	say := func(msg string, frac float64) {
		if progress != nil {
			progress(msg)
		}
		if err := s.db.RetryModel.UpdateOne(m).SetProgress(frac).Exec(ctx); err != nil {
			s.log.WarnContext(ctx, "record training progress", "model", m.ID, "err", err)
		}
	}
	fail := func(err error) (*ent.RetryModel, error) {
		_ = s.db.RetryModel.UpdateOne(m).SetStatus(retrymodel.StatusFailed).SetError(err.Error()).Exec(ctx)
		return nil, err
	}
	examples, err := s.Dataset(ctx, func(msg string) { say(msg, 0.05) })
	if err != nil {
		return fail(err)
	}
	out, _, err := s.trainOn(ctx, m, in, examples, say)
	if err != nil {
		return fail(err)
	}
	return out, nil
}

// splitAt is where examples divide into training rows and the held-out
// newest share; ok is false when either side is too small.
func splitAt(n int, in TrainInput) (at int, ok bool) {
	test := 0.2
	if in.TestShare != nil && *in.TestShare > 0 && *in.TestShare < 0.9 {
		test = *in.TestShare
	}
	at = int(float64(n) * (1 - test))
	return at, at >= 200 && n-at >= 50
}

// trainOn fits m on examples, measures it on the held-out newest share and
// saves it as a candidate; it returns the held-out model and rows too.
func (s *Service) trainOn(ctx context.Context, m *ent.RetryModel, in TrainInput, examples []Example, say func(string, float64)) (_ *ent.RetryModel, _ heldOut, err error) {
	// Every fit, asked for or scheduled, is a training run of the metrics.
	started := s.clock.Now()
	defer func() {
		outcome := "succeeded"
		if err != nil {
			outcome = "failed"
		}
		s.metrics.TrainingRun(outcome, s.clock.Since(started))
	}()
	split, ok := splitAt(len(examples), in)
	if !ok {
		return nil, heldOut{}, fmt.Errorf("%w: %d retries", ErrNoData, len(examples))
	}
	trainRows := make([]scoring.Row, split)
	for i := range trainRows {
		trainRows[i] = examples[i].Row
	}
	if in.shuffleLabels {
		// A placebo: the same rows with their outcomes dealt at random.
		rng := rand.New(rand.NewPCG(uint64(len(trainRows)), 0x706c616365626f))
		rng.Shuffle(len(trainRows), func(i, j int) {
			trainRows[i].Approved, trainRows[j].Approved = trainRows[j].Approved, trainRows[i].Approved
		})
	}
	cfg := scoring.TrainConfig{Progress: func(done, total int) {
		say(fmt.Sprintf("trained tree %d of %d", done, total), 0.1+0.8*float64(done)/float64(total))
	}}
	if in.Trees != nil {
		cfg.Trees = *in.Trees
	}
	if in.MinLeaf != nil {
		cfg.MinLeaf = *in.MinLeaf
	}
	if in.Seed != nil {
		cfg.Seed = uint64(*in.Seed)
	}
	bag, err := scoring.Train(trainRows, cfg)
	if err != nil {
		return nil, heldOut{}, err
	}
	model := bag.Compile()
	model.Shrink(scoring.ShrinkDefault)
	testRows := make([]scoring.Row, 0, len(examples)-split)
	for _, e := range examples[split:] {
		testRows = append(testRows, e.Row)
	}
	metrics := scoring.Evaluate(model, testRows)
	metrics.Backtest = backtest(ctx, model, examples[split:])
	if metrics.OffPolicy, err = s.offPolicy(ctx, model, examples[split:]); err != nil {
		s.log.WarnContext(ctx, "the off-policy estimate failed; the model is trained without it", "model", m.ID, "err", err)
	} else if op := metrics.OffPolicy; op.Model.Matched > 0 {
		say(fmt.Sprintf("off-policy, %d held-out first retries (logged approval %.3f): the model's %.3f [%.3f, %.3f] on %d, the heuristic's %.3f [%.3f, %.3f] on %d",
			op.Decisions, op.Logged, op.Model.Value, op.Model.Lower, op.Model.Upper, op.Model.Matched,
			op.Heuristic.Value, op.Heuristic.Lower, op.Heuristic.Upper, op.Heuristic.Matched), 0.95)
	}
	blob, err := model.Marshal()
	if err != nil {
		return nil, heldOut{}, err
	}
	secs := int64(s.clock.Since(started) / time.Second)
	say(fmt.Sprintf("AUC %.3f (95%% interval from %.3f), Brier %.4f, log loss %.4f on %d held-out retries",
		metrics.AUC, metrics.AUCLower, metrics.Brier, metrics.LogLoss, len(testRows)), 1)
	out, err := s.db.RetryModel.UpdateOne(m).
		SetStatus(retrymodel.StatusCandidate).
		SetModel(blob).
		SetMetrics(metrics).
		SetTrainRows(len(trainRows)).
		SetTestRows(len(testRows)).
		SetTrainedFrom(examples[0].StartedAt).
		SetTrainedTo(examples[len(examples)-1].StartedAt).
		SetTrainingSeconds(secs).
		SetProgress(1).
		Save(ctx)
	return out, heldOut{model: model, rows: testRows}, err
}

// heldOut is a freshly trained model and the rows it was measured on.
type heldOut struct {
	model *scoring.Model
	rows  []scoring.Row
}

// backtest estimates, with the model, the recovery of the held-back
// payments' first retries planned by the smart planner and by the scheduled
// strategy: the model's own estimates, for comparing versions.
func backtest(ctx context.Context, model *scoring.Model, held []Example) *scoring.Backtest {
	sched, _ := retry.ParseSchedule(backtestSchedule)
	planner := retry.NewSmartPlanner(0, 1)
	candidate := &retry.ActiveModel{Version: "candidate", Model: model}
	bt := &scoring.Backtest{Schedule: "3d, 7d, 14d, 21d"}
	var smartSum, schedSum float64
	for _, e := range held {
		if e.Context == nil {
			continue // only the first retry of each payment is replanned
		}
		c := *e.Context
		in := retry.Input{
			Now: e.DecidedAt, Earliest: e.DecidedAt, RetryUntil: e.DecidedAt.Add(21 * 24 * time.Hour),
			MaxRetries: len(sched), Location: c.Location, Scoring: &c, Model: candidate, Decline: retry.Classification{Class: retry.Soft},
		}
		d, err := planner.Plan(ctx, in)
		if err != nil || d.Stop || d.Record.Score == nil {
			continue
		}
		bt.Payments++
		smartSum += d.Value
		miss := 1.0
		x := make([]uint8, 0, scoring.NumFeatures)
		for i, off := range sched {
			c.AttemptNumber = 2 + i
			p := model.Score(scoring.Features(&c, e.DecidedAt.Add(off), x))
			miss *= 1 - p*pow(retry.WearDefault, i)
		}
		schedSum += 1 - miss
	}
	if bt.Payments > 0 {
		bt.SmartRecovery = smartSum / float64(bt.Payments)
		bt.ScheduledRecovery = schedSum / float64(bt.Payments)
	}
	return bt
}

func pow(x float64, n int) float64 {
	r := 1.0
	for range n {
		r *= x
	}
	return r
}
