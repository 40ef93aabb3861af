// Package lifecycle is the off-session payment's state machine, pure: the
// moves a payment may make between statuses, each with the event that
// records it (Transition), and what the end of an attempt does to its
// payment (AfterAttempt). The payments service loads, asks, and applies:
// its one status writer (payments/lifecycle.go) checks every move here.
package lifecycle

import (
	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/events"
)

// Status is an off-session payment's status.
type Status = offsessionpayment.Status

// FailureReason says why a payment failed.
type FailureReason = offsessionpayment.FailureReason

// The lifecycle of DESIGN.md:
//
//	pending ──▶ processing ──▶ succeeded
//	   │            │  └──────▶ requires_capture ──▶ succeeded | canceled
//	   │            ├─▶ pending_retry ──▶ processing ...
//	   │            │        └─▶ paused ──▶ pending_retry (resume)
//	   │            ├─▶ failed
//	   │            └─▶ requires_review ──▶ succeeded | requires_capture | pending_retry | failed
//	   └─▶ canceled        (pending_retry and paused can be canceled too)
//
// requires_review is added to it: an attempt whose outcome stayed unknown
// after the bounded repeats waits there, out of the scheduler's reach,
// until an operator resolves it (resolveUnknownAttempt); it then moves on
// as processing would have with that outcome.
//
// A payment with backup payment methods moves to the next one from
// processing (with the attempt's failure), and from pending or
// pending_retry (to pending_retry, due at once) when its payment method or
// mandate can no longer be charged by the time the attempt comes due.
//
// Three edges are added to it: pending, pending_retry and paused can go to
// failed without a new attempt, when the mandate is revoked or no longer
// covers the charge, when the payment method is invalid, or when the retry
// window has passed. requires_capture goes to failed when the authorization
// expires. Each edge names the event that records it.
var transitions = map[Status]map[Status]string{
	offsessionpayment.StatusPending: {
		offsessionpayment.StatusProcessing:   events.PaymentAttemptStarted,
		offsessionpayment.StatusPendingRetry: events.PaymentMethodSwitched,
		offsessionpayment.StatusCanceled:     events.PaymentCanceled,
		offsessionpayment.StatusFailed:       events.PaymentFailed,
	},
	offsessionpayment.StatusProcessing: {
		offsessionpayment.StatusSucceeded:       events.PaymentSucceeded,
		offsessionpayment.StatusRequiresCapture: events.PaymentRequiresCapture,
		offsessionpayment.StatusPendingRetry:    events.PaymentAttemptFailed,
		offsessionpayment.StatusFailed:          events.PaymentFailed,
		offsessionpayment.StatusRequiresReview:  events.PaymentRequiresReview,
	},
	offsessionpayment.StatusRequiresReview: {
		offsessionpayment.StatusSucceeded:       events.PaymentSucceeded,
		offsessionpayment.StatusRequiresCapture: events.PaymentRequiresCapture,
		offsessionpayment.StatusPendingRetry:    events.PaymentAttemptFailed,
		offsessionpayment.StatusFailed:          events.PaymentFailed,
	},
	offsessionpayment.StatusPendingRetry: {
		offsessionpayment.StatusPendingRetry: events.PaymentMethodSwitched,
		offsessionpayment.StatusProcessing:   events.PaymentAttemptStarted,
		offsessionpayment.StatusPaused:       events.PaymentPaused,
		offsessionpayment.StatusCanceled:     events.PaymentCanceled,
		offsessionpayment.StatusFailed:       events.PaymentFailed,
	},
	offsessionpayment.StatusPaused: {
		offsessionpayment.StatusPendingRetry: events.PaymentResumed,
		offsessionpayment.StatusCanceled:     events.PaymentCanceled,
		offsessionpayment.StatusFailed:       events.PaymentFailed,
	},
	offsessionpayment.StatusRequiresCapture: {
		offsessionpayment.StatusSucceeded: events.PaymentSucceeded,
		offsessionpayment.StatusCanceled:  events.PaymentCanceled,
		offsessionpayment.StatusFailed:    events.PaymentFailed,
	},
}

// Transition reports whether a payment may move from one status to another,
// and returns the type of the event that records the move. Every status
// change of a payment goes through it; any other move is an error.
func Transition(from, to Status) (string, error) {
	if ev, ok := transitions[from][to]; ok {
		return ev, nil
	}
	if from == offsessionpayment.StatusRequiresReview {
		return "", apierror.Conflictf("id", "requires_review",
			"the outcome of the payment's last attempt is unknown; resolve it first (resolveUnknownAttempt)")
	}
	return "", apierror.Conflictf("id", "invalid_state_transition", "a payment that is %s cannot become %s", from, to)
}

// Statuses are every payment status, for the gauge of payments by status.
var Statuses = []string{
	string(offsessionpayment.StatusPending), string(offsessionpayment.StatusProcessing),
	string(offsessionpayment.StatusRequiresReview), string(offsessionpayment.StatusPendingRetry),
	string(offsessionpayment.StatusRequiresCapture), string(offsessionpayment.StatusPaused),
	string(offsessionpayment.StatusSucceeded), string(offsessionpayment.StatusFailed),
	string(offsessionpayment.StatusCanceled),
}
