// Package customers keeps an account's customers, their saved payment
// methods and the mandates they gave: what a merchant must hold before it
// may charge a customer off session. Changes that reach payments (a revoked
// mandate fails the payments waiting on it; new card data retries those
// that waited for it) go through Lifecycle, in the same transaction.
package customers

import (
	"context"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/testclocks"
	"github.com/offsession/offsession/validate"
)

// Lifecycle is what a change to a customer's means of payment does to
// the payments on it, in the caller's transaction: the payments service.
type Lifecycle interface {
	// FailOnRevokedMandate fails the payments on mandate id that await an
	// attempt: no attempt is made on a revoked mandate.
	FailOnRevokedMandate(ctx context.Context, tx *ent.Tx, mandateID string) error
	// RetryWaitingFor retries at once the payments that waited for payment
	// method id's card data to be updated.
	RetryWaitingFor(ctx context.Context, tx *ent.Tx, paymentMethodID string) error
}

// Service creates customers, saves their payment methods and records
// their mandates.
type Service struct {
	db         *ent.Client
	keys       *idempotency.Keys
	clock      clockwork.Clock
	processors *processors.Registry
	payments   Lifecycle
}

// New returns the customers of db. registry reads cards saved through a
// processor's own flows (importPaymentMethod).
func New(db *ent.Client, keys *idempotency.Keys, clock clockwork.Clock, registry *processors.Registry, payments Lifecycle) *Service {
	return &Service{db: db, keys: keys, clock: clock, processors: registry, payments: payments}
}

func (s *Service) nowOn(ctx context.Context, db *ent.Client, clockID *string) (time.Time, error) {
	return testclocks.Now(ctx, db, s.clock, clockID)
}

// CreateCustomerInput is the input of createCustomer.
type CreateCustomerInput struct {
	IdempotencyKey *string              `json:"-"`
	ExternalRef    *string              `json:"externalRef,omitempty"`
	Email          *string              `json:"email,omitempty"`
	Name           *string              `json:"name,omitempty"`
	Country        *string              `json:"country,omitempty"`
	TimeZone       *string              `json:"timeZone,omitempty"`
	Metadata       schematype.StringMap `json:"metadata,omitempty"`
	TestClockID    *string              `json:"testClockID,omitempty"`
}

// CreateCustomer creates a customer.
func (s *Service) CreateCustomer(ctx context.Context, in CreateCustomerInput) (*ent.Customer, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	return idempotency.Create(ctx, s.keys, "createCustomer", in.IdempotencyKey, in, func(tx *ent.Tx) (*ent.Customer, string, error) {
		if in.TestClockID != nil {
			if _, err := tx.TestClock.Get(ctx, *in.TestClockID); ent.IsNotFound(err) {
				return nil, "", apierror.NotFoundID("input.testClockID", *in.TestClockID)
			} else if err != nil {
				return nil, "", err
			}
		}
		c := tx.Customer.Create().
			SetNillableExternalRef(in.ExternalRef).
			SetNillableEmail(in.Email).
			SetNillableName(in.Name).
			SetNillableTestClockID(in.TestClockID).
			SetMetadata(in.Metadata)
		if in.Country != nil {
			c.SetCountry(*in.Country)
		}
		if in.TimeZone != nil {
			c.SetTimeZone(*in.TimeZone)
		}
		cus, err := c.Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return cus, cus.ID, nil
	}, s.db.Customer.Get)
}

func (in *CreateCustomerInput) validate() error {
	if err := validate.OptionalText("input.externalRef", in.ExternalRef, 256); err != nil {
		return err
	}
	if err := validate.OptionalText("input.name", in.Name, 256); err != nil {
		return err
	}
	if in.Email != nil {
		if err := validate.Email("input.email", *in.Email); err != nil {
			return err
		}
	}
	if in.Country != nil {
		c, err := validate.Country("input.country", *in.Country)
		if err != nil {
			return err
		}
		in.Country = &c
	}
	if in.TimeZone != nil {
		tz := strings.TrimSpace(*in.TimeZone)
		if err := validate.TimeZone("input.timeZone", tz); err != nil {
			return err
		}
		in.TimeZone = &tz
	}
	if in.TestClockID != nil {
		if err := validate.ID("input.testClockID", *in.TestClockID, "clk"); err != nil {
			return err
		}
	}
	return validate.Metadata("input.metadata", in.Metadata)
}
