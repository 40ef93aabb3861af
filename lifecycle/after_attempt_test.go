package lifecycle

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
)

// TestAfterAttemptFollowsTheLifecycle: what each class of outcome does to
// a payment, decided without the store: approvals spend the mandate and
// succeed (or await capture); a hard decline invalidates the card and moves
// to a backup or fails; out-of-date card data marks the card expired, takes
// fresh data from the processor while the window is open, and otherwise
// waits for an update or fails; a soft decline or technical failure is the
// retry engine's to plan.
func TestAfterAttemptFollowsTheLifecycle(t *testing.T) {
	t.Parallel()
	classify := func(out connector.Outcome) retry.Classification { return retry.Classify(out) }
	approved := classify(connector.Outcome{Result: connector.Approved})
	hard := classify(connector.Outcome{Result: connector.Declined, DeclineCode: "stolen_card"})
	expired := classify(connector.Outcome{Result: connector.Declined, DeclineCode: "expired_card"})
	soft := classify(connector.Outcome{Result: connector.Declined, DeclineCode: "insufficient_funds"})
	technical := classify(connector.Outcome{Result: connector.TechnicalError})
	require.Equal(t, retry.Hard, hard.Class)
	require.Equal(t, retry.NeedsNewCardData, expired.Class)

	for _, tt := range []struct {
		name string
		give Attempt
		want Step
	}{
		{"approved", Attempt{Outcome: approved, WindowOpen: true},
			Step{SpendMandate: true, To: offsessionpayment.StatusSucceeded}},
		{"approved, manual capture", Attempt{Outcome: approved, ManualCapture: true},
			Step{SpendMandate: true, To: offsessionpayment.StatusRequiresCapture}},
		{"hard decline", Attempt{Outcome: hard, WindowOpen: true, FreshCard: true},
			Step{Card: paymentmethod.StatusInvalid, Backup: "a hard decline (" + hard.Rule + ")",
				To: offsessionpayment.StatusFailed, Failure: offsessionpayment.FailureReasonNoValidPaymentMethod}},
		{"out-of-date card, fresh data, window open", Attempt{Outcome: expired, WindowOpen: true, FreshCard: true},
			Step{TryFreshCard: true, Card: paymentmethod.StatusExpired, Backup: "the card data is out of date (" + expired.Rule + ")",
				To: offsessionpayment.StatusPendingRetry, AwaitCard: true}},
		{"out-of-date card, window open", Attempt{Outcome: expired, WindowOpen: true},
			Step{Card: paymentmethod.StatusExpired, Backup: "the card data is out of date (" + expired.Rule + ")",
				To: offsessionpayment.StatusPendingRetry, AwaitCard: true}},
		{"out-of-date card, window closed", Attempt{Outcome: expired, FreshCard: true},
			Step{Card: paymentmethod.StatusExpired, Backup: "the card data is out of date (" + expired.Rule + ")",
				To: offsessionpayment.StatusFailed, Failure: offsessionpayment.FailureReasonNoValidPaymentMethod}},
		{"soft decline", Attempt{Outcome: soft, WindowOpen: true}, Step{PlanRetry: true}},
		{"technical failure", Attempt{Outcome: technical}, Step{PlanRetry: true}},
	} {
		require.Equal(t, tt.want, AfterAttempt(tt.give), tt.name)
		if tt.want.To != "" {
			_, err := Transition(offsessionpayment.StatusProcessing, tt.want.To)
			require.NoError(t, err, "%s: processing → %s is in the lifecycle", tt.name, tt.want.To)
		}
	}
}
