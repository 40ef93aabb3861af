package validate

import (
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/internal/tz"
	"github.com/offsession/offsession/money"
)

// MaxTargetDateAhead is how far ahead a charge may be scheduled.
const MaxTargetDateAhead = 366 * 24 * time.Hour

// Amount checks an amount to charge, in minor units of currency (named by
// amountField and currencyField), and returns the currency normalized:
// positive, at most money.MaxAmount, and ending in 0 in a three-decimal
// currency.
func Amount(amountField string, amount int64, currencyField, currency string) (string, error) {
	if amount <= 0 {
		return "", apierror.Invalid(amountField, "must be a positive amount in minor units")
	}
	if amount > money.MaxAmount {
		return "", apierror.Invalid(amountField, "must be at most %d minor units", money.MaxAmount)
	}
	cur, err := money.Normalize(currency)
	if err != nil {
		return "", apierror.Invalid(currencyField, "%s", err)
	}
	if money.Exponent(cur) == 3 && amount%10 != 0 {
		// Card networks settle three-decimal currencies in tens.
		return "", apierror.Invalid(amountField, "amounts in %s must end in 0", cur)
	}
	return cur, nil
}

// TargetDate checks date, a YYYY-MM-DD day a charge is due on in the
// customer's time zone zone (UTC if it does not load): not past there at
// now, and starting within MaxTargetDateAhead. It returns when the day
// starts, or now if that has passed.
func TargetDate(field, date, zone string, now time.Time) (time.Time, error) {
	loc, err := tz.Load(zone)
	if err != nil {
		loc = time.UTC
	}
	d, err := Date(field, date)
	if err != nil {
		return time.Time{}, err
	}
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc).UTC()
	today := now.In(loc)
	if d.Before(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)) {
		return time.Time{}, apierror.Invalid(field, "%s is in the past in the customer's time zone (%s)", date, zone)
	}
	if start.Sub(now) > MaxTargetDateAhead {
		return time.Time{}, apierror.Invalid(field, "must be within a year")
	}
	if start.Before(now) {
		start = now
	}
	return start, nil
}

// AmountToCapture checks the part of an authorization to capture (nil: all
// of it, capturable) and returns it: 1 to capturable.
func AmountToCapture(field string, amount *int, capturable int64) (int64, error) {
	if amount == nil {
		return capturable, nil
	}
	if *amount <= 0 || int64(*amount) > capturable {
		return 0, apierror.Invalid(field, "must be 1 to %d (the amount capturable)", capturable)
	}
	return int64(*amount), nil
}
