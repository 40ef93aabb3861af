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
	"recent_declines", "history_weekday", "history_day_of_month", "history_hour", "history_fortnight",
}

// Cardinality is the number of values of each feature.
var Cardinality = []int{8, 2, 5, 9, 6, 24, 7, 12, 3, 4, 5, 2, 4, 3, 3, 3, 15}

// NumFeatures is len(FeatureNames).
const NumFeatures = 17

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
	return append(out, historyCodes(c.History, lt, at)...)
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

// historyCodes says what the customer's earlier successes tell of the time
// at: was one on this weekday, near this day of the month, near this hour,
// and how far at is, in days modulo 14, from the latest (paydays repeat
// weekly or every other week). 0 means no success is known.
func historyCodes(h []Past, lt, at time.Time) []uint8 {
	var latest time.Time
	weekday, dom, hour := false, false, false
	seen := false
	for _, p := range h {
		if !p.Approved || !p.At.Before(at) {
			continue
		}
		seen = true
		pl := p.At.In(lt.Location())
		if pl.Weekday() == lt.Weekday() {
			weekday = true
		}
		if d := pl.Day() - lt.Day(); d >= -1 && d <= 1 {
			dom = true
		}
		if d := pl.Hour() - lt.Hour(); d >= -2 && d <= 2 {
			hour = true
		}
		if p.At.After(latest) {
			latest = p.At
		}
	}
	if !seen {
		return []uint8{0, 0, 0, 0}
	}
	days := int(at.Sub(latest).Hours() / 24)
	return []uint8{1 + boolCode(weekday), 1 + boolCode(dom), 1 + boolCode(hour), uint8(1 + days%14)}
}
