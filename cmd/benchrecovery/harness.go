package main

// What every mode runs on: the calendar, the scratch directory and its log,
// the engine on a SQLite file, and the customers' cards and payments.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/retrypolicy"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/internal/seed"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/retry/policies"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/testclocks"
	"github.com/offsession/offsession/viewer"
)

// The calendar of the run: customers are billed on their billing day in
// each of trainMonths and in evalMonth, and the clock runs until every retry
// window has closed. Two training months give the second one's retries a
// history of the customer's earlier payments to learn from.
var (
	clockStart  = time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC)
	trainMonths = []time.Time{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	trainEnd    = time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC)
	evalMonth   = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	evalEnd     = time.Date(2026, 5, 25, 0, 0, 0, 0, time.UTC)
)

// strategy is one row of the table: a retry policy, and for the oracle a
// planner of its own.
type strategy struct {
	name   string
	policy policies.CreateInput
	oracle bool
	// attempts is about how many attempts a payment takes: the costliest
	// strategies start first.
	attempts int
}

func policy(s retrypolicy.Strategy, window string, maxRetries int, schedule ...string) policies.CreateInput {
	return policies.CreateInput{Name: string(s) + " " + window, Strategy: s, Window: &window, MaxRetries: &maxRetries, Schedule: schedule}
}

// benchRun is what every run of the bench starts with: its population, its
// scratch directory, and a log that tells the seconds since the start.
type benchRun struct {
	pop     *population.Population
	dir     string
	started time.Time
	stderr  io.Writer
	keep    bool
}

func startRun(o options, prefix string, stderr io.Writer) (*benchRun, error) {
	r := &benchRun{started: time.Now(), stderr: stderr, keep: o.keep}
	var err error
	if r.pop, err = newPopulation(o); err != nil {
		return nil, err
	}
	if r.dir, err = seed.ScratchDir(o.dir, prefix); err != nil {
		return nil, err
	}
	return r, nil
}

// end removes the run's scratch directory, unless it is kept (-keep).
func (r *benchRun) end() {
	if !r.keep {
		os.RemoveAll(r.dir)
	}
}

// say logs a line after the seconds since the run started.
func (r *benchRun) say(format string, args ...any) {
	fmt.Fprintf(r.stderr, "[%5.0fs] %s\n", time.Since(r.started).Seconds(), fmt.Sprintf(format, args...))
}

// newPopulation is the population the flags name.
func newPopulation(o options) (*population.Population, error) {
	params, ok := population.Named(o.population)
	if !ok {
		return nil, fmt.Errorf("unknown population %q", o.population)
	}
	return population.New(params, o.seed)
}

// engine is one database with the engine built on it.
type engine struct {
	store *storage.Store
	proc  *app.Process
	ctx   context.Context // the account's
}

func open(ctx context.Context, path string, smart retry.Planner) (*engine, error) {
	st, err := storage.Open(ctx, "sqlite://"+path)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	proc, err := app.Build(st, app.Config{AttemptLease: time.Minute, ProcessorTimeout: 10 * time.Second, SmartPlanner: smart},
		clockwork.NewRealClock(), log)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &engine{store: st, proc: proc, ctx: ctx}, nil
}

// newAccount migrates e's database and creates an account named name on
// it, with a test clock frozen at clockAt; from then on e acts as the
// account's admin.
func (e *engine) newAccount(ctx context.Context, name string, clockAt time.Time) (accountID, clockID string, err error) {
	if _, err := e.store.Migrate(ctx); err != nil {
		return "", "", fmt.Errorf("migrate: %w", err)
	}
	acct, _, err := auth.CreateAccount(viewer.SystemContext(ctx), e.store.Client, name)
	if err != nil {
		return "", "", fmt.Errorf("create the account: %w", err)
	}
	e.ctx = viewer.NewContext(ctx, viewer.Viewer{AccountID: acct.ID, Role: viewer.RoleAdmin})
	clk, err := e.proc.Clocks.Create(e.ctx, testclocks.CreateInput{FrozenTime: clockAt})
	if err != nil {
		return "", "", fmt.Errorf("create the test clock: %w", err)
	}
	return acct.ID, clk.ID, nil
}

// unusableCards are the payment methods no longer active (a decline found
// the card expired or invalid): they cannot be billed again.
func unusableCards(ctx context.Context, db *ent.Client) (map[string]bool, error) {
	ids, err := db.PaymentMethod.Query().Where(paymentmethod.StatusNEQ(paymentmethod.StatusActive)).IDs(ctx)
	if err != nil {
		return nil, err
	}
	gone := map[string]bool{}
	for _, id := range ids {
		gone[id] = true
	}
	return gone, nil
}

func smartPlanner(o options, exploration float64, seed uint64) *retry.SmartPlanner {
	sp := retry.NewSmartPlanner(exploration, seed)
	if o.smooth >= 0 {
		sp.Smooth = o.smooth
	}
	sp.Anchor = o.anchor
	sp.AttemptCost = o.attemptCost
	if o.minGap > 0 {
		sp.MinGap = o.minGap
	}
	return sp
}

