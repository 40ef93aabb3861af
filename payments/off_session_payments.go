package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/retry/policies"
	"github.com/offsession/offsession/tracing"
	"github.com/offsession/offsession/validate"
)

// CreateOffSessionPaymentInput is the input of createOffSessionPayment.
type CreateOffSessionPaymentInput struct {
	IdempotencyKey            *string                          `json:"-"`
	CustomerID                string                           `json:"customerID"`
	PaymentMethodID           string                           `json:"paymentMethodID"`
	MandateID                 string                           `json:"mandateID"`
	Amount                    int64                            `json:"amount"`
	Currency                  string                           `json:"currency"`
	Cadence                   offsessionpayment.Cadence        `json:"cadence"`
	CaptureMethod             *offsessionpayment.CaptureMethod `json:"captureMethod,omitempty"`
	TargetDate                *string                          `json:"targetDate,omitempty"`
	Description               *string                          `json:"description,omitempty"`
	StatementDescriptorSuffix *string                          `json:"statementDescriptorSuffix,omitempty"`
	Metadata                  schematype.StringMap             `json:"metadata,omitempty"`
	RetryStrategy             *offsessionpayment.RetryStrategy `json:"retryStrategy,omitempty"`
	RetryPolicyID             *string                          `json:"retryPolicyID,omitempty"`
	// BackupPaymentMethods are tried in order, each under its own mandate,
	// when the one before cannot be charged.
	BackupPaymentMethods []schematype.BackupPaymentMethod `json:"backupPaymentMethods,omitempty"`
}

// CreateOffSessionPayment creates a payment and schedules its first attempt.
// It never calls a processor: the scheduler's workers make the attempt, and
// the outcome arrives in the stored payment and its events.
//
// Everything that depends on stored state is checked inside the idempotent
// transaction, after the key is looked up: a replay returns the original
// payment even if, since, the card was charged and its single-use mandate
// used.
func (s *Service) CreateOffSessionPayment(ctx context.Context, in CreateOffSessionPaymentInput) (*ent.OffSessionPayment, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	paymentID := ids.New("osp")
	return idempotency.Create(ctx, s.keys, "createOffSessionPayment", in.IdempotencyKey, in, func(tx *ent.Tx) (*ent.OffSessionPayment, string, error) {
		db := tx.Client()
		cus, err := db.Customer.Get(ctx, in.CustomerID)
		if ent.IsNotFound(err) {
			return nil, "", apierror.NotFoundID("input.customerID", in.CustomerID)
		} else if err != nil {
			return nil, "", err
		}
		charge := customers.Charge{PaymentID: paymentID, CustomerID: cus.ID, Cadence: in.Cadence, Amount: in.Amount, Currency: in.Currency}
		if err := charge.Take(ctx, tx, in.PaymentMethodID, in.MandateID, in.BackupPaymentMethods); err != nil {
			return nil, "", err
		}
		now, err := s.nowOn(ctx, db, cus.TestClockID)
		if err != nil {
			return nil, "", err
		}
		first, plan, err := firstAttempt(in.TargetDate, cus.TimeZone, now)
		if err != nil {
			return nil, "", err
		}
		rs, err := policies.Resolve(ctx, db, policies.Payment{CustomerID: in.CustomerID, PolicyID: in.RetryPolicyID, Strategy: in.RetryStrategy})
		if err != nil {
			return nil, "", err
		}
		create := tx.OffSessionPayment.Create().
			SetID(paymentID).
			SetNillableTraceContext(nonEmpty(tracing.Carrier(ctx))).
			SetCustomerID(cus.ID).
			SetPaymentMethodID(in.PaymentMethodID).
			SetMandateID(in.MandateID).
			SetBackupPaymentMethods(in.BackupPaymentMethods).
			SetAmount(in.Amount).
			SetCurrency(in.Currency).
			SetCadence(in.Cadence).
			SetNillableCaptureMethod(in.CaptureMethod).
			SetNillableTargetDate(in.TargetDate).
			SetNillableDescription(in.Description).
			SetNillableStatementDescriptorSuffix(in.StatementDescriptorSuffix).
			SetMetadata(in.Metadata).
			SetNillableTestClockID(cus.TestClockID).
			SetNextAttemptAt(first).
			SetNextAttemptPlan(plan).
			SetDueAt(first)
		rs.Set(create.Mutation(), first)
		p, err := create.Save(ctx)
		if err != nil {
			return nil, "", err
		}
		return p, p.ID, events.Emit(ctx, tx, events.Payment(p, events.PaymentCreated, nil))
	}, s.db.OffSessionPayment.Get)
}

