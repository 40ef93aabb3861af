package population

// The parameters of a population, and the named sets of them.

import (
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
