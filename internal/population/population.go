// Package population simulates the customers behind off-session payments:
// when they have money, when their bank holds their card, when their card
// expires or is lost, how issuers behave by hour and weekday, and how
// attempts wear an issuer's patience. The simulator processor draws its
// answers from it; the recovery benchmark uses it to make realistic failed
// payments and, as an oracle, to know the ceiling.
//
// Everything is a pure function of the parameters, a seed, a customer's
// index and the time on the payment's clock: the same call always gives the
// same answer, and nothing reads the wall clock.
package population

import (
	"fmt"
	"github.com/offsession/offsession/tz"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Zone is a time zone and its share of customers.
type Zone struct {
	Name  string
	Share float64
}

// Params are every parameter of a simulated population, with where its
// default comes from (reference/peers-and-simulator-facts.md, section 6).
type Params struct {
	// Name identifies the parameter set in tokens.
	Name string
	// PayCycles are the shares of customers paid weekly, biweekly (both on
	// Fridays), semimonthly (1st and 15th) and monthly (the 1st): the BLS
	// mix of 32.4%, 36.5%, 19.8% and 11.3%.
	PayCycles [4]float64
	// PostingLagDays is the most days, after payday, the deposit takes to
	// post; it is available from PostingHour local time.
	PostingLagDays int
	PostingHour    int
	// Zones spread customers over time zones.
	Zones []Zone
	// CreditShare is the share of credit cards (61% in Recurly's data).
	// Customers pay down their card on payday, so a credit card's room comes
	// back then too.
	CreditShare float64
	// TightShare is the share of customers whose money runs out before the
	// next payday; for them it lasts a fraction of the cycle after payday,
	// drawn from TightWindow. Everyone else always has enough. Credit card
	// holders are tight CreditTightness times as often.
	TightShare      float64
	TightWindow     [2]float64
	CreditTightness float64
	// HoldRate is the chance, per customer and 30 days, that the issuer
	// puts a temporary hold on the card (answered as do-not-honor), lasting
	// HoldDays.
	HoldRate float64
	HoldDays [2]float64
	// StaleRate is the chance per 30 days that the card expires with the
	// merchant holding old data; UpdateShare of those get new card data
	// (account updater, network token, the customer) after UpdateDays.
	StaleRate   float64
	UpdateShare float64
	UpdateDays  [2]float64
	// HardRate is the chance per 30 days that the card is lost, stolen or
	// closed: never approved again.
	HardRate float64
	// Approval is the issuer's approval of a card that has the money and no
	// hold; NightFactor multiplies the decline chance from 01:00 to 05:00
	// local (declines are 44-55% likelier then), WeekendFactor on weekends.
	Approval      float64
	NightFactor   float64
	WeekendFactor float64
	// Fatigue multiplies the approval chance per declined attempt on the
	// card in the last seven days: issuers tire of retries.
	Fatigue float64
	// NSFAsGeneric is the share of declines for a lack of money that the
	// issuer reports as do_not_honor or generic_decline instead of
	// insufficient_funds ("about half").
	NSFAsGeneric float64
	// Amounts bound a payment's amount, in cents.
	Amounts [2]int64

	// The calendar, for the worlds (World) to vary; zero values keep the
	// calibrated defaults' calendar.
	//
	// PayWeekdays are the weekdays weekly and biweekly pay lands on, one
	// drawn per customer; nil: Friday.
	PayWeekdays []time.Weekday
	// PayDays are the days of the month semimonthly pay lands on (monthly:
	// the first); zero: the 1st and the 15th.
	PayDays [2]int
	// PayDayJitter is the most days a customer's pay days of the month
	// fall later than PayDays (employers differ); drawn per customer.
	PayDayJitter int
	// NightHours are the local hours [from, to) NightFactor applies in;
	// zero: 01:00 to 05:00.
	NightHours [2]int
}

// Default is the calibrated default population: US-heavy, with European and
// Japanese customers.
func Default() Params {
	return Params{
		Name:           "default",
		PayCycles:      [4]float64{0.324, 0.365, 0.198, 0.113},
		PostingLagDays: 1,
		PostingHour:    6,
		Zones: []Zone{
			{"America/New_York", 0.30}, {"America/Chicago", 0.15}, {"America/Los_Angeles", 0.15},
			{"Europe/London", 0.15}, {"Europe/Berlin", 0.15}, {"Asia/Tokyo", 0.10},
		},
		CreditShare:     0.61,
		TightShare:      0.10,
		TightWindow:     [2]float64{0.03, 0.15},
		CreditTightness: 0.7,
		HoldRate:        0.06,
		HoldDays:        [2]float64{3, 15},
		StaleRate:       0.006,
		UpdateShare:     0.4,
		UpdateDays:      [2]float64{14, 28},
		HardRate:        0.004,
		Approval:        0.975,
		NightFactor:     3,
		WeekendFactor:   1.3,
		Fatigue:         0.8,
		NSFAsGeneric:    0.5,
		Amounts:         [2]int64{500, 5000},
	}
}

// Alternative is a differently made population, to show that a model learns
// the population rather than encoding one: mostly paid monthly and
// semimonthly, in Asia-Pacific and Europe, mostly debit, with more holds and
// fewer lacks of money.
func Alternative() Params {
	p := Default()
	p.Name = "alternative"
	p.PayCycles = [4]float64{0.10, 0.15, 0.35, 0.40}
	p.Zones = []Zone{
		{"Asia/Tokyo", 0.25}, {"Australia/Sydney", 0.25}, {"Asia/Singapore", 0.15},
		{"Europe/Paris", 0.20}, {"Europe/Madrid", 0.15},
	}
	p.CreditShare = 0.35
	p.TightShare = 0.08
	p.TightWindow = [2]float64{0.05, 0.2}
	p.HoldRate = 0.09
	p.HoldDays = [2]float64{2, 10}
	p.NSFAsGeneric = 0.3
	return p
}

// Presets are the named parameter sets.
func Presets() map[string]Params {
	return map[string]Params{"default": Default(), "alternative": Alternative()}
}

// Named returns the parameters of a preset or of a world ("world-SEED").
func Named(name string) (Params, bool) {
	if p, ok := Presets()[name]; ok {
		return p, true
	}
	if s, ok := strings.CutPrefix(name, "world-"); ok {
		if seed, err := strconv.ParseUint(s, 10, 64); err == nil {
			return World(seed), true
		}
	}
	return Params{}, false
}

// Cycle is how a customer is paid.
type Cycle int

// The pay cycles.
const (
	Weekly Cycle = iota
	Biweekly
	Semimonthly
	Monthly
)

func (c Cycle) String() string {
	return [...]string{"weekly", "biweekly", "semimonthly", "monthly"}[c]
}

// Customer is one simulated customer's hidden state.
type Customer struct {
	Index    int
	Location *time.Location
	Credit   bool
	Cycle    Cycle
	// Parity picks the biweekly Fridays.
	Parity int
	// LagDays is this customer's deposit posting lag.
	LagDays int
	// Window is the share of the cycle the money lasts; 1 or more: always.
	Window float64
	// BillingDay and BillingHour are when the merchant bills them monthly.
	BillingDay, BillingHour int
	Amount                  int64
	// PayWeekday and DayShift place the customer's paydays (see
	// Params.PayWeekdays, PayDayJitter).
	PayWeekday time.Weekday
	DayShift   int
	seed       uint64
}

// Population is a population for a seed.
type Population struct {
	P    Params
	Seed uint64
	locs []*time.Location
}

// New returns the population of p for seed.
func New(p Params, seed uint64) (*Population, error) {
	pop := &Population{P: p, Seed: seed}
	for _, z := range p.Zones {
		loc, err := tz.Load(z.Name)
		if err != nil {
			return nil, fmt.Errorf("population %s: %w", p.Name, err)
		}
		pop.locs = append(pop.locs, loc)
	}
	return pop, nil
}

func (pop *Population) rng(i int, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(pop.Seed^0x9e3779b97f4a7c15*uint64(i+1), stream))
}

