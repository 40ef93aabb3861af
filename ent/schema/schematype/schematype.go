// Package schematype holds the Go types stored as JSON columns by the ent
// schema and exposed as GraphQL object types.
package schematype

import (
	"encoding/json"
	"io"
	"time"

	"github.com/offsession/offsession/apierror"
)

// ProcessorToken is one processor's handle on a payment method: the token
// that processor charges, and the network transaction ID of the
// customer-initiated payment that set the credential up. The token is
// write-only: it is never returned by the API.
type ProcessorToken struct {
	ProcessorID          string `json:"processor_id"`
	Token                string `json:"token"`
	NetworkTransactionID string `json:"network_transaction_id,omitempty"`
}

// BackupPaymentMethod is a payment method a payment moves to, under its
// own mandate, when the one before it cannot be charged.
type BackupPaymentMethod struct {
	PaymentMethodID string `json:"payment_method_id"`
	MandateID       string `json:"mandate_id"`
}

// RoutingDecision records why an attempt went to its processor.
type RoutingDecision struct {
	RouteID    string             `json:"route_id,omitempty"`
	Strategy   string             `json:"strategy"`
	Reason     string             `json:"reason"`
	Candidates []RoutingCandidate `json:"candidates,omitempty"`
	// Failovers are the processors that failed technically before the
	// attempt reached the one that answered.
	Failovers []Failover `json:"failovers,omitempty"`
}

// Failover is a processor an attempt left after a technical failure.
type Failover struct {
	ProcessorID string    `json:"processor_id"`
	At          time.Time `json:"at"`
	Reason      string    `json:"reason"`
}

// RoutingCandidate is one processor the router considered.
type RoutingCandidate struct {
	ProcessorID string  `json:"processor_id"`
	Eligible    bool    `json:"eligible"`
	Score       float64 `json:"score"`
	Reason      string  `json:"reason,omitempty"`
	// Propensity is the probability the router had of choosing it first.
	Propensity float64 `json:"propensity,omitempty"`
}

// SchedulingDecision records why an attempt was scheduled when it was.
type SchedulingDecision struct {
	Strategy     string                 `json:"strategy"`
	Reason       string                 `json:"reason"`
	ModelVersion string                 `json:"model_version,omitempty"`
	Score        *float64               `json:"score,omitempty"`
	Explored     bool                   `json:"explored,omitempty"`
	Propensity   *float64               `json:"propensity,omitempty"`
	Alternatives []ScheduledAlternative `json:"alternatives,omitempty"`
}

// ScheduledAlternative is a candidate time the planner did not pick.
type ScheduledAlternative struct {
	At    time.Time `json:"at"`
	Score float64   `json:"score"`
}

// DeliveryAttempt is one try at delivering an event to a webhook endpoint.
type DeliveryAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// StringMap is a map of string keys to string values: metadata on objects,
// settings on processors. It is the GraphQL scalar StringMap, a JSON object
// whose values are all strings.
type StringMap map[string]string

// MarshalGQL writes the map as a JSON object.
func (m StringMap) MarshalGQL(w io.Writer) {
	if m == nil {
		m = StringMap{}
	}
	b, err := json.Marshal(map[string]string(m))
	if err != nil {
		// A map of strings always marshals; keep the writer valid anyway.
		b = []byte("{}")
	}
	_, _ = w.Write(b)
}

// UnmarshalGQL reads a JSON object of strings.
func (m *StringMap) UnmarshalGQL(v any) error {
	obj, ok := v.(map[string]any)
	if !ok {
		return apierror.Invalid("", "want an object of string values")
	}
	out := make(StringMap, len(obj))
	for k, val := range obj {
		s, ok := val.(string)
		if !ok {
			return apierror.Invalid("", "the value of %q must be a string", k)
		}
		out[k] = s
	}
	*m = out
	return nil
}

