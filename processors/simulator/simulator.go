// Package simulator is the built-in processor: programmed test tokens,
// a decline rate, latency and degradation from settings, and simulated
// populations (internal/population), with a ledger keyed by idempotency
// key as a real processor keeps.
package simulator

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/simulatorcharge"
	"github.com/offsession/offsession/internal/population"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/viewer"
)

// TestTokens are the simulator's deterministic test payment methods, named
// as Stripe's are. Each always gives the same outcome.
var TestTokens = map[string]connector.Outcome{
	"pm_card_visa":                            {Result: connector.Approved},
	"pm_card_visa_debit":                      {Result: connector.Approved},
	"pm_card_mastercard":                      {Result: connector.Approved},
	"pm_card_mastercard_debit":                {Result: connector.Approved},
	"pm_card_amex":                            {Result: connector.Approved},
	"pm_card_discover":                        {Result: connector.Approved},
	"pm_card_chargeDeclined":                  {Result: connector.Declined, DeclineCode: "generic_decline", NetworkDeclineCode: "05"},
	"pm_card_chargeDeclinedInsufficientFunds": {Result: connector.Declined, DeclineCode: "insufficient_funds", NetworkDeclineCode: "51"},
	"pm_card_chargeDeclinedExpiredCard":       {Result: connector.Declined, DeclineCode: "expired_card", NetworkDeclineCode: "54"},
	"pm_card_chargeDeclinedLostCard":          {Result: connector.Declined, DeclineCode: "lost_card", NetworkDeclineCode: "41"},
	"pm_card_chargeDeclinedStolenCard":        {Result: connector.Declined, DeclineCode: "stolen_card", NetworkDeclineCode: "43"},
	"pm_card_chargeDeclinedIncorrectNumber":   {Result: connector.Declined, DeclineCode: "incorrect_number", NetworkDeclineCode: "14"},
	"pm_card_chargeDeclinedProcessingError":   {Result: connector.Declined, DeclineCode: "processing_error", NetworkDeclineCode: "96"},
	"pm_card_chargeDeclinedVelocityExceeded":  {Result: connector.Declined, DeclineCode: "card_velocity_exceeded", NetworkDeclineCode: "61"},
	"pm_card_authenticationRequired":          {Result: connector.Declined, DeclineCode: "authentication_required", NetworkDeclineCode: "1A"},
}

// declineTokenPrefix starts a programmable decline token:
// sim_decline.CODE.ADVICE.NETWORK, with - for an absent code. For example
// sim_decline.do_not_honor.24.05 declines with do_not_honor, Mastercard
// advice 24 and network code 05; sim_decline.-.-.R1 with only Visa's R1.
const declineTokenPrefix = "sim_decline."