// Customer returns customer i.
func (pop *Population) Customer(i int) Customer {
	r := pop.rng(i, 1)
	p := pop.P
	c := Customer{Index: i, seed: pop.Seed}
	c.Location = pop.locs[pick(r.Float64(), func(k int) float64 { return p.Zones[k].Share }, len(p.Zones))]
	c.Credit = r.Float64() < p.CreditShare
	c.Cycle = Cycle(pick(r.Float64(), func(k int) float64 { return p.PayCycles[k] }, 4))
	c.Parity = r.IntN(2)
	c.LagDays = r.IntN(p.PostingLagDays + 1)
	c.Window = 2
	tight := p.TightShare
	if c.Credit {
		tight *= p.CreditTightness
	}
	if r.Float64() < tight {
		c.Window = p.TightWindow[0] + r.Float64()*(p.TightWindow[1]-p.TightWindow[0])
	}
	c.BillingDay = 1 + r.IntN(28)
	c.BillingHour = r.IntN(24)
	c.Amount = p.Amounts[0] + r.Int64N(p.Amounts[1]-p.Amounts[0])
	// The calendar's draws come from a stream of their own, so the
	// calibrated populations' customers are what they were.
	cal := pop.rng(i, 7)
	c.PayWeekday = time.Friday
	if n := len(p.PayWeekdays); n > 0 {
		c.PayWeekday = p.PayWeekdays[cal.IntN(n)]
	}
	if p.PayDayJitter > 0 {
		c.DayShift = cal.IntN(p.PayDayJitter + 1)
	}
	return c
}

