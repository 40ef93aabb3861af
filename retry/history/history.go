// Package history is the load step of retry decisions: it reads from the
// store what the retry engine decides on (the payment's attempts, the
// customer's own history, the card's network budget, the account's active
// model) and returns it as a retry.Input. The engine (retry) decides; the
// payments service applies.
package history

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/offsession/offsession/internal/tz"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/testclocks"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/money"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/scoring"
)

// budgetWindow is the longest window of any network budget.
const budgetWindow = 30 * 24 * time.Hour

// Loader reads the inputs of retry decisions.
type Loader struct {
	// Postgres: lock the card while its budget is read.
	Postgres bool
	// Models gives each account's active retry model; nil: none.
	Models retry.ModelSource
}

// Input is what the retry engine decides on after attempt att of p ended
// with out, classified as cls: the advice code's wait and the card's
// network budget set the earliest time, the payment's strategy picks the
// time.
func (l Loader) Input(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, att *ent.Attempt, cls retry.Classification, out connector.Outcome, now time.Time) (retry.Input, error) {
	atts, err := tx.Attempt.Query().
		Where(attempt.PaymentID(p.ID)).
		Order(ent.Asc(attempt.FieldNumber)).
		All(ctx)
	if err != nil {
		return retry.Input{}, fmt.Errorf("read attempts: %w", err)
	}
	in := retry.Input{
		Now:            now,
		PaymentID:      p.ID,
		Strategy:       retry.Strategy(p.RetryStrategy),
		MaxRetries:     p.MaxRetries,
		FirstAttemptAt: atts[0].StartedAt.UTC(),
		LastAttemptAt:  att.StartedAt.UTC(),
		Decline:        cls,
		DeclineCode:    out.DeclineCode,
		Earliest:       now.Add(cls.NotBefore),
		Amount:         p.Amount,
		Currency:       p.Currency,
		Brand:          att.CardNetwork,
		Cadence:        string(p.Cadence),
	}
	if p.Holdout && in.Strategy != retry.StrategyNone {
		in.Strategy = retry.Strategy(p.HoldoutStrategy)
	}
	if cls.NotBefore > 0 {
		in.EarliestNote = cls.Rule
	}
	if p.RetryUntil != nil {
		in.RetryUntil = p.RetryUntil.UTC()
	} else {
		in.RetryUntil = now
	}
	for _, a := range atts {
		switch {
		case a.DeclineClass != nil && *a.DeclineClass == attempt.DeclineClassTechnical:
			in.TechnicalStreak++
		default:
			in.TechnicalStreak = 0
			if a.IsRetry {
				in.RetriesUsed++
			}
		}
	}
	if in.Schedule, err = retry.ParseSchedule(p.RetrySchedule); err != nil {
		return retry.Input{}, fmt.Errorf("payment %s schedule: %w", p.ID, err)
	}
	cus, err := tx.Customer.Get(ctx, p.CustomerID)
	if err != nil {
		return retry.Input{}, fmt.Errorf("read customer: %w", err)
	}
	if in.Location, err = tz.Load(cus.TimeZone); err != nil {
		in.Location = time.UTC
	}
	pm, err := tx.PaymentMethod.Get(ctx, p.PaymentMethodID)
	if err != nil {
		return retry.Input{}, fmt.Errorf("read payment method: %w", err)
	}
	in.Funding, in.Country = string(pm.Funding), pm.IssuingCountry
	in.AccountID = p.AccountID
	if in.Strategy == retry.StrategySmart {
		if in.Scoring, err = scoringContext(ctx, tx, p, pm, atts, in.Location, now); err != nil {
			return retry.Input{}, err
		}
		if l.Models != nil {
			// Read through this transaction: on SQLite another connection
			// would wait for its write lock.
			if in.Model, err = l.Models.Active(ent.NewTxContext(ctx, tx), p.AccountID); err != nil {
				return retry.Input{}, fmt.Errorf("read the active retry model: %w", err)
			}
		}
	}
	if cls.Class != retry.Technical {
		allowed, note, err := l.Budget(ctx, tx, p.AccountID, pm, in.Earliest)
		if err != nil {
			return retry.Input{}, err
		}
		if allowed.After(in.Earliest) || in.EarliestNote == "" {
			in.Earliest, in.EarliestNote = allowed, joinNotes(in.EarliestNote, note)
		}
	}
	return in, nil
}

