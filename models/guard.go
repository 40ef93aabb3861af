package models

import (
	"context"
	"fmt"
	"math"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/retrymodel"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/scoring"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// A model is used only where it is measured to do better than the
// heuristic that stands in for it, in two steps.
//
// Before it is activated, it must rank its held-out retries (the newest
// share of the history, which it was not trained on) better than chance
// with 95% confidence: the lower end of its AUC's interval above 0.5. A
// model that cannot tell an approval from a decline only moves retries to
// arbitrary times, and the heuristic's times are known to do well. A model
// trained on noise (shuffled labels) is refused here.
//
// Once active, the payments it plans are compared with the policy's
// control group (holdoutShare, retried by the holdout strategy) over the
// same time, on payments that have ended: when its recovery is below the
// control's by more than 1.96 standard errors of the difference, with at
// least minGuardPayments in each group, it is demoted, and the heuristic
// plans again.
const (
	// minGuardPayments is the fewest ended, retried payments each group
	// needs before the guard judges a model.
	minGuardPayments = 100
	// guardZ is the one-sided confidence the guard asks for: 1.96
	// standard errors.
	guardZ = 1.96
)

// activationRefusal says why metrics do not let a model be activated, or
// "" when they do. Models trained before AUCLower was recorded have it
// computed from their AUC and held-out counts.
func activationRefusal(version int, mt scoring.Metrics) string {
	lower := mt.AUCLower
	if lower == 0 && mt.AUC > 0 {
		pos := int(math.Round(mt.Positives * float64(mt.Rows)))
		lower, _ = scoring.AUCInterval(mt.AUC, pos, mt.Rows-pos)
	}
	if lower > 0.5 {
		return ""
	}
	return fmt.Sprintf("model %s ranks its %d held-out retries no better than chance with confidence (AUC %.3f, 95%% interval from %.3f): "+
		"its times would be no better than arbitrary, and the heuristic plans instead", versionName(version), mt.Rows, mt.AUC, lower)
}

// Verdict is the guard's comparison of an active model with its control
// group.
type Verdict struct {
	Uplift *Uplift
	// Difference is the model's recovery rate less the control's, and
	// StdErr its standard error.
	Difference, StdErr float64
	// Demote is true when the model is worse with confidence.
	Demote bool
	Reason string
}

// Judge compares a model's payments with its control group.
func Judge(u *Uplift) Verdict {
	v := Verdict{Uplift: u}
	t, h := u.Treatment, u.Holdout
	if t.Payments < minGuardPayments || h.Payments < minGuardPayments {
		v.Reason = fmt.Sprintf("too few ended payments to judge (%d planned by the model, %d in the control group; %d each needed)",
			t.Payments, h.Payments, minGuardPayments)
		return v
	}
	v.Difference = t.RecoveryRate - h.RecoveryRate
	v.StdErr = math.Sqrt(t.RecoveryRate*(1-t.RecoveryRate)/float64(t.Payments) + h.RecoveryRate*(1-h.RecoveryRate)/float64(h.Payments))
	v.Demote = v.Difference+guardZ*v.StdErr < 0
	v.Reason = fmt.Sprintf("recovered %.1f%% of %d payments against the control group's %.1f%% of %d: a difference of %+.1f points (standard error %.1f)",
		100*t.RecoveryRate, t.Payments, 100*h.RecoveryRate, h.Payments, 100*v.Difference, 100*v.StdErr)
	return v
}

// Guard judges every account's active model against its control group and
// demotes those that do worse with confidence. ctx is offsession's own
// (it spans accounts); each model is judged inside its account.
func (s *Service) Guard(ctx context.Context) error {
	active, err := s.db.RetryModel.Query().Where(retrymodel.StatusEQ(retrymodel.StatusActive)).All(viewer.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("guard retry models: %w", err)
	}
	for _, m := range active {
		actx := viewer.AccountContext(ctx, m.AccountID)
		u, err := s.Uplift(actx, m)
		if err != nil {
			return err
		}
		if v := Judge(u); v.Demote {
			if err := s.demote(actx, m, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// demote stops using an active model: the heuristic plans its account's
// smart retries until another version is activated.
func (s *Service) demote(ctx context.Context, m *ent.RetryModel, v Verdict) error {
	now := s.clock.Now().UTC()
	err := storage.WithTx(ctx, s.db, func(tx *ent.Tx) error {
		n, err := tx.RetryModel.Update().
			Where(retrymodel.ID(m.ID), retrymodel.StatusEQ(retrymodel.StatusActive)).
			SetStatus(retrymodel.StatusDemoted).
			SetDemotedAt(now).
			SetDemotionReason(v.Reason).
			Save(ctx)
		if err != nil || n == 0 {
			return err // n == 0: another replica, or an activation, got there first
		}
		return events.Emit(ctx, tx, events.Event{
			AccountID: m.AccountID, Type: events.ModelDemoted, ObjectID: m.ID, ObjectType: "retry_model", Version: int64(m.Version),
			Data: map[string]any{"id": m.ID, "object": "retry_model", "version": versionName(m.Version), "status": retrymodel.StatusDemoted,
				"reason": v.Reason, "difference": v.Difference, "std_err": v.StdErr,
				"treatment_payments": v.Uplift.Treatment.Payments, "holdout_payments": v.Uplift.Holdout.Payments},
		})
	})
	if err != nil {
		return fmt.Errorf("demote model %s: %w", versionName(m.Version), err)
	}
	s.log.WarnContext(ctx, "retry model demoted: the heuristic plans again", "account", m.AccountID, "version", versionName(m.Version), "reason", v.Reason)
	s.forget(m.AccountID)
	return nil
}

// forget drops the cached active model of an account.
func (s *Service) forget(accountID string) {
	s.mu.Lock()
	delete(s.cache, accountID)
	s.mu.Unlock()
}

// Retrain trains a new version for every account whose history has enough
// retries, and activates it only when it passes the activation gate and
// predicts the held-out retries (the newest share, which neither saw in
// training if the active version is older) with a lower log loss than
// the active version does on the same rows; otherwise the new version
// stays a candidate and the active one keeps planning. It is the
// scheduler's retrain job; ctx is offsession's own.
func (s *Service) Retrain(ctx context.Context) error {
	accounts, err := s.db.Account.Query().IDs(viewer.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("retrain: %w", err)
	}
	for _, id := range accounts {
		admin := viewer.NewContext(ctx, viewer.Viewer{AccountID: id, Role: viewer.RoleAdmin})
		if err := s.retrainAccount(admin); err != nil {
			s.log.ErrorContext(ctx, "retraining the retry model failed", "account", id, "err", err)
		}
	}
	return nil
}

func (s *Service) retrainAccount(ctx context.Context) error {
	examples, err := s.Dataset(ctx, nil)
	if err != nil {
		return err
	}
	in := TrainInput{}
	if _, ok := splitAt(len(examples), in); !ok {
		return nil // not enough history yet: nothing to train
	}
	m, err := s.create(ctx, in)
	if err != nil {
		return err
	}
	trained, held, err := s.trainOn(ctx, m, in, examples, func(string, float64) {})
	if err != nil {
		_ = s.db.RetryModel.UpdateOne(m).SetStatus(retrymodel.StatusFailed).SetError(err.Error()).Exec(ctx)
		return err
	}
	if activationRefusal(trained.Version, trained.Metrics) != "" {
		s.log.InfoContext(ctx, "retrained retry model kept as a candidate: it fails the activation gate", "version", versionName(trained.Version))
		return nil
	}
	fresh := trained.Metrics.LogLoss
	if active, err := s.Active(ctx, trained.AccountID); err != nil {
		return err
	} else if active != nil {
		if old := scoring.Evaluate(active.Model, held.rows).LogLoss; old <= fresh {
			s.log.InfoContext(ctx, "retrained retry model kept as a candidate: the active one predicts the newest retries as well",
				"version", versionName(trained.Version), "active", active.Version, "log_loss", fresh, "active_log_loss", old)
			return nil
		}
	}
	_, err = s.Activate(ctx, trained.Version)
	return err
}
