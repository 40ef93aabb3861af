// Command benchtrain measures training a retry model on a large history: it
// writes a history of attempts straight into a fresh SQLite database (the
// customers of a simulated population, billed monthly and retried every few
// days, each attempt answered by the population), then trains on it as
// `offsession model train` does, and prints how long each step took and the
// peak memory.
//
//	go run ./cmd/benchtrain -attempts 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/idempotency"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

func main() {
	attempts := flag.Int("attempts", 1_000_000, "attempts in the history")
	dir := flag.String("dir", "", "directory for the SQLite file (default /dev/shm when there is one)")
	trees := flag.Int("trees", 0, "trees in the bag (default 8)")
	flag.Parse()
	if err := run(context.Background(), *attempts, *dir, *trees); err != nil {
		fmt.Fprintln(os.Stderr, "benchtrain:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n int, dir string, trees int) error {
	d, err := seed.ScratchDir(dir, "offsession-benchtrain-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(d)
	st, err := storage.Open(ctx, "sqlite://"+filepath.Join(d, "history.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys := viewer.SystemContext(ctx)
	acct, _, err := auth.CreateAccount(sys, st.Client, "benchtrain")
	if err != nil {
		return err
	}
	actx := viewer.NewContext(ctx, viewer.Viewer{AccountID: acct.ID, Role: viewer.RoleAdmin})
	keys := idempotency.New(st.Client, clockwork.NewRealClock(), 0)
	prc, err := processors.NewConfigs(st.Client, keys, nil).Create(actx, processors.CreateInput{Name: "Simulator", Type: processor.TypeSimulator})
	if err != nil {
		return err
	}

	started := time.Now()
	written, err := writeHistory(sys, st.Client, acct.ID, prc.ID, n)
	if err != nil {
		return err
	}
	wrote := time.Since(started)
	fmt.Fprintf(os.Stderr, "wrote %d attempts in %s\n", written, wrote.Round(time.Second))

	mdl := models.New(st.Client, clockwork.NewRealClock(), log)
	in := models.TrainInput{}
	if trees > 0 {
		in.Trees = &trees
	}
	var steps []string
	last := time.Now()
	started = last
	m, err := mdl.Train(actx, in, func(msg string) {
		steps = append(steps, fmt.Sprintf("%8s  %s", time.Since(last).Round(100*time.Millisecond), msg))
		last = time.Now()
	})
	if err != nil {
		return err
	}
	took := time.Since(started)
	for _, s := range steps {
		fmt.Println(s)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("\ntrained v%d on %d attempts (%d retries: %d to train, %d held out) in %s; AUC %.3f; peak RSS %d MB; %d CPUs\n",
		m.Version, written, m.TrainRows+m.TestRows, m.TrainRows, m.TestRows, took.Round(time.Second), m.Metrics.AUC, ru.Maxrss/1024, runtime.NumCPU())
	return nil
}

// writeHistory writes customers of the default population, each billed on
// their billing day every month from January 2025, each payment tried
// first and then, while declined, every two to four days up to six times,
// until n attempts are written. It returns how many were.
func writeHistory(ctx context.Context, db *ent.Client, accountID, processorID string, n int) (int, error) {
	pop, err := population.New(population.Default(), 7)
	if err != nil {
		return 0, err
	}
	const perCustomer = 12 // payments: a year of monthly bills
	written := 0
	for from := 0; written < n; from += 500 {
		err := storage.WithTx(ctx, db, func(tx *ent.Tx) error {
			specs := make([]seed.CardSpec, 500)
			for j := range specs {
				c := pop.Customer(from + j)
				specs[j] = seed.CardSpec{TimeZone: c.Location.String(), Brand: paymentmethod.BrandVisa,
					Funding: paymentmethod.FundingDebit, Token: population.Token(pop.P, pop.Seed, from+j)}
				if c.Credit {
					specs[j].Funding = paymentmethod.FundingCredit
				}
			}
			cards, err := seed.WriteCards(ctx, tx, accountID, processorID, specs, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
			if err != nil {
				return err
			}
			var ps []*ent.OffSessionPaymentCreate
			var as []*ent.AttemptCreate
			for j, card := range cards {
				c := pop.Customer(from + j)
				for month := range perCustomer {
					pid := ids.New("osp")
					at := time.Date(2025, time.Month(1+month), c.BillingDay, 0, 0, 0, 0, c.Location)
					first := at
					status := offsessionpayment.StatusFailed
					count := 0
					for k := 0; k <= 6 && written < n; k++ {
						ans := pop.Answer(c, at, min(k, 4))
						a := tx.Attempt.Create().SetAccountID(accountID).SetPaymentID(pid).SetCustomerID(card.CustomerID).
							SetNumber(k + 1).SetProcessorID(processorID).SetToken(card.Token).SetIdempotencyKey(fmt.Sprintf("%s-%d", pid, k+1)).
							SetCardFingerprint(card.Fingerprint).SetCardNetwork("visa").SetIsRetry(k > 0).
							SetScheduledAt(at.UTC()).SetStartedAt(at.UTC()).SetFinishedAt(at.Add(time.Second).UTC())
						if ans.Approved {
							a.SetOutcome(attempt.OutcomeApproved)
						} else {
							cls := retry.Classify(connector.Outcome{Result: connector.Declined, DeclineCode: ans.DeclineCode, NetworkDeclineCode: ans.NetworkDeclineCode})
							a.SetOutcome(attempt.OutcomeDeclined).SetDeclineCode(ans.DeclineCode).SetNetworkDeclineCode(ans.NetworkDeclineCode).
								SetDeclineClass(attempt.DeclineClass(cls.Class))
						}
						as = append(as, a)
						written++
						count++
						if ans.Approved {
							status = offsessionpayment.StatusSucceeded
							break
						}
						// The next try: two to four days on, at a random hour.
						at = at.Add(time.Duration(48+(from+j+month*7+k*13)%49) * time.Hour)
					}
					if count == 0 {
						break
					}
					ps = append(ps, tx.OffSessionPayment.Create().SetID(pid).SetAccountID(accountID).
						SetCustomerID(card.CustomerID).SetPaymentMethodID(card.PaymentMethodID).SetMandateID(card.MandateID).
						SetAmount(c.Amount).SetCurrency("usd").SetCadence(offsessionpayment.CadenceRecurring).
						SetStatus(status).SetAttemptCount(count).SetVersion(int64(2*count)).
						SetRetryStrategy(offsessionpayment.RetryStrategyHeuristic).SetMaxRetries(6).
						SetRetryUntil(first.Add(21*24*time.Hour).UTC()))
				}
			}
			for i := 0; i < len(ps); i += 1000 {
				if err := tx.OffSessionPayment.CreateBulk(ps[i:min(i+1000, len(ps))]...).Exec(ctx); err != nil {
					return err
				}
			}
			for i := 0; i < len(as); i += 1000 {
				if err := tx.Attempt.CreateBulk(as[i:min(i+1000, len(as))]...).Exec(ctx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return written, fmt.Errorf("write history: %w", err)
		}
	}
	return written, nil
}
