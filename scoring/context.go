package scoring

import "time"

// AttemptRecord is one attempt of a payment, as stored.
type AttemptRecord struct {
	Number      int
	StartedAt   time.Time
	FinishedAt  time.Time
	Approved    bool
	Technical   bool
	DeclineCode string
	AdviceWait  bool
}

// PaymentInfo is what the features need of a payment and its card.
type PaymentInfo struct {
	Amount   int64
	Exponent int
	Brand    string
	Funding  string
	Country  string
	Cadence  string
	Location *time.Location
}

// HistoryKept is how many of a customer's latest attempts a decision reads,
// in training and in planning alike.
const HistoryKept = 50

// recentWindow is how far back declines wear an issuer's patience.
const recentWindow = 7 * 24 * time.Hour

// BuildContext is the context of the decision made when attempts[len-1]
// failed: what was known then. It serves training (for each stored retry,
// the context of the decision that scheduled it) and planning (the decision
// being made), so the two cannot differ. attempts are the payment's, oldest
// first, up to the failed one; history is the customer's attempts on any
// payment that started before the decision.
func BuildContext(p PaymentInfo, attempts []AttemptRecord, history []Past) *Context {
	last := attempts[len(attempts)-1]
	decided := last.FinishedAt
	c := &Context{
		DeclineCode:    last.DeclineCode,
		AdviceWait:     last.AdviceWait,
		AttemptNumber:  last.Number + 1,
		FirstFailureAt: attempts[0].FinishedAt,
		LastAttemptAt:  last.StartedAt,
		Amount:         p.Amount,
		Exponent:       p.Exponent,
		Brand:          p.Brand,
		Funding:        p.Funding,
		Country:        p.Country,
		Cadence:        p.Cadence,
		Location:       p.Location,
		History:        history,
	}
	for _, a := range attempts {
		if !a.Approved && !a.Technical && decided.Sub(a.StartedAt) <= recentWindow {
			c.RecentDeclines++
		}
	}
	return c
}
