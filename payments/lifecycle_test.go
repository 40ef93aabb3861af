package payments

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent/offsessionpayment"
)

// TestTransitionAllowsOnlyTheLifecycle checks every pair of statuses: the
// lifecycle's edges give their event, every other move is a CONFLICT.
func TestTransitionAllowsOnlyTheLifecycle(t *testing.T) {
	t.Parallel()
	type edge struct{ from, to Status }
	want := map[edge]string{
		{offsessionpayment.StatusPending, offsessionpayment.StatusProcessing}:             EventAttemptStarted,
		{offsessionpayment.StatusPending, offsessionpayment.StatusCanceled}:               EventCanceled,
		{offsessionpayment.StatusPending, offsessionpayment.StatusFailed}:                 EventFailed,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusSucceeded}:           EventSucceeded,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusRequiresCapture}:     EventRequiresCapture,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusPendingRetry}:        EventAttemptFailed,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusFailed}:              EventFailed,
		{offsessionpayment.StatusProcessing, offsessionpayment.StatusRequiresReview}:      EventRequiresReview,
		{offsessionpayment.StatusRequiresReview, offsessionpayment.StatusSucceeded}:       EventSucceeded,
		{offsessionpayment.StatusRequiresReview, offsessionpayment.StatusRequiresCapture}: EventRequiresCapture,
		{offsessionpayment.StatusRequiresReview, offsessionpayment.StatusPendingRetry}:    EventAttemptFailed,
		{offsessionpayment.StatusRequiresReview, offsessionpayment.StatusFailed}:          EventFailed,
		{offsessionpayment.StatusPending, offsessionpayment.StatusPendingRetry}:           EventPaymentMethodSwitched,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusPendingRetry}:      EventPaymentMethodSwitched,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusProcessing}:        EventAttemptStarted,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusPaused}:            EventPaused,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusCanceled}:          EventCanceled,
		{offsessionpayment.StatusPendingRetry, offsessionpayment.StatusFailed}:            EventFailed,
		{offsessionpayment.StatusPaused, offsessionpayment.StatusPendingRetry}:            EventResumed,
		{offsessionpayment.StatusPaused, offsessionpayment.StatusCanceled}:                EventCanceled,
		{offsessionpayment.StatusPaused, offsessionpayment.StatusFailed}:                  EventFailed,
		{offsessionpayment.StatusRequiresCapture, offsessionpayment.StatusSucceeded}:      EventSucceeded,
		{offsessionpayment.StatusRequiresCapture, offsessionpayment.StatusCanceled}:       EventCanceled,
		{offsessionpayment.StatusRequiresCapture, offsessionpayment.StatusFailed}:         EventFailed,
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
