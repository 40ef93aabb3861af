package population

// What an issuer sees of a customer over time (money, holds, stale and lost
// cards) and how it answers an attempt.

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

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
