package population

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// The worlds the retry engine is developed and reported on. A world is a
// population whose hidden dynamics are drawn from wide priors (World), so
// that what the planner and the model do cannot be fitted to one
// simulator. Anything tuned is tuned on TuningWorlds only; ReportWorlds are
// the measurement and are never looked at while tuning.
var (
	TuningWorlds = []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	ReportWorlds = []uint64{1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012}
)

// worldZones are the time zones a world draws its customers' from.
var worldZones = []string{
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "America/Mexico_City",
	"Europe/London", "Europe/Berlin", "Europe/Madrid", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
}

// World draws the parameters of world seed from wide priors: pay cycles
// in any mix, paid on one or two weekdays and on days of the month that
// differ by world and by customer, deposits that post at different hours
// and lags, two to five time zones, money that runs short for 3-30% of
// customers and lasts 2-40% of their cycle, holds, stale and lost cards at
// different rates and lengths, issuers that decline more at night (hours
// that differ) or not at all, and more or less at weekends, fatigue that
// wears retries more or less, and lacks of money reported as
// insufficient_funds or disguised in different shares. The same seed
// always gives the same world.
func World(seed uint64) Params {
	r := rand.New(rand.NewPCG(seed, 0x776f726c64))
	u := func(lo, hi float64) float64 { return lo + r.Float64()*(hi-lo) }
	p := Default()
	p.Name = fmt.Sprintf("world-%d", seed)
	for k := range p.PayCycles {
		p.PayCycles[k] = u(0.05, 1)
	}
	p.PostingLagDays = r.IntN(3)
	p.PostingHour = r.IntN(10)
	p.Zones = nil
	for _, k := range r.Perm(len(worldZones))[:2+r.IntN(4)] {
		p.Zones = append(p.Zones, Zone{Name: worldZones[k], Share: u(0.1, 1)})
	}
	p.CreditShare = u(0.2, 0.8)
	p.TightShare = u(0.03, 0.3)
	lo := u(0.02, 0.12)
	p.TightWindow = [2]float64{lo, lo + u(0.05, 0.3)}
	p.CreditTightness = u(0.4, 1.2)
	p.HoldRate = u(0.01, 0.15)
	p.HoldDays = [2]float64{u(1, 4), u(5, 20)}
	p.StaleRate = u(0.002, 0.01)
	p.UpdateShare = u(0.2, 0.7)
	p.UpdateDays = [2]float64{u(3, 14), u(15, 35)}
	p.HardRate = u(0.001, 0.008)
	p.Approval = u(0.95, 0.995)
	p.NightFactor = 1 // issuers that do not mind the hour
	if r.Float64() < 0.7 {
		p.NightFactor = u(1.5, 5)
	}
	from := r.IntN(4)
	p.NightHours = [2]int{from, from + 3 + r.IntN(4)}
	p.WeekendFactor = u(0.8, 1.8)
	p.Fatigue = u(0.6, 0.95)
	p.NSFAsGeneric = u(0.1, 0.8)
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	p.PayWeekdays = []time.Weekday{weekdays[r.IntN(5)]}
	if r.Float64() < 0.4 {
		p.PayWeekdays = append(p.PayWeekdays, weekdays[r.IntN(5)])
	}
	first := 1 + r.IntN(10)
	p.PayDays = [2]int{first, first + 14 + r.IntN(2)}
	p.PayDayJitter = r.IntN(5)
	return p
}
