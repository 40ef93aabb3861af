package models

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/offsession/offsession/internal/tz"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/ent/customer"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/ent/paymentmethod"
	"github.com/offsession/offsession/money"
	"github.com/offsession/offsession/scoring"
)

// Example is one retry in the history: the features of the decision that
// scheduled it, at the time it was made, and whether it was approved.
type Example struct {
	PaymentID string
	Number    int
	StartedAt time.Time
	// DecidedAt is when the retry was planned: the previous attempt's end.
	DecidedAt time.Time
	Row       scoring.Row
	// Context is the decision's context, kept for first retries only (the
	// backtest replans them).
	Context *scoring.Context
}

// Dataset builds the examples of the account's history: every retry that
// reached the issuer after a decline, with the features of the decision
// that scheduled it, oldest first.
func (s *Service) Dataset(ctx context.Context, progress func(string)) ([]Example, error) {
	var atts []scoring.StoredAttempt
	err := s.db.Attempt.Query().
		Where(attempt.OutcomeNEQ(attempt.OutcomeInFlight)).
		Order(ent.Asc(attempt.FieldStartedAt)).
		Select(scoring.StoredColumns...).
		Scan(ctx, &atts)
	if err != nil {
		return nil, fmt.Errorf("read attempts: %w", err)
	}
	if progress != nil {
		progress(fmt.Sprintf("read %d attempts", len(atts)))
	}
	infos, err := s.paymentInfos(ctx)
	if err != nil {
		return nil, err
	}
	byPayment := map[string][]scoring.StoredAttempt{}
	byCustomer := map[string][]scoring.StoredAttempt{}
	for _, a := range atts {
		byPayment[a.PaymentID] = append(byPayment[a.PaymentID], a)
		byCustomer[a.CustomerID] = append(byCustomer[a.CustomerID], a)
	}
	var out []Example
	x := make([]uint8, 0, scoring.NumFeatures)
	for pid, list := range byPayment {
		sort.Slice(list, func(i, j int) bool { return list[i].Number < list[j].Number })
		info, ok := infos[pid]
		if !ok {
			continue
		}
		for i := 1; i < len(list); i++ {
			prev, cur := list[i-1].Record(), list[i].Record()
			if prev.Approved || prev.Technical || cur.Technical || prev.FinishedAt.IsZero() || cur.Number != prev.Number+1 {
				continue
			}
			// The decision that scheduled cur, as the planner made it.
			c := scoring.DecisionContext(info, list[:i], byCustomer[list[0].CustomerID])
			x = scoring.Features(c, cur.StartedAt, x)
			ex := Example{
				PaymentID: pid, Number: cur.Number, StartedAt: cur.StartedAt, DecidedAt: prev.FinishedAt,
				Row: scoring.Row{X: append([]uint8(nil), x...), Approved: cur.Approved},
			}
			if cur.Number == 2 {
				ex.Context = c
			}
			out = append(out, ex)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.Before(out[j].StartedAt)
		}
		// Ties go by content, not by the (random) payment IDs, so the same
		// history trains the same model.
		if c := bytes.Compare(out[i].Row.X, out[j].Row.X); c != 0 {
			return c < 0
		}
		return !out[i].Row.Approved && out[j].Row.Approved
	})
	if progress != nil {
		progress(fmt.Sprintf("built %d examples", len(out)))
	}
	return out, nil
}

// paymentInfos reads what the features need of every payment.
func (s *Service) paymentInfos(ctx context.Context) (map[string]scoring.PaymentInfo, error) {
	var pays []struct {
		ID              string `json:"id"`
		Amount          int64  `json:"amount"`
		Currency        string `json:"currency"`
		Cadence         string `json:"cadence"`
		CustomerID      string `json:"customer_id"`
		PaymentMethodID string `json:"payment_method_id"`
	}
	if err := s.db.OffSessionPayment.Query().
		Select(offsessionpayment.FieldID, offsessionpayment.FieldAmount, offsessionpayment.FieldCurrency,
			offsessionpayment.FieldCadence, offsessionpayment.FieldCustomerID, offsessionpayment.FieldPaymentMethodID).
		Scan(ctx, &pays); err != nil {
		return nil, fmt.Errorf("read payments: %w", err)
	}
	var pms []struct {
		ID      string `json:"id"`
		Brand   string `json:"brand"`
		Funding string `json:"funding"`
		Country string `json:"issuing_country"`
	}
	if err := s.db.PaymentMethod.Query().
		Select(paymentmethod.FieldID, paymentmethod.FieldBrand, paymentmethod.FieldFunding, paymentmethod.FieldIssuingCountry).
		Scan(ctx, &pms); err != nil {
		return nil, fmt.Errorf("read payment methods: %w", err)
	}
	var cus []struct {
		ID       string `json:"id"`
		TimeZone string `json:"time_zone"`
	}
	if err := s.db.Customer.Query().Select(customer.FieldID, customer.FieldTimeZone).Scan(ctx, &cus); err != nil {
		return nil, fmt.Errorf("read customers: %w", err)
	}
	locs := map[string]*time.Location{}
	zones := map[string]*time.Location{}
	for _, c := range cus {
		loc, ok := zones[c.TimeZone]
		if !ok {
			var err error
			if loc, err = tz.Load(c.TimeZone); err != nil {
				loc = time.UTC
			}
			zones[c.TimeZone] = loc
		}
		locs[c.ID] = loc
	}
	pmByID := map[string]int{}
	for i, pm := range pms {
		pmByID[pm.ID] = i
	}
	out := make(map[string]scoring.PaymentInfo, len(pays))
	for _, p := range pays {
		info := scoring.PaymentInfo{Amount: p.Amount, Exponent: money.Exponent(p.Currency), Cadence: p.Cadence, Location: locs[p.CustomerID]}
		if i, ok := pmByID[p.PaymentMethodID]; ok {
			info.Brand, info.Funding, info.Country = pms[i].Brand, pms[i].Funding, pms[i].Country
		}
		out[p.ID] = info
	}
	return out, nil
}
