package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/testclocks"
)

// HistoryPayments is how many failed payments of simulated customers the
// demo retries on a test clock, so the data team has a history to train a
// retry model on at once (`offsession model train`): about 450 held-out
// retries, enough for the activation gate to judge a model. The history
// differs from day to day (the clock is today's); with 150 payments (80
// held-out retries) or 400 (230) a model of AUC 0.61-0.66 could not be
// told from chance, while 800 gave AUC 0.65-0.74, the interval's lower end
// 0.58-0.67, in three runs.
const HistoryPayments = 800

// historyDays is how long before now the history's clock starts: a
// billing month and the longest retry window.
const historyDays = 60

// seedHistory bills simulated customers (population tokens) in the month
// that began historyDays ago, on a test clock, and keeps the payments whose
// first attempt the simulated issuer declines; then it advances the clock to
// now, so they are retried by the smart strategy (the heuristic, with
// exploration, while no model is active) and their attempts make a history.
func seedHistory(ctx context.Context, svc Services, processorID string, now time.Time) error {
	start := now.Add(-historyDays * 24 * time.Hour).Truncate(24 * time.Hour)
	clk, err := svc.Clocks.Create(ctx, testclocks.CreateInput{Name: ptr("Demo history"), FrozenTime: start})
	if err != nil {
		return err
	}
	pop, err := population.New(population.Default(), 1)
	if err != nil {
		return err
	}
	smart := offsessionpayment.RetryStrategySmart
	for i, made := 0, 0; made < HistoryPayments; i++ {
		c := pop.Customer(i)
		first := start.AddDate(0, 0, 1+c.BillingDay).In(c.Location)
		first = time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, c.Location)
		if pop.Answer(c, first, 0).Approved {
			continue // the history keeps the failed payments
		}
		made++
		ref, zone := fmt.Sprintf("sim-%d", i), c.Location.String()
		cus, err := svc.Customers.CreateCustomer(ctx, customers.CreateCustomerInput{
			ExternalRef: &ref, Name: ptr(fmt.Sprintf("Simulated customer %d", i)), TimeZone: &zone, TestClockID: &clk.ID,
		})
		if err != nil {
			return fmt.Errorf("history customer %d: %w", i, err)
		}
		card := customers.CardDetailsInput{
			Brand: paymentmethod.BrandVisa, Funding: paymentmethod.FundingDebit, Last4: fmt.Sprintf("%04d", i%10000),
			ExpMonth: 12, ExpYear: now.Year() + 3, Fingerprint: "fp_" + ref,
		}
		if c.Credit {
			card.Funding = paymentmethod.FundingCredit
		}
		pm, err := svc.Customers.SavePaymentMethod(ctx, customers.SavePaymentMethodInput{
			CustomerID: cus.ID, Card: card,
			ProcessorTokens: []schematype.ProcessorToken{{ProcessorID: processorID, Token: population.Token(pop.P, pop.Seed, i)}},
		})
		if err != nil {
			return fmt.Errorf("history card %d: %w", i, err)
		}
		m, err := svc.Customers.CreateMandate(ctx, customers.CreateMandateInput{
			CustomerID: cus.ID, PaymentMethodID: pm.ID, Usage: mandate.UsageRecurring,
			Terms: customers.MandateTermsInput{
				Text: ptr("I authorise Demo merchant to charge my card each month."), Version: "2026-01",
				TimingAndFrequency: "monthly", AmountDetermination: "the plan price", CancellationPolicy: "cancel any time",
			},
			Acceptance: customers.MandateAcceptanceInput{Type: mandate.AcceptanceTypeOffline, AcceptedAt: start.Add(-24 * time.Hour)},
			Limits:     customers.MandateLimitsInput{UseLimit: mandate.UseLimitMultiUse, MaxAmount: 5000, Currency: "usd"},
		})
		if err != nil {
			return fmt.Errorf("history mandate %d: %w", i, err)
		}
		if _, err := svc.Payments.CreateOffSessionPayment(ctx, payments.CreateOffSessionPaymentInput{
			CustomerID: cus.ID, PaymentMethodID: pm.ID, MandateID: m.ID, Amount: c.Amount, Currency: "usd",
			Cadence: offsessionpayment.CadenceRecurring, TargetDate: ptr(first.Format(time.DateOnly)), RetryStrategy: &smart,
			Description: ptr("Monthly plan"), Metadata: schematype.StringMap{"seeded_by": "demo history"},
		}); err != nil {
			return fmt.Errorf("history payment %d: %w", i, err)
		}
	}
	if _, err := svc.Clocks.Advance(ctx, clk.ID, now.Add(-time.Hour)); err != nil {
		return fmt.Errorf("run the history's clock: %w", err)
	}
	return nil
}
