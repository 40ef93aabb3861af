package routes

import (
	"context"
	"fmt"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/route"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/money"
	"github.com/offsession/offsession/validate"
)

// Service creates, updates and deletes an account's routes.
type Service struct {
	db   *ent.Client
	keys *idempotency.Keys
}

// NewService returns the routes of db.
func NewService(db *ent.Client, keys *idempotency.Keys) *Service {
	return &Service{db: db, keys: keys}
}

// Input is the input of createRoute and, with every field optional,
// of updateRoute.
type Input struct {
	IdempotencyKey   *string                     `json:"-"`
	Name             *string                     `json:"name,omitempty"`
	Priority         *int                        `json:"priority,omitempty"`
	Enabled          *bool                       `json:"enabled,omitempty"`
	Conditions       *schematype.RouteConditions `json:"conditions,omitempty"`
	Strategy         *route.Strategy             `json:"strategy,omitempty"`
	Processors       []schematype.RouteProcessor `json:"processors,omitempty"`
	ExplorationShare *float64                    `json:"explorationShare,omitempty"`
	CostAware        *bool                       `json:"costAware,omitempty"`
}

// Create creates a route.
func (s *Service) Create(ctx context.Context, in Input) (*ent.Route, error) {
	switch {
	case in.Name == nil:
		return nil, apierror.Invalid("input.name", "a route needs a name")
	case in.Priority == nil:
		return nil, apierror.Invalid("input.priority", "a route needs a priority")
	case in.Strategy == nil:
		return nil, apierror.Invalid("input.strategy", "a route needs a strategy")
	case in.Processors == nil:
		return nil, apierror.Invalid("input.processors", "a route needs at least one processor")
	}
	if in.Conditions == nil {
		in.Conditions = &schematype.RouteConditions{}
	}
	return idempotency.Create(ctx, s.keys, "createRoute", in.IdempotencyKey, in, func(tx *ent.Tx) (*ent.Route, string, error) {
		if err := s.checkRoute(ctx, tx.Client(), &in, *in.Strategy); err != nil {
			return nil, "", err
		}
		r, err := tx.Route.Create().
			SetName(*in.Name).
			SetPriority(*in.Priority).
			SetNillableEnabled(in.Enabled).
			SetConditions(*in.Conditions).
			SetStrategy(*in.Strategy).
			SetProcessors(in.Processors).
			SetNillableExplorationShare(in.ExplorationShare).
			SetNillableCostAware(in.CostAware).
			Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return r, r.ID, nil
	}, s.db.Route.Get)
}

// Update changes the fields given.
func (s *Service) Update(ctx context.Context, id string, in Input) (*ent.Route, error) {
	if err := validate.ID("id", id, "rte"); err != nil {
		return nil, err
	}
	r, err := s.db.Route.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apierror.NotFoundID("id", id)
	} else if err != nil {
		return nil, err
	}
	strategy := r.Strategy
	if in.Strategy != nil {
		strategy = *in.Strategy
	}
	if in.Processors == nil && in.Strategy != nil {
		in.Processors = r.Processors // revalidate the weights against the new strategy
	}
	if err := s.checkRoute(ctx, s.db, &in, strategy); err != nil {
		return nil, err
	}
	u := s.db.Route.UpdateOne(r).
		SetNillableName(in.Name).
		SetNillablePriority(in.Priority).
		SetNillableEnabled(in.Enabled).
		SetNillableStrategy(in.Strategy).
		SetNillableExplorationShare(in.ExplorationShare).
		SetNillableCostAware(in.CostAware)
	if in.Conditions != nil {
		u.SetConditions(*in.Conditions)
	}
	if in.Processors != nil {
		u.SetProcessors(in.Processors)
	}
	return u.Save(ctx)
}

// Delete deletes a route and returns its ID.
func (s *Service) Delete(ctx context.Context, id string) (string, error) {
	if err := validate.ID("id", id, "rte"); err != nil {
		return "", err
	}
	err := s.db.Route.DeleteOneID(id).Exec(ctx)
	if ent.IsNotFound(err) {
		return "", apierror.NotFoundID("id", id)
	}
	return id, err
}

// The values a route may condition on are those the stored fields take.
var (
	isBrand   = func(v string) error { return paymentmethod.BrandValidator(paymentmethod.Brand(v)) }
	isFunding = func(v string) error { return paymentmethod.FundingValidator(paymentmethod.Funding(v)) }
	isCadence = func(v string) error { return offsessionpayment.CadenceValidator(offsessionpayment.Cadence(v)) }
)

func (s *Service) checkRoute(ctx context.Context, db *ent.Client, in *Input, strategy route.Strategy) error {
	if in.Processors != nil && len(in.Processors) == 0 {
		return apierror.Invalid("input.processors", "a route needs at least one processor")
	}
	if in.Name != nil {
		if *in.Name == "" {
			return apierror.Invalid("input.name", "must not be empty")
		}
		if err := validate.Text("input.name", *in.Name, 256); err != nil {
			return err
		}
	}
	if err := route.StrategyValidator(strategy); err != nil {
		return apierror.Invalid("input.strategy", "unknown strategy %q", strategy)
	}
	if in.ExplorationShare != nil && (*in.ExplorationShare < 0 || *in.ExplorationShare > 0.5) {
		return apierror.Invalid("input.explorationShare", "must be 0 to 0.5")
	}
	if c := in.Conditions; c != nil {
		for i, cur := range c.Currencies {
			norm, err := money.Normalize(cur)
			if err != nil {
				return apierror.Invalid(fmt.Sprintf("input.conditions.currencies[%d]", i), "%s", err)
			}
			c.Currencies[i] = norm
		}
		for _, list := range []struct {
			field string
			give  []string
			check func(string) error
		}{{"brands", c.Brands, isBrand}, {"fundings", c.Fundings, isFunding}, {"cadences", c.Cadences, isCadence}} {
			for i, v := range list.give {
				if err := list.check(v); err != nil {
					return apierror.Invalid(fmt.Sprintf("input.conditions.%s[%d]", list.field, i), "%q is not a value of %s", v, list.field)
				}
			}
		}
		for i, cc := range c.IssuingCountries {
			norm, err := validate.Country(fmt.Sprintf("input.conditions.issuingCountries[%d]", i), cc)
			if err != nil {
				return err
			}
			c.IssuingCountries[i] = norm
		}
		if c.AmountMin != nil && c.AmountMax != nil && *c.AmountMin > *c.AmountMax {
			return apierror.Invalid("input.conditions.amountMax", "must not be below amountMin")
		}
		if err := validate.Metadata("input.conditions.metadata", c.Metadata); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, rp := range in.Processors {
		field := fmt.Sprintf("input.processors[%d].processorID", i)
		if err := validate.ID(field, rp.ProcessorID, "prc"); err != nil {
			return err
		}
		if seen[rp.ProcessorID] {
			return apierror.Invalid(field, "processor %s is given twice", rp.ProcessorID)
		}
		seen[rp.ProcessorID] = true
		if _, err := db.Processor.Get(ctx, rp.ProcessorID); ent.IsNotFound(err) {
			return apierror.NotFoundID(field, rp.ProcessorID)
		} else if err != nil {
			return err
		}
		if rp.Weight < 0 || (strategy == route.StrategyVolumeSplit && rp.Weight == 0) {
			return apierror.Invalid(fmt.Sprintf("input.processors[%d].weight", i), "volume_split needs a positive weight for each processor")
		}
	}
	return nil
}
