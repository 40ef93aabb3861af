package lifecycle

import (
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/retry"
)

// Attempt is what AfterAttempt knows of a finished attempt and its
// payment.
type Attempt struct {
	// Outcome is the attempt's outcome, classified.
	Outcome retry.Classification
	// ManualCapture: the payment is authorized now and captured later.
	ManualCapture bool
	// WindowOpen: the payment may still be retried (its strategy retries
	// and its retry window has not closed).
	WindowOpen bool
	// FreshCard: the processor has read the card afresh (its account
	// updater may hold newer data).
	FreshCard bool
}

// Step is what the end of an attempt does to its payment, in order: take
// the processor's fresh card data and retry at once if it is newer; mark
// the payment method; spend a single-use mandate; move to the next backup
// payment method; then, if none of that moved the payment, go To (or, for
// a retryable decline, wherever the retry engine plans).
type Step struct {
	// TryFreshCard: the processor's fresh card data, when newer than the
	// payment method's, is saved and the payment retried at once.
	TryFreshCard bool
	// Card, when set, is what the payment method becomes: invalid after a
	// hard decline, expired when its data is out of date.
	Card paymentmethod.Status
	// SpendMandate: an approval spends a single-use mandate.
	SpendMandate bool
	// Backup, when set, is why the payment moves to its next valid backup
	// payment method, if it has one.
	Backup string
	// To is where the payment goes otherwise; "" when the retry engine
	// plans (PlanRetry).
	To Status
	// Failure is why, when To is failed.
	Failure FailureReason
	// AwaitCard: the payment waits (pending_retry, due when its window
	// closes) for its payment method to be updated.
	AwaitCard bool
	// PlanRetry: the retry engine decides the next attempt, or to stop.
	PlanRetry bool
}

// AfterAttempt decides what the end of an attempt does to its payment:
// DESIGN.md's lifecycle from processing. It reads nothing: the payments
// service loads what it needs and applies the step.
func AfterAttempt(a Attempt) Step {
	switch a.Outcome.Class {
	case retry.Approved:
		if a.ManualCapture {
			return Step{SpendMandate: true, To: offsessionpayment.StatusRequiresCapture}
		}
		return Step{SpendMandate: true, To: offsessionpayment.StatusSucceeded}
	case retry.Hard:
		return Step{Card: paymentmethod.StatusInvalid, Backup: "a hard decline (" + a.Outcome.Rule + ")",
			To: offsessionpayment.StatusFailed, Failure: offsessionpayment.FailureReasonNoValidPaymentMethod}
	case retry.NeedsNewCardData:
		// Retrying the same card data cannot succeed.
		s := Step{TryFreshCard: a.WindowOpen && a.FreshCard, Card: paymentmethod.StatusExpired,
			Backup: "the card data is out of date (" + a.Outcome.Rule + ")"}
		if !a.WindowOpen {
			s.To, s.Failure = offsessionpayment.StatusFailed, offsessionpayment.FailureReasonNoValidPaymentMethod
			return s
		}
		s.To, s.AwaitCard = offsessionpayment.StatusPendingRetry, true
		return s
	}
	return Step{PlanRetry: true}
}
