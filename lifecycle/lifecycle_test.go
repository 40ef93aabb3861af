package lifecycle

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/events"
)

// TestTransitionAllowsOnlyTheLifecycle checks every pair of statuses: the
// lifecycle's edges give their event, every other move is a CONFLICT.
func TestTransitionAllowsOnlyTheLifecycle(t *testing.T) {
	t.Parallel()
	type edge struct{ from, to Status }
	want := map[edge]string{
		{offsessionpayment.StatusPending, offsessionpayment.StatusProcessing}:             events.PaymentAttemptStarted,
		{offsessionpayment.StatusPending, offsessionpayment.StatusCanceled}:               events.PaymentCanceled,
		{offsessionpayment.StatusPending, offsessionpayment.StatusFailed}:                 events.PaymentFailed,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusSucceeded}:           events.PaymentSucceeded,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusRequiresCapture}:     events.PaymentRequiresCapture,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusPendingRetry}:        events.PaymentAttemptFailed,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusFailed}:              events.PaymentFailed,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusRequiresReview}:      events.PaymentRequiresReview,
		{offsessionpayment.StatusRequiresReview, offsessionpayment.StatusSucceeded}:       events.PaymentSucceeded,
		{offsessionpayment.StatusRequiresReview, offsessionpayment.StatusRequiresCapture}: events.PaymentRequiresCapture,
		{offsessionpayment.StatusRequiresReview, offsessionpayment.StatusPendingRetry}:    events.PaymentAttemptFailed,
		{offsessionpayment.StatusRequiresReview, offsessionpayment.StatusFailed}:          events.PaymentFailed,
		{offsessionpayment.StatusPending, offsessionpayment.StatusPendingRetry}:           events.PaymentMethodSwitched,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusPendingRetry}:      events.PaymentMethodSwitched,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusProcessing}:        events.PaymentAttemptStarted,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusPaused}:            events.PaymentPaused,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusCanceled}:          events.PaymentCanceled,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusFailed}:            events.PaymentFailed,
		{offsessionpayment.StatusPaused, offsessionpayment.StatusPendingRetry}:            events.PaymentResumed,
		{offsessionpayment.StatusPaused, offsessionpayment.StatusCanceled}:                events.PaymentCanceled,
		{offsessionpayment.StatusPaused, offsessionpayment.StatusFailed}:                  events.PaymentFailed,
		{offsessionpayment.StatusRequiresCapture, offsessionpayment.StatusSucceeded}:      events.PaymentSucceeded,
		{offsessionpayment.StatusRequiresCapture, offsessionpayment.StatusCanceled}:       events.PaymentCanceled,
		{offsessionpayment.StatusRequiresCapture, offsessionpayment.StatusFailed}:         events.PaymentFailed,
	}
	var all []Status
	for _, s := range []string{"pending", "processing", "requires_review", "pending_retry", "requires_capture", "paused", "succeeded", "failed", "canceled", "bogus"} {
		all = append(all, Status(s))
	}
	for _, from := range all {
		for _, to := range all {
			ev, err := Transition(from, to)
			if w, ok := want[edge{from, to}]; ok {
				require.NoError(t, err, "%s → %s", from, to)
				require.Equal(t, w, ev, "%s → %s", from, to)
				continue
			}
			require.ErrorIs(t, err, apierror.ErrConflict, "%s → %s must be refused", from, to)
		}
	}
}