func pick(u float64, share func(int) float64, n int) int {
	total := 0.0
	for k := 0; k < n; k++ {
		total += share(k)
	}
	acc := 0.0
	for k := 0; k < n; k++ {
		acc += share(k) / total
		if u < acc {
			return k
		}
	}
	return n - 1
}

// lastRefill is when the customer's money last came back (the payday's
// deposit posted) at or before t, and how long the cycle is.
func (pop *Population) lastRefill(c Customer, t time.Time) (time.Time, time.Duration) {
	lt := t.In(c.Location)
	at := func(d time.Time) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day(), pop.P.PostingHour, 0, 0, 0, c.Location)
	}
	switch c.Cycle {
	case Weekly, Biweekly:
		step := 7
		if c.Cycle == Biweekly {
			step = 14
		}
		// The paydays (Fridays by default): biweekly ones by the parity of
		// the week.
		day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, c.Location)
		for k := 0; k < 21; k++ {
			d := day.AddDate(0, 0, -k)
			if d.Weekday() != c.PayWeekday {
				continue
			}
			if c.Cycle == Biweekly && int(d.Unix()/(7*86400))%2 != c.Parity {
				continue
			}
			if r := at(d.AddDate(0, 0, c.LagDays)); !r.After(t) {
				return r, time.Duration(step) * 24 * time.Hour
			}
		}
	case Semimonthly, Monthly:
		days := []int{1, 15}
		if pd := pop.P.PayDays; pd[0] > 0 {
			days = []int{pd[0], pd[1]}
		}
		for k := range days {
			days[k] += c.DayShift
		}
		length := 15 * 24 * time.Hour
		if c.Cycle == Monthly {
			days, length = days[:1], 30*24*time.Hour
		}
		for m := 0; m < 3; m++ {
			for k := len(days) - 1; k >= 0; k-- {
				d := time.Date(lt.Year(), lt.Month()-time.Month(m), days[k]+c.LagDays, 0, 0, 0, 0, c.Location)
				if r := at(d); !r.After(t) {
					return r, length
				}
			}
		}
	}
	return t.Add(-30 * 24 * time.Hour), 30 * 24 * time.Hour
}

// HasMoney reports whether the customer's money (or credit) covers a charge
// at t.
func (pop *Population) HasMoney(c Customer, t time.Time) bool {
	if c.Window >= 1 {
		return true
	}
	from, length := pop.lastRefill(c, t)
	return float64(t.Sub(from)) < c.Window*float64(length)
}

// month30 numbers 30-day periods, for events drawn per period.
func month30(t time.Time) int64 { return t.Unix() / (30 * 86400) }

// event draws, for a customer and a 30-day period, whether an event of the
// given kind starts in it, when, and a uniform number for its length.
func (pop *Population) event(c Customer, kind uint64, period int64, rate float64) (start time.Time, u float64, ok bool) {
	r := rand.New(rand.NewPCG(pop.Seed^uint64(c.Index)*0x2545f4914f6cdd1d, kind<<32^uint64(period)))
	if r.Float64() >= rate {
		return time.Time{}, 0, false
	}
	start = time.Unix(period*30*86400+r.Int64N(30*86400), 0)
	return start, r.Float64(), true
}

// State is what the issuer sees of a customer at a time, the hidden causes
// behind its answer.
type State struct {
	Hard, Stale, Hold, NoMoney bool
	// UpdatedAt is when stale card data gets updated, if it does.
	UpdatedAt *time.Time
}

// StateAt returns the customer's hidden state at t.
func (pop *Population) StateAt(c Customer, t time.Time) State {
	var s State
	p := pop.P
	now := month30(t)
	// Only recent events matter: a card lost long ago was replaced, or its
	// customer is gone.
	for period := now - 1; period <= now; period++ {
		if start, _, ok := pop.event(c, 3, period, p.HardRate); ok && !start.After(t) {
			s.Hard = true
		}
	}
	for period := now - 1; period <= now; period++ {
		if start, u, ok := pop.event(c, 2, period, p.StaleRate); ok && !start.After(t) {
			r := rand.New(rand.NewPCG(uint64(period), uint64(c.Index)))
			if r.Float64() < p.UpdateShare {
				upd := start.Add(time.Duration((p.UpdateDays[0] + u*(p.UpdateDays[1]-p.UpdateDays[0])) * 24 * float64(time.Hour)))
				if t.Before(upd) {
					s.Stale, s.UpdatedAt = true, &upd
				}
			} else {
				s.Stale = true
			}
		}
		if start, u, ok := pop.event(c, 1, period, p.HoldRate); ok && !start.After(t) {
			days := p.HoldDays[0] + u*(p.HoldDays[1]-p.HoldDays[0])
			if t.Before(start.Add(time.Duration(days * 24 * float64(time.Hour)))) {
				s.Hold = true
			}
		}
	}
	s.NoMoney = !pop.HasMoney(c, t)
	return s
}

