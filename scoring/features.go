package scoring

import (
	"time"
)

// Past is one of the customer's past attempts, as known at decision time.
type Past struct {
	At       time.Time
	Approved bool
}

// Context is what is known about a payment when its next attempt is
// planned. Everything in it happened before the decision.
type Context struct {
	DeclineCode string
	// AdviceWait is true when the network's advice imposed a wait.
	AdviceWait bool
	// AttemptNumber is the number of the attempt being planned: 2 for the
	// first retry.
	AttemptNumber  int
	FirstFailureAt time.Time
	LastAttemptAt  time.Time
	// RecentDeclines counts the payment's declined attempts in the seven
	// days before the decision.
	RecentDeclines int
	Amount         int64
	// Exponent is the currency's number of decimals, to read Amount.
	Exponent int
	Brand    string
	Funding  string
	Country  string
	Cadence  string
	Location *time.Location
	// History is the customer's earlier attempts on any payment, oldest
	// first.
	History []Past
}

// Feature names, in the order Features returns them. Every feature is
// categorical: a small code below its cardinality.
var FeatureNames = []string{
	"decline_code", "advice_wait", "attempt_number", "since_first_failure", "since_last_attempt",
	"local_hour", "local_weekday", "local_day_of_month", "funding", "brand", "amount", "cadence",
	"recent_declines", "history_week", "history_fortnight", "history_month",
	"declined_week", "declined_month",
}

// Cardinality is the number of values of each feature.
var Cardinality = []int{8, 2, 5, 9, 6, 24, 7, 12, 3, 4, 5, 2, 4, 7, 7, 6, 7, 6}

// NumFeatures is len(FeatureNames).
const NumFeatures = 18

// declineGroups codes decline codes; anything else is "other".
var declineGroups = map[string]uint8{
	"insufficient_funds": 1, "do_not_honor": 2, "generic_decline": 3, "try_again_later": 4,
	"card_velocity_exceeded": 5, "withdrawal_count_limit_exceeded": 5, "issuer_not_available": 6, "processing_error": 7,
}

// Features describes an attempt at time at of the payment in c: the one
// function behind both training rows and scored candidates, so the two
// cannot drift apart.
func Features(c *Context, at time.Time, out []uint8) []uint8 {
	out = out[:0]
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := at.In(loc)
	out = append(out,
		declineGroups[c.DeclineCode],
		boolCode(c.AdviceWait),
		bucketInt(c.AttemptNumber, 2, 3, 4, 5),
		bucketDur(at.Sub(c.FirstFailureAt), 6*time.Hour, 24*time.Hour, 48*time.Hour, 72*time.Hour, 5*24*time.Hour, 7*24*time.Hour, 10*24*time.Hour, 14*24*time.Hour),
		bucketDur(at.Sub(c.LastAttemptAt), time.Hour, 6*time.Hour, 24*time.Hour, 48*time.Hour, 96*time.Hour),
		uint8(lt.Hour()),
		uint8(lt.Weekday()),
		domCode(lt.Day()),
		fundingCode(c.Funding),
		brandCode(c.Brand),
		amountCode(c.Amount, c.Exponent),
		boolCode(c.Cadence == "unscheduled"),
		bucketInt(c.RecentDeclines, 1, 2, 3),
	)
	out = append(out, historyCodes(c.History, lt, at)...)
	return append(out, declineCodes(c.History, lt, at)...)
}