// scoringContext is what the retry model knows of the decision being made,
// built from the stored attempts by scoring.DecisionContext, as training
// builds each example.
func scoringContext(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, pm *ent.PaymentMethod, atts []*ent.Attempt, loc *time.Location, now time.Time) (*scoring.Context, error) {
	// The payment's attempts, read already, in the form training reads.
	own := make([]scoring.StoredAttempt, len(atts))
	for i, a := range atts {
		own[i] = scoring.StoredAttempt{
			CustomerID: a.CustomerID, PaymentID: a.PaymentID, Number: a.Number, StartedAt: a.StartedAt, FinishedAt: a.FinishedAt,
			Outcome: string(a.Outcome), Class: (*string)(a.DeclineClass), DeclineCode: a.DeclineCode, Advice: a.NetworkAdviceCode,
		}
	}
	var hist []scoring.StoredAttempt
	err := tx.Attempt.Query().
		Where(
			attempt.CustomerID(p.CustomerID),
			attempt.StartedAtLT(now),
			attempt.OutcomeNEQ(attempt.OutcomeInFlight),
			attempt.Or(attempt.DeclineClassIsNil(), attempt.DeclineClassNEQ(attempt.DeclineClassTechnical)),
		).
		Order(ent.Desc(attempt.FieldStartedAt)).
		Limit(scoring.HistoryKept).
		Select(scoring.StoredColumns...).
		Scan(ctx, &hist)
	if err != nil {
		return nil, fmt.Errorf("read the customer's history: %w", err)
	}
	slices.Reverse(hist)
	info := scoring.PaymentInfo{
		Amount: p.Amount, Exponent: money.Exponent(p.Currency), Brand: string(pm.Brand), Funding: string(pm.Funding),
		Country: pm.IssuingCountry, Cadence: string(p.Cadence), Location: loc,
	}
	return scoring.DecisionContext(info, own, hist), nil
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// Budget returns the earliest time at or after at when a retry on the
// card keeps its network's budget. On PostgreSQL it first takes a
// transaction lock on the card, so two workers retrying payments on one
// card cannot both take its last retry; SQLite runs one writer at a time.
func (l Loader) Budget(ctx context.Context, tx *ent.Tx, accountID string, pm *ent.PaymentMethod, at time.Time) (time.Time, string, error) {
	network := string(pm.Brand)
	if len(retry.Budgets[network]) == 0 {
		return at, "", nil
	}
	if l.Postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", accountID+"/"+pm.Fingerprint); err != nil {
			return at, "", fmt.Errorf("lock card: %w", err)
		}
	}
	times, err := cardRetries(ctx, tx.Client(), accountID, pm.Fingerprint, at.Add(-budgetWindow))
	if err != nil {
		return at, "", err
	}
	allowed, note := retry.NextAllowed(network, times, at)
	return allowed, note, nil
}

// CardBudgets is how much of its network's retry budgets the card of pm
// has used now, on its customer's clock, over every payment on it.
func CardBudgets(ctx context.Context, db *ent.Client, clock clockwork.Clock, pm *ent.PaymentMethod) ([]*retry.Use, error) {
	network := string(pm.Brand)
	if len(retry.Budgets[network]) == 0 {
		return []*retry.Use{}, nil
	}
	cus, err := db.Customer.Get(ctx, pm.CustomerID)
	if err != nil {
		return nil, fmt.Errorf("read customer: %w", err)
	}
	now, err := testclocks.Now(ctx, db, clock, cus.TestClockID)
	if err != nil {
		return nil, err
	}
	times, err := cardRetries(ctx, db, pm.AccountID, pm.Fingerprint, now.Add(-budgetWindow))
	if err != nil {
		return nil, err
	}
	uses := retry.Uses(network, times, now)
	out := make([]*retry.Use, len(uses))
	for i := range uses {
		out[i] = &uses[i]
	}
	return out, nil
}

// cardRetries returns the start times, after from, of the retries on a
// card that count for its network budgets: technical failures do not.
func cardRetries(ctx context.Context, db *ent.Client, accountID, fingerprint string, from time.Time) ([]time.Time, error) {
	var rows []struct {
		StartedAt time.Time `json:"started_at"`
	}
	err := db.Attempt.Query().
		Where(
			attempt.AccountID(accountID),
			attempt.CardFingerprint(fingerprint),
			attempt.IsRetry(true),
			attempt.StartedAtGT(from),
			attempt.Or(attempt.DeclineClassIsNil(), attempt.DeclineClassNEQ(attempt.DeclineClassTechnical)),
		).
		Select(attempt.FieldStartedAt).
		Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count the card's retries: %w", err)
	}
	times := make([]time.Time, len(rows))
	for i, r := range rows {
		times[i] = r.StartedAt
	}
	return times, nil
}

// IsRetry reports whether the next attempt of p, on pm, is a retry: an
// earlier attempt on this card reached the issuer (a technical failure
// did not). The first attempt on a backup card is not a reattempt of that
// card, and networks count per card.
func IsRetry(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, pm *ent.PaymentMethod) (bool, error) {
	if p.AttemptCount == 0 {
		return false, nil
	}
	found, err := tx.Attempt.Query().
		Where(attempt.PaymentID(p.ID), attempt.CardFingerprint(pm.Fingerprint),
			attempt.Or(attempt.DeclineClassIsNil(), attempt.DeclineClassNEQ(attempt.DeclineClassTechnical))).
		Exist(ctx)
	if err != nil {
		return false, fmt.Errorf("read attempts: %w", err)
	}
	return found, nil
}

// Decide is the retry decision after attempt att of p ended with out,
// classified as cls: the store says what the engine decides on (Input),
// engine e decides.
func (l Loader) Decide(ctx context.Context, tx *ent.Tx, e *retry.Engine, p *ent.OffSessionPayment, att *ent.Attempt, cls retry.Classification, out connector.Outcome, now time.Time) (retry.Decision, error) {
	in, err := l.Input(ctx, tx, p, att, cls, out, now)
	if err != nil {
		return retry.Decision{}, err
	}
	return e.Next(ctx, in)
}

// Retry reports whether the next attempt of p, on pm, is a retry (IsRetry)
// and, when it is, the earliest time at or after now that keeps the card's
// network budget (Budget), with a note when that is later.
func (l Loader) Retry(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, pm *ent.PaymentMethod, now time.Time) (isRetry bool, allowed time.Time, note string, err error) {
	if isRetry, err = IsRetry(ctx, tx, p, pm); err != nil || !isRetry {
		return isRetry, now, "", err
	}
	allowed, note, err = l.Budget(ctx, tx, p.AccountID, pm, now)
	return true, allowed, note, err
}