// programmed reads a programmable decline token.
func programmed(token string) (connector.Outcome, bool) {
	rest, ok := strings.CutPrefix(token, declineTokenPrefix)
	if !ok {
		return connector.Outcome{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return connector.Outcome{}, false
	}
	for i, p := range parts {
		if p == "-" {
			parts[i] = ""
		}
	}
	return connector.Outcome{Result: connector.Declined, DeclineCode: parts[0], NetworkAdviceCode: parts[1], NetworkDeclineCode: parts[2]}, true
}

// unknownToken is what the simulator says of a token it does not know: what
// a processor says of a card it has no record of.
var unknownToken = connector.Outcome{Result: connector.Declined, DeclineCode: "invalid_account", NetworkDeclineCode: "14", Message: "simulator: unknown test token"}

// simulator is the built-in processor. It keeps a ledger keyed by idempotency
// key, as a real processor does, so a repeated call gets the first answer.
type simulator struct {
	db          *ent.Client
	processorID string
	latency     time.Duration
	outage      bool
	// dropFirstResponse loses the answer to the first call of each key after
	// the charge is made, as a network failure would: the caller cannot
	// tell whether it was charged.
	dropFirstResponse bool
	// settings holds decline_rate (the share of approvals this processor
	// turns into do_not_honor, a population customer's as any other's),
	// also per brand (decline_rate:visa) and per segment
	// (decline_rate:visa/credit/US/usd): processors differ in how well they
	// get cards approved.
	settings map[string]string
	// degradeFrom and degradeRate make the processor degrade: from
	// degradeFrom on the payment's clock (setting degrade_from, RFC 3339),
	// it turns a further share degradeRate of the approvals it has left into
	// do_not_honor (setting degrade_decline_rate, 0 to 1), as a processor
	// does whose approvals fall off. Either setting missing or unreadable:
	// no degradation.
	degradeFrom time.Time
	degradeRate float64
}

// New returns the simulator configured as p, keeping its ledger in db.
func New(db *ent.Client, p *ent.Processor) connector.Connector {
	s := &simulator{db: db, processorID: p.ID}
	if ms, err := strconv.Atoi(p.Settings["latency_ms"]); err == nil && ms > 0 {
		s.latency = time.Duration(ms) * time.Millisecond
	}
	s.outage = p.Settings["outage"] == "true"
	s.dropFirstResponse = p.Settings["drop_first_response"] == "true"
	s.settings = p.Settings
	from, err := time.Parse(time.RFC3339, p.Settings["degrade_from"])
	rate, rateErr := strconv.ParseFloat(p.Settings["degrade_decline_rate"], 64)
	if err == nil && rateErr == nil && rate > 0 {
		s.degradeFrom, s.degradeRate = from, min(rate, 1)
	}
	return s
}

func (s *simulator) Authorize(ctx context.Context, req connector.AuthorizeRequest) (connector.Outcome, error) {
	ctx = viewer.SystemContext(ctx)
	// A repeated key is answered from the ledger when recording the new
	// charge finds the key taken (record), so a first call costs no lookup.
	if s.outage {
		return connector.Outcome{Result: connector.TechnicalError, Message: "simulator: processor outage"}, nil
	}
	// The latency stands for the processor's work: real time, not the
	// payment's clock, because it only widens the window in which a crash
	// leaves the attempt in flight.
	if s.latency > 0 {
		select {
		case <-time.After(s.latency):
		case <-ctx.Done():
			return connector.Outcome{}, fmt.Errorf("simulator: %w: %w", connector.ErrUnknownOutcome, ctx.Err())
		}
	}
	out, ok := TestTokens[req.Token]
	if !ok {
		if out, ok = programmed(req.Token); !ok {
			var err error
			if out, ok, err = s.population(ctx, req); err != nil {
				return connector.Outcome{}, err
			}
			if !ok {
				out = unknownToken
			}
		}
	}
	// The processor's own declines apply to every approval, a population
	// customer's too.
	if out.Result == connector.Approved && draw(s.processorID, req.IdempotencyKey) < s.declineRate(req) {
		out = connector.Outcome{Result: connector.Declined, DeclineCode: "do_not_honor", NetworkDeclineCode: "05"}
	}
	return s.record(ctx, req, out)
}

// population answers for a simulated customer (a sim_pop token) from the
// population's hidden state at the payment's time, worn by the declines on
// the card in the seven days before.
func (s *simulator) population(ctx context.Context, req connector.AuthorizeRequest) (connector.Outcome, bool, error) {
	preset, seed, index, ok := population.FromToken(req.Token)
	if !ok {
		return connector.Outcome{}, false, nil
	}
	pop, err := populationFor(preset, seed)
	if err != nil {
		return connector.Outcome{}, true, err
	}
	recent, err := s.db.SimulatorCharge.Query().
		Where(
			simulatorcharge.Token(req.Token),
			simulatorcharge.Outcome(string(connector.Declined)),
			simulatorcharge.AtGT(req.At.Add(-7*24*time.Hour)),
			simulatorcharge.AtLT(req.At),
		).
		Count(ctx)
	if err != nil {
		return connector.Outcome{}, true, fmt.Errorf("simulator: count recent declines: %w: %w", connector.ErrUnknownOutcome, err)
	}
	ans := pop.Answer(pop.Customer(index), req.At, recent)
	if ans.Approved {
		return connector.Outcome{Result: connector.Approved}, true, nil
	}
	return connector.Outcome{Result: connector.Declined, DeclineCode: ans.DeclineCode, NetworkDeclineCode: ans.NetworkDeclineCode}, true, nil
}

var populations sync.Map // "preset/seed" → *population.Population

// populationFor returns the population of a preset and seed, made once.
func populationFor(preset string, seed uint64) (*population.Population, error) {
	key := fmt.Sprintf("%s/%d", preset, seed)
	if p, ok := populations.Load(key); ok {
		return p.(*population.Population), nil
	}
	params, ok := population.Named(preset)
	if !ok {
		return nil, fmt.Errorf("simulator: unknown population %q", preset)
	}
	p, err := population.New(params, seed)
	if err != nil {
		return nil, err
	}
	actual, _ := populations.LoadOrStore(key, p)
	return actual.(*population.Population), nil
}

// record writes the charge in the ledger and returns its outcome; a
// concurrent call with the same key that got there first wins.
func (s *simulator) record(ctx context.Context, req connector.AuthorizeRequest, out connector.Outcome) (connector.Outcome, error) {
	out.Reference = "sim_" + req.IdempotencyKey
	err := s.db.SimulatorCharge.Create().
		SetProcessorID(s.processorID).
		SetIdempotencyKey(req.IdempotencyKey).
		SetToken(req.Token).
		SetAt(req.At.UTC()).
		SetAmount(req.Amount).
		SetCurrency(req.Currency).
		SetManualCapture(req.ManualCapture).
		SetOutcome(string(out.Result)).
		SetDeclineCode(out.DeclineCode).
		SetNetworkAdviceCode(out.NetworkAdviceCode).
		SetNetworkDeclineCode(out.NetworkDeclineCode).
		Exec(ctx)
	if ent.IsConstraintError(err) {
		// A concurrent call with the same key got there first.
		prior, err := s.replay(ctx, req)
		if prior == nil {
			return connector.Outcome{}, fmt.Errorf("simulator: %w: %w", connector.ErrUnknownOutcome, err)
		}
		return *prior, err
	}
	if err != nil {
		return connector.Outcome{}, fmt.Errorf("simulator: record charge: %w: %w", connector.ErrUnknownOutcome, err)
	}
	if s.dropFirstResponse {
		return connector.Outcome{}, fmt.Errorf("simulator: response lost: %w", connector.ErrUnknownOutcome)
	}
	return out, nil
}

// declineRate is the share of approvals the processor turns into declines
// for the request: the most specific decline rate set for its card and,
// from degradeFrom on the request's time, degradeRate of the approvals that
// leaves. One draw decides both, so a degraded processor declines every
// request it would have declined anyway, and more.
func (s *simulator) declineRate(req connector.AuthorizeRequest) float64 {
	rate := 0.0
	segment := strings.Join([]string{req.CardBrand, req.CardFunding, req.CardCountry, req.Currency}, "/")
	for _, key := range []string{"decline_rate:" + segment, "decline_rate:" + req.CardBrand, "decline_rate"} {
		if v, err := strconv.ParseFloat(s.settings[key], 64); err == nil {
			rate = v
			break
		}
	}
	if s.degradeRate > 0 && !req.At.Before(s.degradeFrom) {
		rate = 1 - (1-rate)*(1-s.degradeRate)
	}
	return rate
}

// draw maps a processor and key to [0, 1) evenly and repeatably: the same
// call always draws the same. FNV-1a, then the SplitMix64 finalizer: the
// keys of one payment's attempts differ only in their last characters,
// which leave FNV-1a's high bits almost unchanged, and each attempt must
// draw afresh.
func draw(processorID, key string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(processorID + "/" + key))
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// replay returns the outcome recorded for the request's idempotency key, or
// nil if there is none. Reusing a key with other parameters is refused, as
// processors refuse it.
func (s *simulator) replay(ctx context.Context, req connector.AuthorizeRequest) (*connector.Outcome, error) {
	c, err := s.db.SimulatorCharge.Query().
		Where(simulatorcharge.IdempotencyKey(req.IdempotencyKey)).
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("simulator: look up key: %w: %w", connector.ErrUnknownOutcome, err)
	}
	if c.Token != req.Token || c.Amount != req.Amount || c.Currency != req.Currency {
		// As Stripe does: the key's first request stands. Whatever it did,
		// the caller cannot learn it from this answer.
		return nil, fmt.Errorf("simulator: idempotency key %s reused with other parameters: %w", req.IdempotencyKey, connector.ErrUnknownOutcome)
	}
	if err := s.db.SimulatorCharge.UpdateOne(c).AddCalls(1).Exec(ctx); err != nil {
		return nil, fmt.Errorf("simulator: count call: %w: %w", connector.ErrUnknownOutcome, err)
	}
	return &connector.Outcome{
		Result:             connector.Result(c.Outcome),
		DeclineCode:        c.DeclineCode,
		NetworkAdviceCode:  c.NetworkAdviceCode,
		NetworkDeclineCode: c.NetworkDeclineCode,
		Reference:          "sim_" + c.IdempotencyKey,
	}, nil
}