// RouteConditions select the payments a route takes. Every condition that
// is set must hold; an empty list or nil bound matches anything.
type RouteConditions struct {
	Currencies       []string  `json:"currencies,omitempty"`
	Brands           []string  `json:"brands,omitempty"`
	Fundings         []string  `json:"fundings,omitempty"`
	IssuingCountries []string  `json:"issuing_countries,omitempty"`
	AmountMin        *int64    `json:"amount_min,omitempty"`
	AmountMax        *int64    `json:"amount_max,omitempty"`
	Cadences         []string  `json:"cadences,omitempty"`
	Metadata         StringMap `json:"metadata,omitempty"`
}

// RouteProcessor is one processor of a route.
type RouteProcessor struct {
	ProcessorID string `json:"processor_id"`
	// Weight is the processor's share with volume_split.
	Weight int `json:"weight,omitempty"`
}

// ModelMetrics are how well a retry model's probabilities fit held-out
// outcomes, and what it would recover.
type ModelMetrics struct {
	Rows int `json:"rows"`
	// Positives is the share of approvals.
	Positives float64 `json:"positives"`
	// AUC is the chance a random approval scores above a random decline.
	AUC float64 `json:"auc"`
	// AUCLower is the lower end of the AUC's 95% interval: above 0.5, the
	// model ranks held-out retries better than chance with confidence.
	AUCLower float64 `json:"auc_lower"`
	// Brier is the mean squared error of the probabilities.
	Brier float64 `json:"brier"`
	// LogLoss is the mean negative log likelihood (probabilities clipped
	// to [1e-6, 1-1e-6]).
	LogLoss float64 `json:"log_loss"`
	// Calibration compares predicted and observed approval by bucket of
	// predicted probability.
	Calibration []CalibrationBucket `json:"calibration"`
	// Backtest estimates recovery on held-back failed payments.
	Backtest *Backtest `json:"backtest,omitempty"`
	// OffPolicy estimates, from the logged propensities, the approval of
	// the first retries the model would plan, against the heuristic's.
	OffPolicy *OffPolicy `json:"off_policy,omitempty"`
}

// OffPolicy is an off-policy estimate, on held-out first retries, of the
// approval rate of the retries a policy would plan: self-normalised
// inverse propensity weighting, where a logged retry counts for the
// policy when it fell within Kernel of the time the policy picks, weighted
// by the policy's chance of that hour over the logging decision's
// recorded propensity. Intervals are 95%.
type OffPolicy struct {
	Decisions int    `json:"decisions"`
	Kernel    string `json:"kernel"`
	// Logged is the approval rate of the logged first retries.
	Logged float64 `json:"logged"`
	// Model and Heuristic are the estimates for the model's plans and the
	// heuristic's.
	Model     Estimate `json:"model"`
	Heuristic Estimate `json:"heuristic"`
}

// Estimate is one policy's off-policy estimate.
type Estimate struct {
	// Matched counts the logged retries that count for the policy, and
	// EffectiveRows what their weights are worth in unweighted rows.
	Matched       int     `json:"matched"`
	EffectiveRows float64 `json:"effective_rows"`
	Value         float64 `json:"value"`
	Lower         float64 `json:"lower"`
	Upper         float64 `json:"upper"`
}

// CalibrationBucket is one range of predicted probability.
type CalibrationBucket struct {
	Lower     float64 `json:"lower"`
	Upper     float64 `json:"upper"`
	Rows      int     `json:"rows"`
	Predicted float64 `json:"predicted"`
	Observed  float64 `json:"observed"`
}

// Backtest compares, on held-back failed payments, the recovery the model
// expects from its own plan with what it expects from the scheduled
// strategy's. Both are the model's estimates, not observed outcomes.
type Backtest struct {
	Payments          int     `json:"payments"`
	SmartRecovery     float64 `json:"smart_recovery"`
	ScheduledRecovery float64 `json:"scheduled_recovery"`
	Schedule          string  `json:"schedule"`
}
