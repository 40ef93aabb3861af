// Package demo seeds a demo account for `offsession demo` and `make run`: a
// simulator processor, customers with saved cards and mandates, payments in
// each status, so the playground answers at once, and a history of retried
// payments of simulated customers, so a retry model can be trained at once. It goes
// through the payments service like any merchant would.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/customers"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/account"
	"github.com/offsession/offsession/ent/apikey"
	"github.com/offsession/offsession/ent/customer"
	"github.com/offsession/offsession/ent/mandate"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/ent/processor"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/httpapi/playground"
	"github.com/offsession/offsession/payments"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/testclocks"
	"github.com/offsession/offsession/viewer"
)

// AccountName names the demo account; seeding twice finds it again.
const AccountName = "Demo merchant"

// Seeded is what the demo made, with fresh keys in plain text.
type Seeded struct {
	AccountID       string
	Keys            auth.Keys
	ProcessorID     string
	CustomerID      string
	PaymentMethodID string
	MandateID       string
}

// Services are what the demo seeds through.
type Services struct {
	Payments   *payments.Service
	Customers  *customers.Service
	Processors *processors.Configs
	Clocks     *testclocks.Service
}

// Seed makes the demo account, or finds it and gives it fresh keys (keys are
// stored hashed, so old ones cannot be shown again). runDue runs the work
// that is due, so the seeded payments reach their statuses.
func Seed(ctx context.Context, db *ent.Client, svc Services, runDue func(context.Context) error) (*Seeded, error) {
	sys := viewer.SystemContext(ctx)
	acct, err := db.Account.Query().Where(account.Name(AccountName)).First(sys)
	if ent.IsNotFound(err) {
		return seedNew(ctx, db, svc, runDue)
	}
	if err != nil {
		return nil, fmt.Errorf("find demo account: %w", err)
	}
	out := &Seeded{AccountID: acct.ID}
	// The old keys were printed once and are gone; revoke them so keys do
	// not pile up at every start.
	if _, err := db.APIKey.Update().
		Where(apikey.AccountID(acct.ID), apikey.RevokedAtIsNil()).
		SetRevokedAt(time.Now().UTC()).
		Save(sys); err != nil {
		return nil, fmt.Errorf("revoke old demo keys: %w", err)
	}
	for role, dst := range map[viewer.Role]*string{
		viewer.RoleSecret: &out.Keys.Secret, viewer.RoleRestricted: &out.Keys.Restricted, viewer.RoleAdmin: &out.Keys.Admin,
	} {
		if *dst, _, err = auth.CreateKey(sys, db, acct.ID, role, fmt.Sprintf("demo %s key", role)); err != nil {
			return nil, err
		}
	}
	actx := viewer.AccountContext(ctx, acct.ID)
	if out.ProcessorID, err = db.Processor.Query().Where(processor.TypeEQ(processor.TypeSimulator)).FirstID(actx); err != nil {
		return nil, fmt.Errorf("find demo processor: %w", err)
	}
	if out.CustomerID, err = db.Customer.Query().Where(customer.ExternalRef("demo-ada")).FirstID(actx); err != nil {
		return nil, fmt.Errorf("find demo customer: %w", err)
	}
	if out.PaymentMethodID, err = db.PaymentMethod.Query().Where(paymentmethod.CustomerID(out.CustomerID), paymentmethod.StatusEQ(paymentmethod.StatusActive)).FirstID(actx); err != nil {
		return nil, fmt.Errorf("find demo payment method: %w", err)
	}
	if out.MandateID, err = db.Mandate.Query().Where(mandate.PaymentMethodID(out.PaymentMethodID), mandate.StatusEQ(mandate.StatusActive)).FirstID(actx); err != nil {
		return nil, fmt.Errorf("find demo mandate: %w", err)
	}
	return out, nil
}

type demoCustomer struct {
	ref, name, email, country, tz, token string
	brand                                paymentmethod.Brand
	funding                              paymentmethod.Funding
}

