// Package seed writes large numbers of payments straight into the database,
// for load tests and benchmarks that need them faster than the API makes
// them. What it writes is what the payments service would have written:
// payments waiting for a retry, each with its declined first attempt.
package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// batch is how many payments one transaction writes.
const batch = 500

// DueRetries describes payments waiting for their first retry.
type DueRetries struct {
	AccountID   string
	ProcessorID string
	// Brand of the cards; default visa. Network budgets are counted per
	// card: share cards (Cards) only on a brand without budgets, such as
	// amex.
	Brand paymentmethod.Brand
	// Cards, when positive, is how many cards (with their customers and
	// mandates) the payments share, made in the first batch; zero gives
	// each payment a card of its own.
	Cards int
	// N payments, numbered from First.
	N, First int
	// DueAt is when payment i's retry is due.
	DueAt func(i int) time.Time
	// Token is payment i's simulator token.
	Token func(i int) string
	// Now stamps the first attempts and sets the retry window.
	Now time.Time
	// Progress, if set, is called after each batch with the count written.
	Progress func(done int)
}

// Write writes the payments.
func (d DueRetries) Write(ctx context.Context, db *ent.Client) error {
	ctx = viewer.SystemContext(ctx)
	if d.Brand == "" {
		d.Brand = paymentmethod.BrandVisa
	}
	var shared []Card
	for start := 0; start < d.Cards; start += batch {
		err := storage.WithTx(ctx, db, func(tx *ent.Tx) error {
			cards, err := d.writeCards(ctx, tx, d.First+start, min(batch, d.Cards-start))
			shared = append(shared, cards...)
			return err
		})
		if err != nil {
			return fmt.Errorf("seed cards: %w", err)
		}
	}
	for start := 0; start < d.N; start += batch {
		n := min(batch, d.N-start)
		err := storage.WithTx(ctx, db, func(tx *ent.Tx) error {
			cards := shared
			if len(cards) == 0 {
				var err error
				if cards, err = d.writeCards(ctx, tx, d.First+start, n); err != nil {
					return err
				}
			}
			return d.writePayments(ctx, tx, d.First+start, n, cards)
		})
		if err != nil {
			return fmt.Errorf("seed payments %d to %d: %w", start, start+n, err)
		}
		if d.Progress != nil {
			d.Progress(start + n)
		}
	}
	return nil
}

// Card is a customer's saved card with its mandate, as seeded.
type Card struct {
	CustomerID, PaymentMethodID, MandateID, Fingerprint, Token string
}

// CardSpec describes one customer and card to seed.
type CardSpec struct {
	TimeZone    string
	TestClockID *string
	Brand       paymentmethod.Brand
	Funding     paymentmethod.Funding
	// Token is the card's token on the processor.
	Token string
	// Usage of the mandate; default unscheduled.
	Usage mandate.Usage
}

// WriteCards writes, for each spec, a customer, a saved card with its
// token on processorID, and a multi-use mandate accepted two days before
// now, as the payments service would.
func WriteCards(ctx context.Context, tx *ent.Tx, accountID, processorID string, specs []CardSpec, now time.Time) ([]Card, error) {
	n := len(specs)
	cus := make([]*ent.CustomerCreate, n)
	pms := make([]*ent.PaymentMethodCreate, n)
	mdts := make([]*ent.MandateCreate, n)
	cards := make([]Card, n)
	accepted := now.Add(-48 * time.Hour).UTC()
	for j, sp := range specs {
		if sp.Usage == "" {
			sp.Usage = mandate.UsageUnscheduled
		}
		c := Card{CustomerID: ids.New("cus"), PaymentMethodID: ids.New("pm"), MandateID: ids.New("mdt"), Token: sp.Token}
		c.Fingerprint = "fp_seed_" + c.PaymentMethodID
		cards[j] = c
		cus[j] = tx.Customer.Create().SetID(c.CustomerID).SetAccountID(accountID).SetTimeZone(sp.TimeZone).SetNillableTestClockID(sp.TestClockID)
		pms[j] = tx.PaymentMethod.Create().SetID(c.PaymentMethodID).SetAccountID(accountID).SetCustomerID(c.CustomerID).
			SetBrand(sp.Brand).SetFunding(sp.Funding).SetLast4("4242").
			SetExpMonth(12).SetExpYear(now.Year() + 3).SetFingerprint(c.Fingerprint).
			SetProcessorTokens([]schematype.ProcessorToken{{ProcessorID: processorID, Token: sp.Token}})
		mdts[j] = tx.Mandate.Create().SetID(c.MandateID).SetAccountID(accountID).SetCustomerID(c.CustomerID).SetPaymentMethodID(c.PaymentMethodID).
			SetUsage(sp.Usage).SetTermsText("seeded").SetTermsVersion("1").SetTimingAndFrequency("x").
			SetAmountDetermination("x").SetCancellationPolicy("x").SetAcceptanceType(mandate.AcceptanceTypeOffline).
			SetAcceptedAt(accepted).SetUseLimit(mandate.UseLimitMultiUse).SetMaxAmount(1_000_000).SetCurrency("usd")
	}
	if err := tx.Customer.CreateBulk(cus...).Exec(ctx); err != nil {
		return nil, err
	}
	if err := tx.PaymentMethod.CreateBulk(pms...).Exec(ctx); err != nil {
		return nil, err
	}
	return cards, tx.Mandate.CreateBulk(mdts...).Exec(ctx)
}

