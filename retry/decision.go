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
