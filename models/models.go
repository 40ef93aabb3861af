// Package models is the data team's loop on the retry model: export the
// attempt history with its features and labels, train a new version, list
// the versions with their metrics, activate one (or roll back to an older
// one), and measure its uplift against the holdout group. It also serves
// each account's active model to the smart planner.
//
// Training reads the history and writes only the model's row: it never
// blocks payments.
package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/retrymodel"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/scoring"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// cacheFor is how long a replica trusts its copy of an account's active
// model: an activation elsewhere is seen within it.
const cacheFor = 5 * time.Second

// Service runs the loop.
type Service struct {
	db    *ent.Client
	clock clockwork.Clock
	log   *slog.Logger

	mu    sync.Mutex
	cache map[string]cached // by account

	metrics *metrics.Metrics
}

type cached struct {
	model *retry.ActiveModel
	at    time.Time
}

// New returns the service.
func New(db *ent.Client, clock clockwork.Clock, log *slog.Logger) *Service {
	return &Service{db: db, clock: clock, log: log, cache: map[string]cached{}}
}

// WithMetrics returns s counting its training runs on m.
func (s *Service) WithMetrics(m *metrics.Metrics) *Service {
	s.metrics = m
	return s
}

var _ retry.ModelSource = (*Service)(nil)

// Active returns an account's active model, or nil. It reads through the
// transaction in ctx, if any (ent.NewTxContext).
func (s *Service) Active(ctx context.Context, accountID string) (*retry.ActiveModel, error) {
	now := s.clock.Now()
	s.mu.Lock()
	c, ok := s.cache[accountID]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < cacheFor {
		return c.model, nil
	}
	// Inside a transaction (the payments service plans retries in one),
	// read through it: on SQLite another connection would wait for the
	// transaction's own write lock.
	db := s.db
	if tx := ent.TxFromContext(ctx); tx != nil {
		db = tx.Client()
	}
	m, err := db.RetryModel.Query().
		Where(retrymodel.AccountID(accountID), retrymodel.StatusEQ(retrymodel.StatusActive)).
		Only(viewer.SystemContext(ctx))
	var am *retry.ActiveModel
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read the active retry model: %w", err)
	case c.model != nil && c.model.Version == versionName(m.Version):
		am = c.model
	case !slices.Equal(m.Features, scoring.FeatureNames):
		// Trained before an upgrade changed the features: its trees would
		// read the wrong ones. The planner falls back to the heuristic
		// until a model is trained on this version's features.
		s.log.Warn("the active retry model was trained on other features: not used", "version", versionName(m.Version))
	default:
		model, err := scoring.Unmarshal(m.Model)
		if err != nil {
			return nil, err
		}
		am = &retry.ActiveModel{Version: versionName(m.Version), Model: model}
	}
	s.mu.Lock()
	s.cache[accountID] = cached{model: am, at: now}
	s.mu.Unlock()
	return am, nil
}

func versionName(v int) string { return fmt.Sprintf("v%d", v) }

// Activate makes a version the account's active model, retiring the one
// before; activating an older version rolls back. ctx must be an admin's.
func (s *Service) Activate(ctx context.Context, version int) (*ent.RetryModel, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out *ent.RetryModel
	err := storage.WithTx(ctx, s.db, func(tx *ent.Tx) error {
		m, err := tx.RetryModel.Query().Where(retrymodel.Version(version)).Only(ctx)
		if ent.IsNotFound(err) {
			return apierror.NotFoundID("version", versionName(version))
		} else if err != nil {
			return err
		}
		switch m.Status {
		case retrymodel.StatusActive:
			out = m
			return nil
		case retrymodel.StatusTraining, retrymodel.StatusFailed:
			return apierror.Conflictf("version", "model_not_ready", "model %s is %s", versionName(version), m.Status)
		}
		if !slices.Equal(m.Features, scoring.FeatureNames) {
			return apierror.Conflictf("version", "model_features_outdated",
				"model %s was trained on features this version does not compute: train a new one", versionName(version))
		}
		if why := activationRefusal(m.Version, m.Metrics); why != "" {
			return apierror.Conflictf("version", "model_not_better", "%s", why)
		}
		if _, err := tx.RetryModel.Update().
			Where(retrymodel.StatusEQ(retrymodel.StatusActive)).
			SetStatus(retrymodel.StatusRetired).
			Save(ctx); err != nil {
			return err
		}
		if out, err = tx.RetryModel.UpdateOne(m).
			SetStatus(retrymodel.StatusActive).
			SetActivatedAt(s.clock.Now().UTC()).
			Save(ctx); err != nil {
			return err
		}
		return events.Emit(ctx, tx, events.Event{
			AccountID: out.AccountID, Type: events.ModelActivated, ObjectID: out.ID, ObjectType: "retry_model", Version: int64(out.Version),
			Data: map[string]any{"id": out.ID, "object": "retry_model", "version": versionName(out.Version), "status": out.Status},
		})
	})
	if err != nil {
		return nil, err
	}
	s.forget(out.AccountID)
	return out, nil
}

// List returns the account's models, newest first.
func (s *Service) List(ctx context.Context) ([]*ent.RetryModel, error) {
	return s.db.RetryModel.Query().Order(ent.Desc(retrymodel.FieldVersion)).All(ctx)
}