func (d DueRetries) writeCards(ctx context.Context, tx *ent.Tx, from, n int) ([]Card, error) {
	specs := make([]CardSpec, n)
	for j := range specs {
		specs[j] = CardSpec{TimeZone: "UTC", Brand: d.Brand, Funding: paymentmethod.FundingDebit, Token: d.Token(from + j)}
	}
	return WriteCards(ctx, tx, d.AccountID, d.ProcessorID, specs, d.Now)
}

func (d DueRetries) writePayments(ctx context.Context, tx *ent.Tx, from, n int, cards []Card) error {
	ps := make([]*ent.OffSessionPaymentCreate, n)
	atts := make([]*ent.AttemptCreate, n)
	first := d.Now.Add(-time.Hour).UTC()
	for j := range n {
		i := from + j
		c := cards[(i-d.First)%len(cards)]
		pID := ids.New("osp")
		due := d.DueAt(i).UTC()
		ps[j] = tx.OffSessionPayment.Create().SetID(pID).SetAccountID(d.AccountID).
			SetCustomerID(c.CustomerID).SetPaymentMethodID(c.PaymentMethodID).SetMandateID(c.MandateID).
			SetAmount(int64(1000 + i%5000)).SetCurrency("usd").SetCadence(offsessionpayment.CadenceUnscheduled).
			SetStatus(offsessionpayment.StatusPendingRetry).SetAttemptCount(1).SetVersion(2).
			SetRetryStrategy(offsessionpayment.RetryStrategyScheduled).SetMaxRetries(1).SetRetrySchedule([]string{"1s"}).
			SetRetryUntil(d.Now.Add(60 * 24 * time.Hour)).
			SetNextAttemptAt(due).SetDueAt(due).
			SetNextAttemptPlan(retry.SchedulingDecision{Strategy: "scheduled", Reason: "seeded"}).
			SetFirstOutcome(offsessionpayment.FirstOutcomeDeclined).SetFirstDeclineCode("insufficient_funds").
			SetFirstProcessorID(d.ProcessorID).SetFirstFinishedAt(first)
		atts[j] = tx.Attempt.Create().SetAccountID(d.AccountID).SetPaymentID(pID).SetCustomerID(c.CustomerID).SetNumber(1).
			SetProcessorID(d.ProcessorID).SetToken(c.Token).SetIdempotencyKey(pID + "-1").SetCardFingerprint(c.Fingerprint).SetCardNetwork(string(d.Brand)).
			SetOutcome(attempt.OutcomeDeclined).SetDeclineClass(attempt.DeclineClassSoft).
			SetDeclineCode("insufficient_funds").SetNetworkDeclineCode("51").
			SetScheduledAt(first).SetStartedAt(first).SetFinishedAt(first)
	}
	if err := tx.OffSessionPayment.CreateBulk(ps...).Exec(ctx); err != nil {
		return err
	}
	return tx.Attempt.CreateBulk(atts...).Exec(ctx)
}

// Succeeded is a payment whose first attempt, at At, was approved.
type Succeeded struct {
	Card       Card
	Network    string
	Amount     int64
	At         time.Time
	TargetDate string
	Strategy   offsessionpayment.RetryStrategy
	MaxRetries int
	PolicyID   string
	ClockID    *string
}

// WriteSucceeded writes each payment as succeeded, with its approved first
// attempt, as the payments service would have (not its events or webhook
// deliveries): for benchmarks whose customers need a history of payments
// that went through at once, which only their attempts record.
func WriteSucceeded(ctx context.Context, tx *ent.Tx, accountID, processorID string, ps []Succeeded) error {
	pays := make([]*ent.OffSessionPaymentCreate, len(ps))
	atts := make([]*ent.AttemptCreate, len(ps))
	for j, s := range ps {
		id, at := ids.New("osp"), s.At.UTC()
		pays[j] = tx.OffSessionPayment.Create().SetID(id).SetAccountID(accountID).
			SetCustomerID(s.Card.CustomerID).SetPaymentMethodID(s.Card.PaymentMethodID).SetMandateID(s.Card.MandateID).
			SetAmount(s.Amount).SetCurrency("usd").SetCadence(offsessionpayment.CadenceRecurring).SetTargetDate(s.TargetDate).
			SetStatus(offsessionpayment.StatusSucceeded).SetAmountReceived(s.Amount).SetAttemptCount(1).SetVersion(2).
			SetRetryStrategy(s.Strategy).SetRetryPolicyID(s.PolicyID).SetMaxRetries(s.MaxRetries).
			SetNillableTestClockID(s.ClockID).SetSucceededAt(at).
			SetFirstOutcome(offsessionpayment.FirstOutcomeApproved).SetFirstProcessorID(processorID).SetFirstFinishedAt(at)
		atts[j] = tx.Attempt.Create().SetAccountID(accountID).SetPaymentID(id).SetCustomerID(s.Card.CustomerID).SetNumber(1).
			SetProcessorID(processorID).SetPaymentMethodID(s.Card.PaymentMethodID).SetToken(s.Card.Token).SetIdempotencyKey(id + "-1").
			SetCardFingerprint(s.Card.Fingerprint).SetCardNetwork(s.Network).SetOutcome(attempt.OutcomeApproved).
			SetScheduledAt(at).SetStartedAt(at).SetFinishedAt(at).SetLatencyMs(0)
	}
	if err := tx.OffSessionPayment.CreateBulk(pays...).Exec(ctx); err != nil {
		return err
	}
	return tx.Attempt.CreateBulk(atts...).Exec(ctx)
}