func (s *simulator) Capture(ctx context.Context, req connector.CaptureRequest) error {
	ctx = viewer.SystemContext(ctx)
	n, err := s.db.SimulatorCharge.Update().
		Where(
			simulatorcharge.IdempotencyKey(req.AuthorizationKey),
			simulatorcharge.Outcome(string(connector.Approved)),
			simulatorcharge.ManualCapture(true),
			simulatorcharge.Voided(false),
		).
		SetAmountCaptured(req.Amount).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("simulator: capture: %w: %w", connector.ErrUnknownOutcome, err)
	}
	if n == 0 {
		return fmt.Errorf("simulator: no capturable authorization for %s", req.AuthorizationKey)
	}
	return nil
}

func (s *simulator) Void(ctx context.Context, req connector.VoidRequest) error {
	ctx = viewer.SystemContext(ctx)
	n, err := s.db.SimulatorCharge.Update().
		Where(
			simulatorcharge.IdempotencyKey(req.AuthorizationKey),
			simulatorcharge.AmountCaptured(0),
		).
		SetVoided(true).
		Save(ctx)
	if err != nil {
		return fmt.Errorf("simulator: void: %w: %w", connector.ErrUnknownOutcome, err)
	}
	if n == 0 {
		return fmt.Errorf("simulator: no open authorization for %s", req.AuthorizationKey)
	}
	return nil
}