// requireAdmin refuses anyone but an admin key (and offsession itself).
func requireAdmin(ctx context.Context) error {
	v, ok := viewer.FromContext(ctx)
	if !ok || (v.Role != viewer.RoleAdmin && !v.System()) {
		return apierror.Forbiddenf("only an admin key may train or activate retry models")
	}
	return nil
}

// Uplift compares the payments whose retries a model planned with the
// holdout group, retried by the policy's holdout strategy, over the same
// time.
type Uplift struct {
	Treatment Group
	Holdout   Group
}

// Group is a set of failed payments and how they were recovered.
type Group struct {
	Payments int
	// RecoveryRate is the share recovered.
	RecoveryRate float64
	// AttemptsPerRecovery is the attempts made per payment recovered.
	AttemptsPerRecovery float64
	// DaysToRecovery is the median time from the first failure to success.
	DaysToRecovery float64
	// Curve is the share recovered within d days of the first failure, for
	// d = 1, 2, ...: over at least two weeks, and as many days as the
	// slowest recovery of either group took, the same for both groups.
	Curve []float64
}

// curveDaysMin is the shortest recovery curve: the default retry window.
const curveDaysMin = 14

// curveDays is how many days recovery curves run over: at least
// curveDaysMin, and as many as the slowest of the recoveries (each list
// sorted) took.
func curveDays(days ...[]float64) int {
	n := curveDaysMin
	for _, d := range days {
		if k := len(d); k > 0 {
			n = max(n, int(math.Ceil(d[k-1])))
		}
	}
	return n
}

// curve is the share of payments recovered within d days, for d = 1 to n,
// of recoveries that took days (sorted).
func curve(payments int, days []float64, n int) []float64 {
	out := make([]float64, n)
	if payments == 0 {
		return out
	}
	for d := range n {
		out[d] = float64(sort.SearchFloat64s(days, float64(d+1)+1e-9)) / float64(payments)
	}
	return out
}

// ended selects the payments whose retries are over: one still retrying
// would count as not recovered.
var ended = offsessionpayment.StatusIn(offsessionpayment.StatusSucceeded, offsessionpayment.StatusFailed)

// Uplift measures a model against the holdout group, on payments that
// have ended.
func (s *Service) Uplift(ctx context.Context, m *ent.RetryModel) (*Uplift, error) {
	treated, err := s.db.OffSessionPayment.Query().
		Where(offsessionpayment.ModelVersion(versionName(m.Version)), ended).
		WithAttempts().
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("uplift: %w", err)
	}
	out := &Uplift{}
	var treatedDays, heldDays []float64
	out.Treatment, treatedDays = group(treated)
	if len(treated) > 0 {
		from, to := treated[0].CreatedAt, treated[0].CreatedAt
		for _, p := range treated {
			if p.CreatedAt.Before(from) {
				from = p.CreatedAt
			}
			if p.CreatedAt.After(to) {
				to = p.CreatedAt
			}
		}
		held, err := s.db.OffSessionPayment.Query().
			Where(
				offsessionpayment.Holdout(true),
				offsessionpayment.RetryStrategyEQ(offsessionpayment.RetryStrategySmart),
				ended,
				offsessionpayment.CreatedAtGTE(from),
				offsessionpayment.CreatedAtLTE(to),
			).
			WithAttempts().
			All(ctx)
		if err != nil {
			return nil, fmt.Errorf("uplift: %w", err)
		}
		out.Holdout, heldDays = group(held)
	}
	n := curveDays(treatedDays, heldDays)
	out.Treatment.Curve = curve(out.Treatment.Payments, treatedDays, n)
	out.Holdout.Curve = curve(out.Holdout.Payments, heldDays, n)
	return out, nil
}

// group measures failed payments: those whose first attempt declined. It
// returns the days each recovery took, sorted, too.
func group(ps []*ent.OffSessionPayment) (Group, []float64) {
	var g Group
	var days []float64
	attempts := 0
	recovered := 0
	for _, p := range ps {
		if len(p.Edges.Attempts) < 2 {
			continue // never retried: its first attempt succeeded or it was stopped
		}
		g.Payments++
		if p.Status != "succeeded" || p.SucceededAt == nil {
			continue
		}
		recovered++
		attempts += len(p.Edges.Attempts)
		first := p.Edges.Attempts[0]
		for _, a := range p.Edges.Attempts {
			if a.Number == 1 {
				first = a
			}
		}
		if first.FinishedAt != nil {
			days = append(days, p.SucceededAt.Sub(*first.FinishedAt).Hours()/24)
		}
	}
	if g.Payments > 0 {
		g.RecoveryRate = float64(recovered) / float64(g.Payments)
	}
	if recovered > 0 {
		g.AttemptsPerRecovery = float64(attempts) / float64(recovered)
	}
	if len(days) > 0 {
		sort.Float64s(days)
		g.DaysToRecovery = days[len(days)/2]
	}
	return g, days
}

// ErrNoData is returned when an account's history has too few retries to
// learn from.
var ErrNoData = errors.New("too few retries in the history to train on")
