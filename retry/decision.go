package retry

import "time"

// SchedulingDecision records why an attempt was scheduled when it was.
type SchedulingDecision struct {
	Strategy     string        `json:"strategy"`
	Reason       string        `json:"reason"`
	ModelVersion string        `json:"model_version,omitempty"`
	Score        *float64      `json:"score,omitempty"`
	Explored     bool          `json:"explored,omitempty"`
	Propensity   *float64      `json:"propensity,omitempty"`
	Alternatives []Alternative `json:"alternatives,omitempty"`
}

// Alternative is a candidate time the planner did not pick.
type Alternative struct {
	At    time.Time `json:"at"`
	Score float64   `json:"score"`
}

// AwaitCardUpdate is the decision of a payment that waits, after why, for
// its card data to be updated: no attempt time.
func AwaitCardUpdate(why string) *SchedulingDecision {
	return &SchedulingDecision{
		Strategy: "await_card_update",
		Reason:   why + "; waiting for the payment method to be updated (savePaymentMethod with replacesPaymentMethodID)",
	}
}
