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

// maxGap is the most separator characters that may stand between two
// groups of a card number's digits ("4242 - 4242" has three).
const maxGap = 3

// LooksLikeCardNumber reports whether s contains what could be a card
// number: 12 to 19 digits that pass the Luhn check, written as card
// numbers are: in one unbroken run, or in groups of four (the last of one
// to four), or as 4-6-5 and 4-6-4 (American Express, Diners). Between two
// groups up to three characters other than letters and digits may stand,
// any of them (spaces, tabs, non-breaking and zero-width spaces, dashes,
// dots, slashes, underscores, commas). Digits of every script count, by
// their value: full-width ４２４２ is 4242. Other groupings are not card
// numbers: dates and times ("2024-01-15 10:30:00"), lists of numbers
// ("10234, 10235, 10236"), which would pass Luhn one time in ten.
//
// Two kinds of run are let through as identifiers: one glued to letters on
// both sides (inside a hash or a token such as "ab4242...42cd"), and any
// in a string that is exactly a UUID.
func LooksLikeCardNumber(s string) bool {
	if uuid.MatchString(s) {
		return false
	}
	var (
		seq       [][]byte // the groups of digits of the current sequence
		cur       []byte   // the group being read
		gap       int      // separators since the last digit
		gluedHead bool     // a letter stands right before seq's first digit
		prevAlpha bool
	)
	// flush ends the sequence; gluedTail: a letter follows its last digit.
	flush := func(gluedTail bool) bool {
		if len(cur) > 0 {
			seq, cur = append(seq, cur), nil
		}
		found := grouped(seq, gluedHead, gluedTail)
		seq, gluedHead = seq[:0], false
		return found
	}
	for _, r := range s {
		if d, ok := digitValue(r); ok {
			if gap > maxGap && flush(false) {
				return true
			}
			if len(seq) == 0 && len(cur) == 0 {
				gluedHead = prevAlpha
			}
			gap, prevAlpha = 0, false
			cur = append(cur, d)
			continue
		}
		if unicode.IsLetter(r) {
			if flush(len(cur) > 0) {
				return true
			}
			gap, prevAlpha = 0, true
			continue
		}
		// A separator.
		if len(cur) > 0 {
			seq, cur = append(seq, cur), nil
		}
		gap, prevAlpha = gap+1, false
	}
	return flush(false)
}

// grouped reports whether consecutive groups of seq are a card number as
// written (cardGrouping), of 12 to 19 digits passing Luhn, unless they
// are the whole sequence and it is glued to letters on both sides.
func grouped(seq [][]byte, gluedHead, gluedTail bool) bool {
	for a := range seq {
		n := 0
		for b := a; b < len(seq); b++ {
			if n += len(seq[b]); n > maxDigits {
				break
			}
			if n < minDigits || !cardGrouping(seq[a:b+1]) || a == 0 && b == len(seq)-1 && gluedHead && gluedTail {
				continue
			}
			// A number printed in groups takes every group that follows
			// in its grouping: 4242 4242 4242 4241 is not the first three.
			if b+1 < len(seq) && n+len(seq[b+1]) <= maxDigits && cardGrouping(seq[a:b+2]) {
				continue
			}
			var digits []byte
			for _, g := range seq[a : b+1] {
				digits = append(digits, g...)
			}
			if luhn(digits) {
				return true
			}
		}
	}
	return false
}

// cardGrouping reports whether groups are grouped as card numbers are
// printed: one run, fours (the last of one to four), 4-6-5 or 4-6-4.
func cardGrouping(groups [][]byte) bool {
	k := len(groups)
	if k == 1 {
		return true
	}
	if k == 3 && len(groups[0]) == 4 && len(groups[1]) == 6 && (len(groups[2]) == 5 || len(groups[2]) == 4) {
		return true
	}
	for _, g := range groups[:k-1] {
		if len(g) != 4 {
			return false
		}
	}
	return len(groups[k-1]) <= 4
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