func (in *CreateOffSessionPaymentInput) validate() error {
	if err := validate.ID("input.customerID", in.CustomerID, "cus"); err != nil {
		return err
	}
	if err := validate.ID("input.paymentMethodID", in.PaymentMethodID, "pm"); err != nil {
		return err
	}
	if err := validate.ID("input.mandateID", in.MandateID, "mdt"); err != nil {
		return err
	}
	if err := customers.ValidateBackups(in.PaymentMethodID, in.BackupPaymentMethods); err != nil {
		return err
	}
	cur, err := validate.Amount("input.amount", in.Amount, "input.currency", in.Currency)
	if err != nil {
		return err
	}
	in.Currency = cur
	if in.TargetDate != nil {
		if _, err := validate.Date("input.targetDate", *in.TargetDate); err != nil {
			return err
		}
	}
	if err := validate.OptionalText("input.description", in.Description, validate.MaxTextLen); err != nil {
		return err
	}
	if in.StatementDescriptorSuffix != nil {
		if err := validate.StatementDescriptorSuffix("input.statementDescriptorSuffix", *in.StatementDescriptorSuffix); err != nil {
			return err
		}
	}
	return validate.Metadata("input.metadata", in.Metadata)
}

// firstAttempt returns when the first attempt is due: now, or the start of
// the target date in the customer's time zone.
func firstAttempt(targetDate *string, zone string, now time.Time) (time.Time, retry.SchedulingDecision, error) {
	if targetDate == nil {
		return now, retry.SchedulingDecision{Strategy: "initial", Reason: "first attempt, due when the payment was created"}, nil
	}
	start, err := validate.TargetDate("input.targetDate", *targetDate, zone, now)
	if err != nil {
		return time.Time{}, retry.SchedulingDecision{}, err
	}
	return start, retry.SchedulingDecision{
		Strategy: "initial",
		Reason:   fmt.Sprintf("first attempt on the target date %s in %s", *targetDate, zone),
	}, nil
}

// getPayment reads a payment of the caller's account.
func (s *Service) getPayment(ctx context.Context, db *ent.Client, id string) (*ent.OffSessionPayment, error) {
	if err := validate.ID("id", id, "osp"); err != nil {
		return nil, err
	}
	p, err := db.OffSessionPayment.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apierror.NotFoundID("id", id)
	}
	return p, err
}

// PauseOffSessionPayment stops a payment's retries until it is resumed.
func (s *Service) PauseOffSessionPayment(ctx context.Context, id string) (*ent.OffSessionPayment, error) {
	p, err := s.getPayment(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	return s.transitionNow(ctx, p, change{to: offsessionpayment.StatusPaused})
}

// ResumeOffSessionPayment resumes a paused payment's retries. A retry that
// fell due while the payment was paused is made at once; the retry window
// is not extended.
func (s *Service) ResumeOffSessionPayment(ctx context.Context, id string) (*ent.OffSessionPayment, error) {
	p, err := s.getPayment(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	now, err := s.nowOn(ctx, s.db, p.TestClockID)
	if err != nil {
		return nil, err
	}
	plan := p.NextAttemptPlan
	plan.Reason = "resumed: " + plan.Reason
	if p.NextAttemptAt == nil && p.RetryUntil != nil {
		// It was waiting for new card data: it still is.
		until := p.RetryUntil.UTC()
		return s.transitionNow(ctx, p, change{to: offsessionpayment.StatusPendingRetry, dueAt: &until, plan: &plan})
	}
	next := now
	if p.NextAttemptAt != nil && p.NextAttemptAt.After(now) {
		next = p.NextAttemptAt.UTC()
	}
	return s.transitionNow(ctx, p, change{to: offsessionpayment.StatusPendingRetry, nextAttemptAt: &next, plan: &plan})
}

// transitionNow applies one transition to p in its own transaction, at the
// time on p's clock.
func (s *Service) transitionNow(ctx context.Context, p *ent.OffSessionPayment, c change) (*ent.OffSessionPayment, error) {
	var out *ent.OffSessionPayment
	err := s.tx(ctx, func(tx *ent.Tx) error {
		at, err := s.nowOn(ctx, tx.Client(), p.TestClockID)
		if err != nil {
			return err
		}
		c.at = at
		out, err = s.apply(ctx, tx, p, c)
		return err
	})
	return out, err
}
