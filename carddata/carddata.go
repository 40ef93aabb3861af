// Package carddata recognises card numbers (primary account numbers) in
// text, however they are written, so that offsession can refuse them
// wherever they are sent: it never stores one. It owns recognition only;
// which inputs are checked, and the error, belong to its callers.
package carddata

import (
	"regexp"
	"unicode"
)

// Lengths of a primary account number (ISO/IEC 7812).
const (
	minDigits = 12
	maxDigits = 19
)

// uuid matches a string that is exactly a UUID: an identifier, whose digit
// groups may pass the Luhn check by chance but are never card data.
var uuid = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// LooksLikeCardNumber reports whether s contains what could be a card
// number: a run of 12 to 19 digits that passes the Luhn check. Between the
// digits of a run any characters but letters and digits may stand, any
// number of them (spaces, tabs, non-breaking spaces, dashes, dots,
// slashes, underscores, commas, zero-width spaces); a letter ends the run.
// Digits of every script count, by their value: full-width ４２４２ is 4242.
//
// Two kinds of run are let through as identifiers: one glued to letters on
// both sides (inside a hash or a token such as "ab4242...42cd"), and any
// in a string that is exactly a UUID.
func LooksLikeCardNumber(s string) bool {
	if uuid.MatchString(s) {
		return false
	}
	var (
		digits    [maxDigits + 1]byte
		n         int  // digits in the current run, up to maxDigits+1
		gluedHead bool // a letter stands right before the run's first digit
		prevAlpha bool // the last character was a letter
		inRun     bool
		prevDigit bool
	)
	end := func(gluedTail bool) bool {
		found := inRun && n >= minDigits && n <= maxDigits && !(gluedHead && gluedTail) && luhn(digits[:n])
		n, inRun = 0, false
		return found
	}
	for _, r := range s {
		if d, ok := digitValue(r); ok {
			if !inRun {
				inRun, gluedHead = true, prevAlpha
			}
			if n <= maxDigits {
				digits[n] = d
				n++
			}
			prevAlpha, prevDigit = false, true
			continue
		}
		if unicode.IsLetter(r) {
			if end(prevDigit) {
				return true
			}
			prevAlpha, prevDigit = true, false
			continue
		}
		// A separator: the run goes on across it.
		prevAlpha, prevDigit = false, false
	}
	return end(false)
}

// digitValue returns the value of a decimal digit of any script. Unicode
// encodes each script's digits as consecutive runs of ten, zero first, so
// a digit's value is its offset in its range of the Nd table, modulo ten.
func digitValue(r rune) (byte, bool) {
	if r >= '0' && r <= '9' {
		return byte(r - '0'), true
	}
	if r < 0x80 || !unicode.IsDigit(r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10), true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return byte((r - rune(rg.Lo)) % 10), true
		}
	}
	return 0, false
}

// luhn reports whether digits (values 0-9) pass the Luhn check.
func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i])
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