func boolCode(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// bucketInt returns how many of the ascending bounds v reaches.
func bucketInt(v int, bounds ...int) uint8 {
	var k uint8
	for _, b := range bounds {
		if v > b {
			k++
		}
	}
	return k
}

// bucketDur returns how many of the ascending bounds d reaches.
func bucketDur(d time.Duration, bounds ...time.Duration) uint8 {
	var k uint8
	for _, b := range bounds {
		if d >= b {
			k++
		}
	}
	return k
}

// domCode groups the days of the month around the usual paydays.
func domCode(d int) uint8 {
	switch {
	case d <= 3:
		return uint8(d - 1) // 1, 2, 3
	case d <= 7:
		return 3
	case d <= 13:
		return 4
	case d <= 17:
		return uint8(5 + d - 14) // 14, 15, 16, 17
	case d <= 24:
		return 9
	case d <= 28:
		return 10
	}
	return 11
}

func fundingCode(f string) uint8 {
	switch f {
	case "credit":
		return 0
	case "debit":
		return 1
	}
	return 2
}

func brandCode(b string) uint8 {
	switch b {
	case "visa":
		return 0
	case "mastercard":
		return 1
	case "amex":
		return 2
	}
	return 3
}

// amountCode buckets the amount in major units.
func amountCode(amount int64, exponent int) uint8 {
	major := float64(amount)
	for i := 0; i < exponent; i++ {
		major /= 10
	}
	switch {
	case major < 10:
		return 0
	case major < 25:
		return 1
	case major < 50:
		return 2
	case major < 100:
		return 3
	}
	return 4
}

// historyCodes says how the time at sits against the customer's latest
// successful charge before it: how far, in hours, at is from the same time
// of the week (history_week) and of the fortnight (history_fortnight) as
// that success, and how many days from its day of the month
// (history_month). Pay arrives weekly, every other week or monthly, so a
// time close to one of those marks is a time the customer had money
// before. 0 means no success is known.
func historyCodes(h []Past, lt, at time.Time) []uint8 {
	var latest time.Time
	for _, p := range h {
		if p.Approved && p.At.Before(at) && p.At.After(latest) {
			latest = p.At
		}
	}
	if latest.IsZero() {
		return []uint8{0, 0, 0}
	}
	since := at.Sub(latest)
	return []uint8{
		cyclicHours(since, 7*24*time.Hour),
		cyclicHours(since, 14*24*time.Hour),
		monthDays(latest.In(lt.Location()).Day(), lt.Day()),
	}
}

// cyclicHours codes how close d is to a whole number of periods: 1 within
// 2 hours, 2 within 6, 3 within 12, 4 within 24, 5 within 48, 6 farther.
func cyclicHours(d, period time.Duration) uint8 {
	r := d % period
	if r > period/2 {
		r = period - r
	}
	return 1 + bucketDur(r, 2*time.Hour+time.Nanosecond, 6*time.Hour+time.Nanosecond, 12*time.Hour+time.Nanosecond, 24*time.Hour+time.Nanosecond, 48*time.Hour+time.Nanosecond)
}

// monthDays codes how many days apart two days of the month are, around
// the month's end: 1 the same day, 2 one apart, 3 two or three, 4 four to
// seven, 5 more.
func monthDays(a, b int) uint8 {
	d := a - b
	if d < 0 {
		d = -d
	}
	if d > 15 {
		d = 30 - d
	}
	switch {
	case d == 0:
		return 1
	case d == 1:
		return 2
	case d <= 3:
		return 3
	case d <= 7:
		return 4
	}
	return 5
}

// declinedWindow is how far back declines tell when a customer has no
// money: about one pay cycle of the longest kind.
const declinedWindow = 35 * 24 * time.Hour

// declineCodes says how close the time at sits to the customer's declines
// of the last declinedWindow: the nearest in time of the week
// (declined_week, coded as cyclicHours does) and in day of the month
// (declined_month, as monthDays does). A decline at the same time of an
// earlier week or month says the customer's money is not there then, which
// the planner must learn, or it would plan every retry at the time that
// suits most customers. 0 means no decline is known.
func declineCodes(h []Past, lt, at time.Time) []uint8 {
	week, month := uint8(0), uint8(0)
	for _, p := range h {
		if p.Approved || !p.At.Before(at) || at.Sub(p.At) > declinedWindow {
			continue
		}
		if w := cyclicHours(at.Sub(p.At), 7*24*time.Hour); week == 0 || w < week {
			week = w
		}
		if m := monthDays(p.At.In(lt.Location()).Day(), lt.Day()); month == 0 || m < month {
			month = m
		}
	}
	return []uint8{week, month}
}
