package retry

import (
	"fmt"
	"sort"
	"time"
)

// BudgetRule is one network rule: at most Max merchant-initiated retries on
// a card within Window.
type BudgetRule struct {
	Window time.Duration
	Max    int
}

// Budgets are the card networks' retry limits per card, counted over every
// payment (DESIGN.md rule 4): Visa at most 20 retries in 30 days;
// Mastercard at most 10 in 24 hours and 35 in 30 days. Networks without an
// entry have no limit here.
var Budgets = map[string][]BudgetRule{
	"visa":       {{Window: 30 * day, Max: 20}},
	"mastercard": {{Window: day, Max: 10}, {Window: 30 * day, Max: 35}},
}

// NextAllowed returns the earliest time at or after at when one more retry
// on a card of network keeps every rule, given the start times of the
// card's earlier retries that count, and a description of the tightest
// rule. A retry counts in (t - Window, t].
func NextAllowed(network string, retries []time.Time, at time.Time) (time.Time, string) {
	rules := Budgets[network]
	if len(rules) == 0 {
		return at, ""
	}
	sorted := append([]time.Time(nil), retries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	note := ""
	for moved := true; moved; {
		moved = false
		for _, r := range rules {
			inWindow := countAfter(sorted, at.Add(-r.Window))
			if inWindow.n < r.Max {
				if note == "" {
					note = fmt.Sprintf("%s budget: %d of %d retries in %s used", network, inWindow.n, r.Max, human(r.Window))
				}
				continue
			}
			// The oldest retries must leave the window first.
			leave := sorted[inWindow.first+inWindow.n-r.Max]
			at = leave.Add(r.Window).Add(time.Second)
			note = fmt.Sprintf("%s budget full (%d retries in %s): moved until one leaves the window", network, r.Max, human(r.Window))
			moved = true
		}
	}
	return at, note
}

type span struct{ first, n int }

// countAfter returns the retries strictly after t: the index of the first
// and how many.
func countAfter(sorted []time.Time, t time.Time) span {
	i := sort.Search(len(sorted), func(i int) bool { return sorted[i].After(t) })
	return span{first: i, n: len(sorted) - i}
}

func human(d time.Duration) string {
	if d%day == 0 {
		if d == day {
			return "24 hours"
		}
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// Use is how much of one rule a card has used at a time.
type Use struct {
	Rule BudgetRule
	// Used counts the retries in the rule's window.
	Used int
	// AvailableAt is when the rule allows one more retry: the time asked
	// about, unless the budget is full then.
	AvailableAt time.Time
}

// Uses returns, for each rule of network, how much of it a card has used
// at now, given the start times of its retries that count.
func Uses(network string, retries []time.Time, now time.Time) []Use {
	sorted := append([]time.Time(nil), retries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Before(sorted[j]) })
	var out []Use
	for _, r := range Budgets[network] {
		in := countAfter(sorted, now.Add(-r.Window))
		u := Use{Rule: r, Used: in.n, AvailableAt: now}
		if in.n >= r.Max {
			u.AvailableAt = sorted[in.first+in.n-r.Max].Add(r.Window).Add(time.Second)
		}
		out = append(out, u)
	}
	return out
}

// Max is the rule's most retries in its window.
func (u Use) Max() int { return u.Rule.Max }

// WindowSeconds is the rule's window.
func (u Use) WindowSeconds() int { return int(u.Rule.Window / time.Second) }
