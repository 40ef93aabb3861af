package payments_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/retry/policies"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// TestRunDueOnAFakeClock drives the payments service alone, on a fake
// clock: a payment is due when created and claimed at the clock's time; an
// approval succeeds; a soft decline is retried at its policy's offset from
// the clock's time, not before, and nothing is due in between; a hard
// decline fails the payment without a retry.
func TestRunDueOnAFakeClock(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		clock := clockwork.NewFakeClockAt(time.Date(2030, 3, 1, 9, 0, 0, 0, time.UTC))
		acct, _, err := auth.CreateAccount(viewer.SystemContext(ctx), st.Client, "payments")
		require.NoError(t, err)
		actx := viewer.AccountContext(ctx, acct.ID)
		keys := idempotency.New(st.Client, clock, 0)
		registry := processors.NewRegistry(st.Client, nil)
		svc, err := payments.New(st, clock, registry, slog.New(slog.DiscardHandler), payments.Config{Keys: keys, Owner: "worker"})
		require.NoError(t, err)
		cust := customers.New(st.Client, keys, clock, registry, svc)
		proc, err := processors.NewConfigs(st.Client, keys, nil).Create(actx, processors.CreateInput{Name: "sim", Type: processor.TypeSimulator})
		require.NoError(t, err)
		_, err = policies.New(st.Client, keys).Create(actx, policies.CreateInput{
			Name: "daily", Strategy: retrypolicy.StrategyScheduled, Schedule: []string{"1d", "2d"}, IsDefault: new(true),
		})
		require.NoError(t, err)

		pay := func(token string) *ent.OffSessionPayment {
			cus, err := cust.CreateCustomer(actx, customers.CreateCustomerInput{})
			require.NoError(t, err)
			pm, err := cust.SavePaymentMethod(actx, customers.SavePaymentMethodInput{
				CustomerID: cus.ID,
				Card: customers.CardDetailsInput{Brand: paymentmethod.BrandAmex, Funding: paymentmethod.FundingCredit,
					Last4: "0005", ExpMonth: 12, ExpYear: 2033, Fingerprint: "fp_" + token},
				ProcessorTokens: []schematype.ProcessorToken{{ProcessorID: proc.ID, Token: token}},
			})
			require.NoError(t, err)
			m, err := cust.CreateMandate(actx, customers.CreateMandateInput{
				CustomerID: cus.ID, PaymentMethodID: pm.ID, Usage: mandate.UsageUnscheduled,
				Terms: customers.MandateTermsInput{Text: new("top-ups"), Version: "1", TimingAndFrequency: "when low",
					AmountDetermination: "the top-up", CancellationPolicy: "any time"},
				Acceptance: customers.MandateAcceptanceInput{Type: mandate.AcceptanceTypeOffline, AcceptedAt: clock.Now().Add(-time.Hour)},
				Limits:     customers.MandateLimitsInput{UseLimit: mandate.UseLimitMultiUse, MaxAmount: 10_000, Currency: "usd"},
			})
			require.NoError(t, err)
			p, err := svc.CreateOffSessionPayment(actx, payments.CreateOffSessionPaymentInput{
				CustomerID: cus.ID, PaymentMethodID: pm.ID, MandateID: m.ID,
				Amount: 1000, Currency: "usd", Cadence: offsessionpayment.CadenceUnscheduled,
			})
			require.NoError(t, err)
			return p
		}
		approved, soft, hard := pay("pm_card_visa"), pay("pm_card_chargeDeclinedInsufficientFunds"), pay("pm_card_chargeDeclinedStolenCard")
		runDue := func() []string {
			ids, err := svc.ClaimDue(ctx, clock.Now(), 100, "worker")
			require.NoError(t, err)
			for _, id := range ids {
				require.NoError(t, svc.RunDue(ctx, id, "worker"))
			}
			return ids
		}
		status := func(p *ent.OffSessionPayment) offsessionpayment.Status {
			got, err := st.Client.OffSessionPayment.Get(actx, p.ID)
			require.NoError(t, err)
			return got.Status
		}

		require.ElementsMatch(t, []string{approved.ID, soft.ID, hard.ID}, runDue(), "due when created, at the clock's time")
		require.Equal(t, offsessionpayment.StatusSucceeded, status(approved))
		require.Equal(t, offsessionpayment.StatusFailed, status(hard), "a hard decline is never retried")
		require.Equal(t, offsessionpayment.StatusPendingRetry, status(soft))
		next, err := st.Client.OffSessionPayment.Get(actx, soft.ID)
		require.NoError(t, err)
		require.Equal(t, clock.Now().Add(24*time.Hour), next.NextAttemptAt.UTC(), "the policy's first offset, from the clock's time")

		clock.Advance(23 * time.Hour)
		require.Empty(t, runDue(), "not due before its time")
		clock.Advance(time.Hour)
		require.Equal(t, []string{soft.ID}, runDue())
		require.Equal(t, offsessionpayment.StatusPendingRetry, status(soft), "still declined: its second retry is planned")
		n, err := st.Client.Attempt.Query().Count(actx)
		require.NoError(t, err)
		require.Equal(t, 4, n, "one attempt each, and the soft decline's retry")
	})
}