// trainInput is how the bench trains its model.
func (o options) trainInput() models.TrainInput {
	seed := int(o.seed)
	in := models.TrainInput{Seed: &seed}
	if o.trees > 0 {
		in.Trees = &o.trees
	}
	if o.minLeaf > 0 {
		in.MinLeaf = &o.minLeaf
	}
	return in
}

// copyDB copies the SQLite database at from to a new file to, consistently
// even while it is open elsewhere.
func copyDB(ctx context.Context, from, to string) error {
	src, err := storage.Open(ctx, "sqlite://"+from)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.DB.ExecContext(ctx, "VACUUM INTO ?", to); err != nil {
		return fmt.Errorf("copy the database: %w", err)
	}
	return nil
}

// seedCards writes a customer, card and mandate for each of the customers
// idx, with the card's token on processorID, 500 to a transaction; then,
// if set, in the same transaction, each card is handed to then.
func seedCards(ctx context.Context, db *ent.Client, pop *population.Population, idx []int, accountID, processorID, clockID string, at time.Time,
	then func(tx *ent.Tx, c seed.Card) error) (map[int]seed.Card, error) {
	cards := map[int]seed.Card{}
	for start := 0; start < len(idx); start += 500 {
		part := idx[start:min(start+500, len(idx))]
		specs := make([]seed.CardSpec, len(part))
		for j, i := range part {
			specs[j] = cardSpec(pop, i, clockID)
		}
		err := storage.WithTx(ctx, db, func(tx *ent.Tx) error {
			made, err := seed.WriteCards(ctx, tx, accountID, processorID, specs, at)
			if err != nil {
				return err
			}
			for j, c := range made {
				cards[part[j]] = c
				if then != nil {
					if err := then(tx, c); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("seed cards: %w", err)
		}
	}
	return cards, nil
}

// billing is when customer c is billed in month: midnight of their billing
// day, in their time zone (the payment's target date).
func billing(c population.Customer, month time.Time) time.Time {
	return time.Date(month.Year(), month.Month(), c.BillingDay, 0, 0, 0, 0, c.Location)
}

// cardSpec is the saved card of customer i, on the clock clockID: two in
// five are Mastercard, the rest Visa, credit or debit as the customer's.
func cardSpec(pop *population.Population, i int, clockID string) seed.CardSpec {
	c := pop.Customer(i)
	spec := seed.CardSpec{
		TimeZone: c.Location.String(), TestClockID: &clockID, Token: population.Token(pop.P, pop.Seed, i),
		Brand: paymentmethod.BrandVisa, Funding: paymentmethod.FundingDebit, Usage: mandate.UsageRecurring,
	}
	if i%5 < 2 {
		spec.Brand = paymentmethod.BrandMastercard
	}
	if c.Credit {
		spec.Funding = paymentmethod.FundingCredit
	}
	return spec
}

// bill creates the payments of customers in month on policyID; created,
// if set, hears each payment's ID and customer.
func bill(e *engine, cards map[int]seed.Card, pop *population.Population, customers []int, month time.Time, policyID string, created func(id string, i int)) error {
	for _, i := range customers {
		c := pop.Customer(i)
		card := cards[i]
		date := billing(c, month).Format(time.DateOnly)
		p, err := e.proc.Payments.CreateOffSessionPayment(e.ctx, payments.CreateOffSessionPaymentInput{
			CustomerID: card.CustomerID, PaymentMethodID: card.PaymentMethodID, MandateID: card.MandateID,
			Amount: c.Amount, Currency: "usd", Cadence: offsessionpayment.CadenceRecurring,
			TargetDate: &date, RetryPolicyID: &policyID,
		})
		if err != nil {
			return fmt.Errorf("bill customer %d: %w", i, err)
		}
		if created != nil {
			created(p.ID, i)
		}
	}
	return nil
}

// advance moves the clock a day at a time from from to to.
func advance(e *engine, clockID string, from, to time.Time, day func(time.Time)) error {
	for at := from.Add(24 * time.Hour); !at.After(to); at = at.Add(24 * time.Hour) {
		if _, err := e.proc.Clocks.Advance(e.ctx, clockID, at); err != nil {
			return fmt.Errorf("advance the clock to %s: %w", at.Format(time.DateOnly), err)
		}
		if day != nil {
			day(at)
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// runSelf runs this command again, as self, with its flags and args after
// them, and decodes what it prints into v: each strategy and each world
// runs in a process of its own.
func runSelf(ctx context.Context, self string, stderr io.Writer, v any, args ...string) error {
	cmd := exec.CommandContext(ctx, self, slices.Concat(os.Args[1:], args)...)
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return err
	}
	return json.Unmarshal(out, v)
}

// each calls do with each of ks in order, n at once, and waits for them
// all.
func each(n int, ks []int, do func(k int)) {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	for _, k := range ks {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			do(k)
		}()
	}
	wg.Wait()
}

// indices are 0, 1, ..., n-1.
func indices(n int) []int {
	ks := make([]int, n)
	for k := range ks {
		ks[k] = k
	}
	return ks
}
