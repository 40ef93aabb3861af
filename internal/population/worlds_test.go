package population

import (
	"reflect"
	"testing"
	"time"
)

// TestWorldsAreDrawnApart: a world is the same for the same seed, differs
// from the next, makes a valid population whose customers are approved at
// some times and not at others, and the tuning and report worlds share no
// seed.
func TestWorldsAreDrawnApart(t *testing.T) {
	t.Parallel()
	if !reflect.DeepEqual(World(7), World(7)) {
		t.Fatal("the same seed gives another world")
	}
	if reflect.DeepEqual(World(7), World(8)) {
		t.Fatal("two seeds give the same world")
	}
	report := map[uint64]bool{}
	for _, s := range ReportWorlds {
		report[s] = true
	}
	for _, s := range TuningWorlds {
		if report[s] {
			t.Fatalf("world %d is both a tuning and a report world", s)
		}
	}
	if len(ReportWorlds) < 12 {
		t.Fatalf("%d report worlds; the issue asks for 12", len(ReportWorlds))
	}
	nights := map[float64]bool{}
	for _, s := range append(append([]uint64{}, TuningWorlds...), ReportWorlds...) {
		p, ok := Named(World(s).Name)
		if !ok || !reflect.DeepEqual(p, World(s)) {
			t.Fatalf("world %d is not found by its name %q", s, World(s).Name)
		}
		pop, err := New(p, 1)
		if err != nil {
			t.Fatalf("world %d: %v", s, err)
		}
		nights[p.NightFactor] = true
		approved, declined := 0, 0
		for i := range 200 {
			c := pop.Customer(i)
			for d := range 30 {
				if pop.Answer(c, time.Date(2026, 4, 1+d, 12, 0, 0, 0, time.UTC), 0).Approved {
					approved++
				} else {
					declined++
				}
			}
		}
		if approved == 0 || declined == 0 {
			t.Fatalf("world %d: %d approved, %d declined", s, approved, declined)
		}
	}
	if len(nights) < 5 {
		t.Fatalf("the worlds' issuers mind the night alike: %v", nights)
	}
}

// TestDefaultCalendarIsUnchanged: the calendar the worlds vary keeps the
// calibrated populations' paydays (Fridays; the 1st and the 15th) when it
// is left zero.
func TestDefaultCalendarIsUnchanged(t *testing.T) {
	t.Parallel()
	pop, err := New(Default(), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		c := pop.Customer(i)
		if c.PayWeekday != time.Friday || c.DayShift != 0 {
			t.Fatalf("customer %d: paid on %s, shifted %d days", i, c.PayWeekday, c.DayShift)
		}
		from, _ := pop.lastRefill(c, time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC))
		lt := from.In(c.Location)
		switch c.Cycle {
		case Weekly, Biweekly:
			if lt.AddDate(0, 0, -c.LagDays).Weekday() != time.Friday {
				t.Fatalf("customer %d (%s): paid %s", i, c.Cycle, lt)
			}
		default:
			if d := lt.Day() - c.LagDays; d != 1 && d != 15 {
				t.Fatalf("customer %d (%s): paid %s", i, c.Cycle, lt)
			}
		}
	}
}
