package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
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

// The test binary doubles as the offsession binary: with this variable set
// to a command (serve, demo), TestMain runs it instead of the tests, so a
// test can start, kill and restart a real server process.
const envCommand = "OFFSESSION_TEST_COMMAND"

func TestMain(m *testing.M) {
	if cmd := os.Getenv(envCommand); cmd != "" {
		os.Exit(app.Main([]string{cmd}, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// startServer starts `offsession serve` on dbURL in a child process.
func startServer(t *testing.T, dbURL string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		envCommand+"=serve",
		"OFFSESSION_DATABASE_URL="+dbURL,
		"OFFSESSION_LISTEN_ADDR=127.0.0.1:0",
		"OFFSESSION_WORKERS=4",
		"OFFSESSION_POLL_INTERVAL=10ms",
		"OFFSESSION_ATTEMPT_LEASE=2s",
		"OFFSESSION_PROCESSOR_TIMEOUT=1s",
		"OFFSESSION_LOG_LEVEL=warn",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

// seedPayments makes n payments due now, on cards that approve, or decline
// and are retried twice, one and two seconds after the first attempt.
func seedPayments(t *testing.T, st *storage.Store, n int, latencyMS int) (accountID string) {
	t.Helper()
	ctx := context.Background()
	acct, _, err := auth.CreateAccount(viewer.SystemContext(ctx), st.Client, "crash test")
	require.NoError(t, err)
	actx := viewer.AccountContext(ctx, acct.ID)
	svc, err := payments.New(st, clockwork.NewRealClock(), processors.NewRegistry(st.Client, nil), slog.Default(), payments.Config{})
	require.NoError(t, err)
	keys := idempotency.New(st.Client, clockwork.NewRealClock(), 0)
	cust := customers.New(st.Client, keys, clockwork.NewRealClock(), processors.NewRegistry(st.Client, nil), svc)
	proc, err := processors.NewConfigs(st.Client, keys, nil).Create(actx, processors.CreateInput{
		Name: "Simulator", Type: processor.TypeSimulator,
		Settings: schematype.StringMap{"latency_ms": fmt.Sprint(latencyMS)},
	})
	require.NoError(t, err)
	pol, err := policies.New(st.Client, keys).Create(actx, policies.CreateInput{
		Name: "fast", Strategy: retrypolicy.StrategyScheduled, Schedule: []string{"1s", "2s"}, IsDefault: ptr(true),
	})
	require.NoError(t, err)
	require.True(t, pol.IsDefault)
	type chain struct{ cus, pm, mdt string }
	var chains []chain
	// The declining card is an amex: no network budget limits its retries.
	brands := []paymentmethod.Brand{paymentmethod.BrandVisa, paymentmethod.BrandMastercard, paymentmethod.BrandAmex}
	for i, token := range []string{"pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclinedInsufficientFunds"} {
		cus, err := cust.CreateCustomer(actx, customers.CreateCustomerInput{})
		require.NoError(t, err)
		pm, err := cust.SavePaymentMethod(actx, customers.SavePaymentMethodInput{
			CustomerID: cus.ID,
			Card: customers.CardDetailsInput{Brand: brands[i], Funding: paymentmethod.FundingDebit,
				Last4: "4242", ExpMonth: 12, ExpYear: time.Now().Year() + 2, Fingerprint: fmt.Sprintf("fp_crash_%d", i)},
			ProcessorTokens: []schematype.ProcessorToken{{ProcessorID: proc.ID, Token: token}},
		})
		require.NoError(t, err)
		m, err := cust.CreateMandate(actx, customers.CreateMandateInput{
			CustomerID: cus.ID, PaymentMethodID: pm.ID, Usage: mandate.UsageUnscheduled,
			Terms: customers.MandateTermsInput{Text: ptr("top-ups"), Version: "1", TimingAndFrequency: "when the balance is low",
				AmountDetermination: "the top-up amount", CancellationPolicy: "any time"},
			Acceptance: customers.MandateAcceptanceInput{Type: mandate.AcceptanceTypeOffline, AcceptedAt: time.Now().Add(-time.Hour)},
			Limits:     customers.MandateLimitsInput{UseLimit: mandate.UseLimitMultiUse, MaxAmount: 100000, Currency: "usd"},
		})
		require.NoError(t, err)
		chains = append(chains, chain{cus.ID, pm.ID, m.ID})
	}
	for i := range n {
		c := chains[i%len(chains)]
		_, err := svc.CreateOffSessionPayment(actx, payments.CreateOffSessionPaymentInput{
			CustomerID: c.cus, PaymentMethodID: c.pm, MandateID: c.mdt,
			Amount: int64(100 + i), Currency: "usd", Cadence: offsessionpayment.CadenceUnscheduled,
		})
		require.NoError(t, err)
	}
	return acct.ID
}

// TestRule5CrashLosesNothingAndChargesOnce kills a server with SIGKILL at
// random moments while 1,000 payments are being attempted and retried,
// restarts it, five times, then lets it finish. No payment is lost, every
// attempt reached the processor under one key only, and none is left in
// flight.
func TestRule5CrashLosesNothingAndChargesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	t.Parallel()
	for _, d := range storagetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			const n = 1000
			dbURL := storagetest.URL(t, d)
			ctx := context.Background()
			st, err := storage.Open(ctx, dbURL)
			require.NoError(t, err)
			defer st.Close()
			_, err = st.Migrate(ctx)
			require.NoError(t, err)
			seedPayments(t, st, n, 20)
			sys := viewer.SystemContext(ctx)

			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
			kills := 0
			for kills < 5 {
				cmd := startServer(t, dbURL)
				// Wait until attempts are under way, then kill at a random point.
				require.Eventually(t, func() bool {
					started, err := st.Client.Attempt.Query().Count(sys)
					return err == nil && started > 0
				}, 30*time.Second, 5*time.Millisecond)
				time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
				inFlight, err := st.Client.Attempt.Query().Where(attempt.OutcomeEQ(attempt.OutcomeInFlight)).Count(sys)
				require.NoError(t, err)
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				_, _ = cmd.Process.Wait()
				kills++
				t.Logf("kill %d: %d attempts in flight", kills, inFlight)
			}
			cmd := startServer(t, dbURL)
			require.Eventually(t, func() bool {
				open, err := st.Client.OffSessionPayment.Query().
					Where(offsessionpayment.StatusNotIn(offsessionpayment.StatusSucceeded, offsessionpayment.StatusFailed)).
					Count(sys)
				return err == nil && open == 0
			}, 3*time.Minute, 50*time.Millisecond, "every payment reaches a final status")
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))

			all, err := st.Client.OffSessionPayment.Query().WithAttempts().All(sys)
			require.NoError(t, err)
			require.Len(t, all, n, "no payment lost")
			charges, err := st.Client.SimulatorCharge.Query().All(sys)
			require.NoError(t, err)
			byKey := map[string]*ent.SimulatorCharge{}
			repeated := 0
			for _, c := range charges {
				byKey[c.IdempotencyKey] = c
				if c.Calls > 1 {
					repeated++
				}
			}
			attempts := 0
			for _, p := range all {
				want := 1
				if p.Status == offsessionpayment.StatusFailed {
					want = 3 // the first attempt and both retries
					require.Equal(t, offsessionpayment.FailureReasonRetriesExhausted, *p.FailureReason)
				}
				require.Len(t, p.Edges.Attempts, want, "payment %s", p.ID)
				numbers := map[int]bool{}
				for _, a := range p.Edges.Attempts {
					attempts++
					numbers[a.Number] = true
					require.NotEqual(t, attempt.OutcomeInFlight, a.Outcome, "attempt %s left in flight", a.ID)
					c, ok := byKey[a.IdempotencyKey]
					require.True(t, ok, "attempt %s never reached the processor", a.ID)
					require.Equal(t, p.Amount, c.Amount)
				}
				require.Len(t, numbers, want, "payment %s: attempt numbers are unique", p.ID)
				approved := 0
				for _, a := range p.Edges.Attempts {
					if byKey[a.IdempotencyKey].Outcome == "approved" {
						approved++
					}
				}
				if p.Status == offsessionpayment.StatusSucceeded {
					require.Equal(t, 1, approved, "payment %s: charged exactly once", p.ID)
					require.Equal(t, attempt.OutcomeApproved, p.Edges.Attempts[0].Outcome)
				} else {
					require.Zero(t, approved, "payment %s: a failed payment was never charged", p.ID)
				}
			}
			require.Len(t, charges, attempts, "the processor saw exactly one key per attempt")
			t.Logf("%d payments, %d charges, %d keys repeated after a crash", n, len(charges), repeated)
		})
	}
}

func ptr[T any](v T) *T { return &v }
