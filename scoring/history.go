package scoring

import (
	"sort"
	"time"
)

// StoredAttempt is what a retry decision reads of a stored attempt, by its
// columns' names: training (models.Dataset) and planning
// (payments.planRetry) both select these columns into it and build the
// decision's context from it with DecisionContext, so the two read the
// same facts the same way.
type StoredAttempt struct {
	CustomerID  string     `json:"customer_id"`
	PaymentID   string     `json:"payment_id"`
	Number      int        `json:"number"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	Outcome     string     `json:"outcome"`
	Class       *string    `json:"decline_class"`
	DeclineCode *string    `json:"decline_code"`
	Advice      *string    `json:"network_advice_code"`
}

// StoredColumns are the attempt columns StoredAttempt reads.
var StoredColumns = []string{"customer_id", "payment_id", "number", "started_at", "finished_at", "outcome",
	"decline_class", "decline_code", "network_advice_code"}

// Technical is true for a technical failure: the issuer never saw it.
func (a StoredAttempt) Technical() bool { return a.Class != nil && *a.Class == "technical" }

// Record is the attempt as a payment's own attempt.
func (a StoredAttempt) Record() AttemptRecord {
	r := AttemptRecord{Number: a.Number, StartedAt: a.StartedAt, Approved: a.Outcome == "approved", Technical: a.Technical()}
	if a.FinishedAt != nil {
		r.FinishedAt = *a.FinishedAt
	}
	if a.DeclineCode != nil {
		r.DeclineCode = *a.DeclineCode
	}
	r.AdviceWait = a.Advice != nil && *a.Advice != ""
	return r
}

// CustomerHistory is what a decision at t knows of the customer from
// their attempts on any payment (oldest first, none in flight): the
// latest HistoryKept that reached the issuer and started before t, oldest
// first.
func CustomerHistory(customer []StoredAttempt, t time.Time) []Past {
	n := sort.Search(len(customer), func(i int) bool { return !customer[i].StartedAt.Before(t) })
	var out []Past
	for i := n - 1; i >= 0 && len(out) < HistoryKept; i-- {
		if a := customer[i]; !a.Technical() {
			out = append(out, Past{At: a.StartedAt, Approved: a.Outcome == "approved"})
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// DecisionContext is the context of the decision made when the last of
// payment's attempts (oldest first) failed: BuildContext over the
// payment's attempts and the customer's history at the time it finished.
func DecisionContext(p PaymentInfo, payment, customer []StoredAttempt) *Context {
	records := make([]AttemptRecord, len(payment))
	for i, a := range payment {
		records[i] = a.Record()
	}
	return BuildContext(p, records, CustomerHistory(customer, records[len(records)-1].FinishedAt))
}
