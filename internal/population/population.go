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
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/offsession/offsession/internal/tz"
)

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
