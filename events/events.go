// Package events owns the outbox: the types of the events offsession
// emits, and the one function that writes an event, with a webhook
// delivery for each endpoint subscribed to it, in the caller's
// transaction. An event is written with the change it records, or not at
// all, and every event can be subscribed to.
package events

import (
	"context"
	"fmt"
	"slices"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/webhooks"
)

// The event types.
const (
	PaymentCreated         = "off_session_payment.created"
	PaymentAttemptStarted  = "off_session_payment.attempt_started"
	PaymentAttemptFailed   = "off_session_payment.attempt_failed"
	PaymentRequiresCapture = "off_session_payment.requires_capture"
	PaymentSucceeded       = "off_session_payment.succeeded"
	PaymentFailed          = "off_session_payment.failed"
	PaymentCanceled        = "off_session_payment.canceled"
	PaymentPaused          = "off_session_payment.paused"
	PaymentResumed         = "off_session_payment.resumed"
	// PaymentRequiresReview: the outcome of an attempt stayed unknown
	// after the bounded repeats and look-ups; an operator resolves it
	// (resolveUnknownAttempt).
	PaymentRequiresReview = "off_session_payment.requires_review"
	// PaymentMethodSwitched: the payment's card could not be charged (a
	// hard decline, out-of-date data) and it moved to its next backup.
	PaymentMethodSwitched = "off_session_payment.payment_method_switched"
	MandateRevoked        = "mandate.revoked"
	// PaymentMethodUpdated: the processor's account updater gave a
	// declined card new data (expiry, number), now saved.
	PaymentMethodUpdated = "payment_method.updated"
	// ModelActivated: a retry model version became the account's active
	// one (activateRetryModel, or the retrain job).
	ModelActivated = "retry_model.activated"
	// ModelDemoted: the guard stopped using a version that did worse than
	// its control group; the heuristic plans again.
	ModelDemoted = "retry_model.demoted"
)

// Types lists every event type offsession emits: webhook endpoints may
// subscribe to each.
var Types = []string{
	PaymentCreated, PaymentAttemptStarted, PaymentAttemptFailed, PaymentRequiresCapture,
	PaymentSucceeded, PaymentFailed, PaymentCanceled, PaymentPaused, PaymentResumed,
	PaymentRequiresReview, PaymentMethodSwitched, MandateRevoked, PaymentMethodUpdated,
	ModelActivated, ModelDemoted,
}

// Event is one event to write: what happened (Type) to which object, at
// which version of it, and the object as it then was (Data).
type Event struct {
	AccountID  string
	Type       string
	ObjectID   string
	ObjectType string
	Version    int64
	Data       map[string]any
}

// Emit writes e and its webhook deliveries in tx: the only writer of
// events.
func Emit(ctx context.Context, tx *ent.Tx, e Event) error {
	if !slices.Contains(Types, e.Type) {
		return fmt.Errorf("event type %q is not registered in events.Types", e.Type)
	}
	ev, err := tx.Event.Create().
		SetAccountID(e.AccountID).
		SetType(e.Type).
		SetObjectID(e.ObjectID).
		SetObjectType(e.ObjectType).
		SetObjectVersion(e.Version).
		SetData(e.Data).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("write event %s for %s: %w", e.Type, e.ObjectID, err)
	}
	return webhooks.Enqueue(ctx, tx, ev)
}
