package main

import (
	"context"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
)

// What the database holds at the end of a run: recoveries, attempts, and the
// audit of every retry against the networks' rules.

// result is one strategy's row.
type result struct {
	Name                string
	Payments, Recovered int
	Attempts            int
	DaysToRecovery      []float64
	Violations          int
	Took                time.Duration
}

// attemptRow is what the measures read of an attempt.
type attemptRow struct {
	PaymentID   string    `json:"payment_id"`
	Number      int       `json:"number"`
	StartedAt   time.Time `json:"started_at"`
	Outcome     string    `json:"outcome"`
	IsRetry     bool      `json:"is_retry"`
	Fingerprint string    `json:"card_fingerprint"`
	Network     string    `json:"card_network"`
	Class       *string   `json:"decline_class"`
}

// attemptRows are every attempt in the database, oldest first.
func attemptRows(ctx context.Context, db *ent.Client) ([]attemptRow, error) {
	var atts []attemptRow
	err := db.Attempt.Query().
		Order(ent.Asc(attempt.FieldStartedAt)).
		Select(attempt.FieldPaymentID, attempt.FieldNumber, attempt.FieldStartedAt, attempt.FieldOutcome, attempt.FieldIsRetry,
			attempt.FieldCardFingerprint, attempt.FieldCardNetwork, attempt.FieldDeclineClass).
		Scan(ctx, &atts)
	return atts, err
}

// measure counts, from the database, what happened to the payments whose
// first attempt started after since.
func measure(ctx context.Context, db *ent.Client, since time.Time) (result, error) {
	var r result
	atts, err := attemptRows(ctx, db)
	if err != nil {
		return r, err
	}
	first := map[string]time.Time{}
	inCohort := func(id string) bool { t, ok := first[id]; return ok && !t.Before(since) }
	retries := map[string][]time.Time{} // card → its retries so far, every payment's
	hard := map[string]bool{}           // payment → a hard decline happened
	for _, a := range atts {
		if a.Number == 1 {
			first[a.PaymentID] = a.StartedAt
		}
		cohort := inCohort(a.PaymentID)
		if cohort {
			r.Attempts++
			if a.Outcome == string(attempt.OutcomeApproved) {
				r.Recovered++
				r.DaysToRecovery = append(r.DaysToRecovery, a.StartedAt.Sub(first[a.PaymentID]).Hours()/24)
			}
		}
		if !a.IsRetry {
			if a.Class != nil && *a.Class == string(attempt.DeclineClassHard) {
				hard[a.PaymentID] = true
			}
			continue
		}
		card := a.Fingerprint
		retries[card] = append(retries[card], a.StartedAt)
		if cohort && (hard[a.PaymentID] || overBudget(a.Network, retries[card])) {
			r.Violations++
		}
		if a.Class != nil && *a.Class == string(attempt.DeclineClassHard) {
			hard[a.PaymentID] = true
		}
	}
	for id := range first {
		if inCohort(id) {
			r.Payments++
		}
	}
	return r, nil
}

// overBudget reports whether the last of a card's retries broke a network
// rule, as the networks publish them: Visa at most 20 in 30 days,
// Mastercard at most 10 in 24 hours and 35 in 30 days. It is the audit of
// the engine's own budgets, so it does not use them.
func overBudget(network string, retries []time.Time) bool {
	last := retries[len(retries)-1]
	within := func(d time.Duration) int {
		n := 0
		for _, t := range retries {
			if last.Sub(t) < d {
				n++
			}
		}
		return n
	}
	const day = 24 * time.Hour
	switch network {
	case "visa":
		return within(30*day) > 20
	case "mastercard":
		return within(day) > 10 || within(30*day) > 35
	}
	return false
}
