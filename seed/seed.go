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
	"github.com/offsession/offsession/ids"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// batch is how many payments one transaction writes.
const batch = 500

// DueRetries describes payments waiting for their first retry, each on a
// card of its own so no network budget limits them.
type DueRetries struct {
	AccountID   string
	ProcessorID string
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
	for start := 0; start < d.N; start += batch {
		n := min(batch, d.N-start)
		err := storage.WithTx(ctx, db, func(tx *ent.Tx) error {
			return d.writeBatch(ctx, tx, d.First+start, n)
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

func (d DueRetries) writeBatch(ctx context.Context, tx *ent.Tx, from, n int) error {
	cus := make([]*ent.CustomerCreate, n)
	pms := make([]*ent.PaymentMethodCreate, n)
	mdts := make([]*ent.MandateCreate, n)
	ps := make([]*ent.OffSessionPaymentCreate, n)
	atts := make([]*ent.AttemptCreate, n)
	first := d.Now.Add(-time.Hour).UTC()
	for j := range n {
		i := from + j
		cusID, pmID, mdtID, pID := ids.New("cus"), ids.New("pm"), ids.New("mdt"), ids.New("osp")
		fp := fmt.Sprintf("fp_seed_%s_%d", d.AccountID, i)
		cus[j] = tx.Customer.Create().SetID(cusID).SetAccountID(d.AccountID).SetTimeZone("UTC")
		pms[j] = tx.PaymentMethod.Create().SetID(pmID).SetAccountID(d.AccountID).SetCustomerID(cusID).
			SetBrand(paymentmethod.BrandVisa).SetFunding(paymentmethod.FundingDebit).SetLast4("4242").
			SetExpMonth(12).SetExpYear(d.Now.Year() + 3).SetFingerprint(fp).
			SetProcessorTokens([]schematype.ProcessorToken{{ProcessorID: d.ProcessorID, Token: d.Token(i)}})
		mdts[j] = tx.Mandate.Create().SetID(mdtID).SetAccountID(d.AccountID).SetCustomerID(cusID).SetPaymentMethodID(pmID).
			SetUsage(mandate.UsageUnscheduled).SetTermsText("seeded").SetTermsVersion("1").SetTimingAndFrequency("x").
			SetAmountDetermination("x").SetCancellationPolicy("x").SetAcceptanceType(mandate.AcceptanceTypeOffline).
			SetAcceptedAt(first.Add(-time.Hour)).SetUseLimit(mandate.UseLimitMultiUse).SetMaxAmount(1_000_000).SetCurrency("usd")
		due := d.DueAt(i).UTC()
		ps[j] = tx.OffSessionPayment.Create().SetID(pID).SetAccountID(d.AccountID).
			SetCustomerID(cusID).SetPaymentMethodID(pmID).SetMandateID(mdtID).
			SetAmount(int64(1000 + i%5000)).SetCurrency("usd").SetCadence(offsessionpayment.CadenceUnscheduled).
			SetStatus(offsessionpayment.StatusPendingRetry).SetAttemptCount(1).SetVersion(2).
			SetRetryStrategy(offsessionpayment.RetryStrategyScheduled).SetMaxRetries(1).SetRetrySchedule([]string{"1s"}).
			SetRetryUntil(d.Now.Add(60 * 24 * time.Hour)).
			SetNextAttemptAt(due).SetDueAt(due).
			SetNextAttemptPlan(schematype.SchedulingDecision{Strategy: "scheduled", Reason: "seeded"})
		code, net := "insufficient_funds", "51"
		atts[j] = tx.Attempt.Create().SetAccountID(d.AccountID).SetPaymentID(pID).SetNumber(1).
			SetProcessorID(d.ProcessorID).SetIdempotencyKey(pID+"-1").SetCardFingerprint(fp).SetCardNetwork("visa").
			SetOutcome(attempt.OutcomeDeclined).SetDeclineClass(attempt.DeclineClassSoft).
			SetDeclineCode(code).SetNetworkDeclineCode(net).
			SetScheduledAt(first).SetStartedAt(first).SetFinishedAt(first)
	}
	if err := tx.Customer.CreateBulk(cus...).Exec(ctx); err != nil {
		return err
	}
	if err := tx.PaymentMethod.CreateBulk(pms...).Exec(ctx); err != nil {
		return err
	}
	if err := tx.Mandate.CreateBulk(mdts...).Exec(ctx); err != nil {
		return err
	}
	if err := tx.OffSessionPayment.CreateBulk(ps...).Exec(ctx); err != nil {
		return err
	}
	return tx.Attempt.CreateBulk(atts...).Exec(ctx)
}