func seedNew(ctx context.Context, db *ent.Client, svc Services, runDue func(context.Context) error) (*Seeded, error) {
	acct, keys, err := auth.CreateAccount(viewer.SystemContext(ctx), db, AccountName)
	if err != nil {
		return nil, err
	}
	out := &Seeded{AccountID: acct.ID, Keys: keys}
	ctx = viewer.AccountContext(ctx, acct.ID)
	proc, err := svc.Processors.Create(ctx, processors.CreateInput{
		Name: "Simulator", Type: processor.TypeSimulator, CostPercentBps: ptr(290), CostFixed: ptr[int64](30),
	})
	if err != nil {
		return nil, err
	}
	out.ProcessorID = proc.ID

	people := []demoCustomer{
		{"demo-ada", "Ada Lovelace", "ada@example.com", "GB", "Europe/London", "pm_card_visa", paymentmethod.BrandVisa, paymentmethod.FundingCredit},
		{"demo-grace", "Grace Hopper", "grace@example.com", "US", "America/New_York", "pm_card_mastercard", paymentmethod.BrandMastercard, paymentmethod.FundingDebit},
		{"demo-alan", "Alan Turing", "alan@example.com", "GB", "Europe/London", "pm_card_chargeDeclinedInsufficientFunds", paymentmethod.BrandVisa, paymentmethod.FundingDebit},
		{"demo-katherine", "Katherine Johnson", "katherine@example.com", "US", "America/Chicago", "pm_card_chargeDeclinedLostCard", paymentmethod.BrandVisa, paymentmethod.FundingCredit},
		{"demo-hedy", "Hedy Lamarr", "hedy@example.com", "AT", "Europe/Vienna", "pm_card_visa_debit", paymentmethod.BrandVisa, paymentmethod.FundingDebit},
	}
	type cpm struct{ customerID, pmID, mandateID string }
	made := map[string]cpm{}
	now := time.Now().UTC()
	for i, p := range people {
		cus, err := svc.Customers.CreateCustomer(ctx, customers.CreateCustomerInput{
			ExternalRef: &p.ref, Name: &p.name, Email: &p.email, Country: &p.country, TimeZone: &p.tz,
		})
		if err != nil {
			return nil, fmt.Errorf("seed customer %s: %w", p.ref, err)
		}
		pm, err := svc.Customers.SavePaymentMethod(ctx, customers.SavePaymentMethodInput{
			CustomerID: cus.ID,
			Card: customers.CardDetailsInput{
				Brand: p.brand, Funding: p.funding, Last4: fmt.Sprintf("%04d", 4242+i), ExpMonth: 12, ExpYear: now.Year() + 3,
				IssuingCountry: &p.country, Fingerprint: "fp_" + p.ref,
			},
			ProcessorTokens: []schematype.ProcessorToken{{ProcessorID: proc.ID, Token: p.token, NetworkTransactionID: fmt.Sprintf("ntid%011d", 1000+i)}},
		})
		if err != nil {
			return nil, fmt.Errorf("seed payment method %s: %w", p.ref, err)
		}
		ip, ua := "203.0.113.10", "Mozilla/5.0 (demo)"
		m, err := svc.Customers.CreateMandate(ctx, customers.CreateMandateInput{
			CustomerID: cus.ID, PaymentMethodID: pm.ID, Usage: mandate.UsageRecurring,
			Terms: customers.MandateTermsInput{
				Text:                ptr("I authorise Demo merchant to charge my card each month for my subscription until I cancel."),
				Version:             "2026-01",
				TimingAndFrequency:  "monthly, on the day of sign-up",
				AmountDetermination: "the price of the plan, at most 50.00",
				CancellationPolicy:  "cancel any time in account settings; no charge after cancellation",
			},
			Acceptance: customers.MandateAcceptanceInput{Type: mandate.AcceptanceTypeOnline, IPAddress: &ip, UserAgent: &ua, AcceptedAt: now.Add(-24 * time.Hour)},
			Limits:     customers.MandateLimitsInput{UseLimit: mandate.UseLimitMultiUse, MaxAmount: 5000, Currency: "usd", Interval: ptr(mandate.IntervalMonth)},
		})
		if err != nil {
			return nil, fmt.Errorf("seed mandate %s: %w", p.ref, err)
		}
		made[p.ref] = cpm{cus.ID, pm.ID, m.ID}
	}
	out.CustomerID, out.PaymentMethodID, out.MandateID = made["demo-ada"].customerID, made["demo-ada"].pmID, made["demo-ada"].mandateID

	pay := func(ref string, amount int64, mutate func(*payments.CreateOffSessionPaymentInput)) (*ent.OffSessionPayment, error) {
		c := made[ref]
		in := payments.CreateOffSessionPaymentInput{
			CustomerID: c.customerID, PaymentMethodID: c.pmID, MandateID: c.mandateID,
			Amount: amount, Currency: "usd", Cadence: offsessionpayment.CadenceRecurring,
			Description: ptr("Monthly plan"), Metadata: schematype.StringMap{"plan": "pro", "seeded_by": "demo"},
		}
		if mutate != nil {
			mutate(&in)
		}
		p, err := svc.Payments.CreateOffSessionPayment(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("seed payment for %s: %w", ref, err)
		}
		return p, nil
	}
	manual := func(in *payments.CreateOffSessionPaymentInput) {
		in.CaptureMethod = ptr(offsessionpayment.CaptureMethodManual)
	}
	later := func(days int) func(*payments.CreateOffSessionPaymentInput) {
		return func(in *payments.CreateOffSessionPaymentInput) {
			in.TargetDate = ptr(now.AddDate(0, 0, days).Format("2006-01-02"))
		}
	}
	noRetries := func(in *payments.CreateOffSessionPaymentInput) {
		in.RetryStrategy = ptr(offsessionpayment.RetryStrategyNone)
	}
	scheduled := func(in *payments.CreateOffSessionPaymentInput) {
		in.RetryStrategy = ptr(offsessionpayment.RetryStrategyScheduled)
	}
	// Due now: they succeed, fail, wait for a retry or for capture as the
	// workers run.
	for _, s := range []struct {
		ref    string
		amount int64
		mut    func(*payments.CreateOffSessionPaymentInput)
	}{
		{"demo-ada", 1999, nil}, {"demo-grace", 2499, nil}, {"demo-hedy", 999, nil},
		{"demo-alan", 1999, nil}, {"demo-alan", 2999, scheduled}, {"demo-alan", 999, noRetries},
		{"demo-katherine", 2999, nil},
		{"demo-grace", 4500, manual}, {"demo-ada", 3000, manual},
	} {
		if _, err := pay(s.ref, s.amount, s.mut); err != nil {
			return nil, err
		}
	}
	// Pending: charged on a later day.
	if _, err := pay("demo-ada", 1999, later(7)); err != nil {
		return nil, err
	}
	if _, err := pay("demo-hedy", 999, later(14)); err != nil {
		return nil, err
	}
	toCancel, err := pay("demo-grace", 2499, later(3))
	if err != nil {
		return nil, err
	}
	if _, err := svc.Payments.CancelOffSessionPayment(ctx, toCancel.ID); err != nil {
		return nil, fmt.Errorf("seed canceled payment: %w", err)
	}
	if err := runDue(ctx); err != nil {
		return nil, fmt.Errorf("run seeded payments: %w", err)
	}
	// Capture one of the two authorizations, in part.
	authorized, err := db.OffSessionPayment.Query().
		Where(offsessionpayment.StatusEQ(offsessionpayment.StatusRequiresCapture), offsessionpayment.Amount(3000)).
		First(ctx)
	if err != nil {
		return nil, fmt.Errorf("find seeded authorization: %w", err)
	}
	if _, err := svc.Payments.CaptureOffSessionPayment(ctx, authorized.ID, ptr(2500)); err != nil {
		return nil, fmt.Errorf("capture seeded payment: %w", err)
	}
	// Pause one of the payments waiting for a retry.
	retrying, err := db.OffSessionPayment.Query().
		Where(offsessionpayment.StatusEQ(offsessionpayment.StatusPendingRetry), offsessionpayment.Amount(2999)).
		First(ctx)
	if err != nil {
		return nil, fmt.Errorf("find seeded retry: %w", err)
	}
	if _, err := svc.Payments.PauseOffSessionPayment(ctx, retrying.ID); err != nil {
		return nil, fmt.Errorf("pause seeded payment: %w", err)
	}
	if err := seedHistory(ctx, svc, proc.ID, now); err != nil {
		return nil, fmt.Errorf("seed the retry history: %w", err)
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }

// Examples is the playground's document of example operations.
const Examples = `# offsession: example operations. Pick one with the ▶ button.
# The variables below point at the demo account's objects.

query Viewer {
  viewer { role account { id name } }
}

query RecentPayments {
  offSessionPayments(first: 10, orderBy: [{field: CREATED_AT, direction: DESC}]) {
    totalCount
    edges {
      node {
        id status amount currency amountDecimal failureReason attemptCount nextAttemptAt
        attempts(first: 10) { edges { node { number outcome declineCode declineClass startedAt } } }
      }
    }
  }
}

mutation CreateCustomer($customer: CreateCustomerInput!) {
  createCustomer(input: $customer) { id name timeZone }
}

mutation SavePaymentMethod($paymentMethod: SavePaymentMethodInput!) {
  savePaymentMethod(input: $paymentMethod) { id brand funding last4 status }
}

mutation CreateMandate($mandate: CreateMandateInput!) {
  createMandate(input: $mandate) { id status usage maxAmount currency }
}

mutation CreateOffSessionPayment($payment: CreateOffSessionPaymentInput!) {
  createOffSessionPayment(input: $payment) { id status amountDecimal currency nextAttemptAt }
}

query Payment($paymentID: ID!) {
  node(id: $paymentID) {
    ... on OffSessionPayment {
      id status failureReason amountReceived
      attempts(first: 10) { edges { node { number outcome declineCode idempotencyKey finishedAt } } }
    }
  }
}

query Events {
  events(first: 20, orderBy: [{field: CREATED_AT, direction: DESC}]) {
    edges { node { type objectID createdAt data } }
  }
}
`

// Playground returns the playground's start for the seeded account: the
// secret key in the headers and variables that point at its objects.
func Playground(s *Seeded) playground.Config {
	headers, _ := json.MarshalIndent(map[string]string{"Authorization": "Bearer " + s.Keys.Secret}, "", "  ")
	vars := map[string]any{
		"customer": map[string]any{"name": "Joan Clarke", "email": "joan@example.com", "country": "GB", "timeZone": "Europe/London"},
		"paymentMethod": map[string]any{
			"customerID": s.CustomerID,
			"card": map[string]any{"brand": "visa", "funding": "credit", "last4": "4242", "expMonth": 12,
				"expYear": time.Now().Year() + 2, "issuingCountry": "GB", "fingerprint": "fp_playground"},
			"processorTokens": []map[string]any{{"processorID": s.ProcessorID, "token": "pm_card_visa"}},
		},
		"mandate": map[string]any{
			"customerID": s.CustomerID, "paymentMethodID": s.PaymentMethodID, "usage": "recurring",
			"terms": map[string]any{"text": "I authorise monthly charges for my plan.", "version": "2026-01",
				"timingAndFrequency": "monthly", "amountDetermination": "the plan price", "cancellationPolicy": "cancel any time"},
			"acceptance": map[string]any{"type": "offline", "acceptedAt": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)},
			"limits":     map[string]any{"useLimit": "multi_use", "maxAmount": 5000, "currency": "usd"},
		},
		"payment": map[string]any{
			"customerID": s.CustomerID, "paymentMethodID": s.PaymentMethodID, "mandateID": s.MandateID,
			"amount": 1999, "currency": "usd", "cadence": "recurring", "description": "Monthly plan",
		},
		"paymentID": "osp_...",
	}
	v, _ := json.MarshalIndent(vars, "", "  ")
	return playground.Config{Headers: string(headers), Query: Examples, Variables: string(v)}
}

// DefaultPlayground is the playground's start without demo data.
func DefaultPlayground() playground.Config {
	return playground.Config{
		Headers:   "{\n  \"Authorization\": \"Bearer <your secret key>\"\n}",
		Query:     Examples,
		Variables: "{}",
	}
}
