package routing

import "time"

// Decision records why an attempt went to its processor.
type Decision struct {
	RouteID    string      `json:"route_id,omitempty"`
	Strategy   string      `json:"strategy"`
	Reason     string      `json:"reason"`
	Candidates []Candidate `json:"candidates,omitempty"`
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

// Candidate is one processor the router considered.
type Candidate struct {
	ProcessorID string  `json:"processor_id"`
	Eligible    bool    `json:"eligible"`
	Score       float64 `json:"score"`
	Reason      string  `json:"reason,omitempty"`
	// Propensity is the probability the router had of choosing it first.
	Propensity float64 `json:"propensity,omitempty"`
}

// FailOver returns d with the attempt moved from processor from to
// processor to at at, after a technical failure (why).
func (d Decision) FailOver(from, to, why string, at time.Time) Decision {
	d.Failovers = append(d.Failovers, Failover{ProcessorID: from, At: at, Reason: "technical failure: " + why})
	d.Reason += "; failed over from " + from + " to " + to
	return d
}