// Approval is the chance an attempt at t is approved, given the declined
// attempts on the card in the seven days before: what an oracle knows.
func (pop *Population) Approval(c Customer, t time.Time, recentDeclines int) float64 {
	s := pop.StateAt(c, t)
	switch {
	case s.Hard, s.Stale:
		return 0
	case s.Hold:
		return 0.02
	case s.NoMoney:
		return 0.01
	}
	decline := 1 - pop.P.Approval
	lt := t.In(c.Location)
	night := [2]int{1, 5}
	if nh := pop.P.NightHours; nh != [2]int{} {
		night = nh
	}
	if h := lt.Hour(); h >= night[0] && h < night[1] {
		decline *= pop.P.NightFactor
	}
	if wd := lt.Weekday(); wd == time.Saturday || wd == time.Sunday {
		decline *= pop.P.WeekendFactor
	}
	return (1 - decline) * math.Pow(pop.P.Fatigue, float64(recentDeclines))
}

// Answer is the issuer's answer to an attempt.
type Answer struct {
	Approved           bool
	DeclineCode        string
	NetworkDeclineCode string
}

// Answer draws the issuer's answer to an attempt on customer c at t. The
// draw is the same for the same customer and minute, so a repeated call
// gets the same answer.
func (pop *Population) Answer(c Customer, t time.Time, recentDeclines int) Answer {
	u := unit(pop.Seed, uint64(c.Index), uint64(t.Unix()/60), 0)
	if u < pop.Approval(c, t, recentDeclines) {
		return Answer{Approved: true}
	}
	s := pop.StateAt(c, t)
	code := unit(pop.Seed, uint64(c.Index), uint64(t.Unix()/60), 1)
	switch {
	case s.Hard:
		return pick3(code, Answer{DeclineCode: "lost_card", NetworkDeclineCode: "41"},
			Answer{DeclineCode: "stolen_card", NetworkDeclineCode: "43"}, Answer{DeclineCode: "pickup_card", NetworkDeclineCode: "04"})
	case s.Stale:
		return Answer{DeclineCode: "expired_card", NetworkDeclineCode: "54"}
	case s.Hold:
		if code < 0.7 {
			return Answer{DeclineCode: "do_not_honor", NetworkDeclineCode: "05"}
		}
		return Answer{DeclineCode: "generic_decline", NetworkDeclineCode: "05"}
	case s.NoMoney:
		switch {
		case code >= pop.P.NSFAsGeneric:
			return Answer{DeclineCode: "insufficient_funds", NetworkDeclineCode: "51"}
		case code < pop.P.NSFAsGeneric*0.6:
			return Answer{DeclineCode: "do_not_honor", NetworkDeclineCode: "05"}
		}
		return Answer{DeclineCode: "generic_decline", NetworkDeclineCode: "05"}
	}
	switch {
	case code < 0.6:
		return Answer{DeclineCode: "generic_decline", NetworkDeclineCode: "05"}
	case code < 0.9:
		return Answer{DeclineCode: "do_not_honor", NetworkDeclineCode: "05"}
	}
	return Answer{DeclineCode: "try_again_later", NetworkDeclineCode: "19"}
}

func pick3(u float64, a, b, c Answer) Answer {
	switch {
	case u < 0.4:
		return a
	case u < 0.8:
		return b
	}
	return c
}

// unit maps its inputs to [0, 1) evenly and repeatably.
func unit(parts ...uint64) float64 {
	h := fnv.New64a()
	var b [8]byte
	for _, p := range parts {
		for i := 0; i < 8; i++ {
			b[i] = byte(p >> (8 * i))
		}
		_, _ = h.Write(b[:])
	}
	z := h.Sum64()
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// Token is the simulator token of customer i of a population.
func Token(p Params, seed uint64, i int) string {
	return fmt.Sprintf("sim_pop.%s.%d.%d", p.Name, seed, i)
}

// FromToken reads a population token.
func FromToken(token string) (preset string, seed uint64, index int, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || parts[0] != "sim_pop" {
		return "", 0, 0, false
	}
	seed, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return "", 0, 0, false
	}
	i, err := strconv.Atoi(parts[3])
	if err != nil || i < 0 {
		return "", 0, 0, false
	}
	return parts[1], seed, i, true
}
