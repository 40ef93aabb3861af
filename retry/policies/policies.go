// Package policies keeps an account's retry policies: the strategy, window
// and holdout its payments take unless a payment says otherwise.
package policies

import (
	"context"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/validate"
)

// Service creates retry policies.
type Service struct {
	db   *ent.Client
	keys *idempotency.Keys
}

// New returns the retry policies of db.
func New(db *ent.Client, keys *idempotency.Keys) *Service {
	return &Service{db: db, keys: keys}
}

// CreateInput is the input of createRetryPolicy.
type CreateInput struct {
	IdempotencyKey *string              `json:"-"`
	Name           string               `json:"name"`
	Strategy       retrypolicy.Strategy `json:"strategy"`
	Window         *string              `json:"window,omitempty"`
	MaxRetries     *int                 `json:"maxRetries,omitempty"`
	Schedule       []string             `json:"schedule,omitempty"`
	HoldoutShare   *float64             `json:"holdoutShare,omitempty"`
	// HoldoutStrategy is the control group's strategy; default scheduled.
	HoldoutStrategy *retrypolicy.HoldoutStrategy `json:"holdoutStrategy,omitempty"`
	IsDefault       *bool                        `json:"isDefault,omitempty"`
}

// Create creates a retry policy; with isDefault it becomes the
// account's default, in place of any other.
func (s *Service) Create(ctx context.Context, in CreateInput) (*ent.RetryPolicy, error) {
	window, err := in.validate()
	if err != nil {
		return nil, err
	}
	return idempotency.Create(ctx, s.keys, "createRetryPolicy", in.IdempotencyKey, in, func(tx *ent.Tx) (*ent.RetryPolicy, string, error) {
		isDefault := in.IsDefault != nil && *in.IsDefault
		if isDefault {
			if _, err := tx.RetryPolicy.Update().Where(retrypolicy.IsDefault(true)).SetIsDefault(false).Save(ctx); err != nil {
				return nil, "", err
			}
		}
		c := tx.RetryPolicy.Create().
			SetName(in.Name).
			SetStrategy(in.Strategy).
			SetWindow(*in.Window).
			SetWindowSeconds(int64(window / time.Second)).
			SetMaxRetries(*in.MaxRetries).
			SetIsDefault(isDefault)
		if in.HoldoutShare != nil {
			c.SetHoldoutShare(*in.HoldoutShare)
		}
		c.SetNillableHoldoutStrategy(in.HoldoutStrategy)
		if len(in.Schedule) > 0 {
			c.SetSchedule(in.Schedule)
		}
		p, err := c.Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return p, p.ID, nil
	}, s.db.RetryPolicy.Get)
}

func (in *CreateInput) validate() (time.Duration, error) {
	if in.Name == "" {
		return 0, apierror.Invalid("input.name", "must not be empty")
	}
	if err := validate.Text("input.name", in.Name, 256); err != nil {
		return 0, err
	}
	if in.Window == nil {
		w := retry.WindowDefault
		in.Window = &w
	}
	window, err := retry.ParseWindow(*in.Window)
	if err != nil {
		return 0, apierror.Invalid("input.window", "%s", err)
	}
	if in.MaxRetries == nil {
		n := retry.MaxRetriesDefault
		in.MaxRetries = &n
	}
	if *in.MaxRetries < 0 || *in.MaxRetries > retry.MaxRetriesLimit {
		return 0, apierror.Invalid("input.maxRetries", "must be 0 to %d", retry.MaxRetriesLimit)
	}
	if in.HoldoutShare != nil && (*in.HoldoutShare < 0 || *in.HoldoutShare > 0.5) {
		return 0, apierror.Invalid("input.holdoutShare", "must be 0 to 0.5")
	}
	if len(in.Schedule) > 0 && in.Strategy != retrypolicy.StrategyScheduled {
		return 0, apierror.Invalid("input.schedule", "only the scheduled strategy takes a schedule")
	}
	if in.Strategy == retrypolicy.StrategyScheduled {
		if len(in.Schedule) == 0 {
			in.Schedule = retry.ScheduleDefault
		}
		sched, err := retry.ParseSchedule(in.Schedule)
		if err != nil {
			return 0, apierror.Invalid("input.schedule", "%s", err)
		}
		if sched[len(sched)-1] > window {
			return 0, apierror.Invalid("input.schedule", "the last offset, %s, falls after the window, %s", in.Schedule[len(in.Schedule)-1], *in.Window)
		}
		if len(sched) > retry.MaxRetriesLimit {
			return 0, apierror.Invalid("input.schedule", "at most %d offsets", retry.MaxRetriesLimit)
		}
	}
	return window, nil
}
