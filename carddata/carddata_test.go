package carddata_test

import (
	"crypto/rand"
	"fmt"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/carddata"
)

// CardNumberSpellings are 4242 4242 4242 4242 (a Visa test number) written
// every way a person or a program might; graph tests send the same list.
var cardNumberSpellings = map[string]string{
	"plain":               "4242424242424242",
	"spaces":              "4242 4242 4242 4242",
	"dashes":              "4242-4242-4242-4242",
	"dots":                "4242.4242.4242.4242",
	"slashes":             "4242/4242/4242/4242",
	"underscores":         "4242_4242_4242_4242",
	"commas":              "4242,4242,4242,4242",
	"tabs":                "4242\t4242\t4242\t4242",
	"double spaces":       "4242  4242  4242  4242",
	"non-breaking spaces": "4242\u00a04242\u00a04242\u00a04242",
	"zero-width spaces":   "4242\u200b4242\u200b4242\u200b4242",
	"mixed separators":    "4242 - 4242 / 4242 . 4242",
	"full-width digits":   "４２４２４２４２４２４２４２４２",
	"arabic-indic digits": "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢",
	"in a sentence":       "card: 4242 4242 4242 4242, exp 12/34",
	"after a word":        "card4242424242424242",
	"amex":                "3782 822463 10005",
}

func TestLooksLikeCardNumberEverySpelling(t *testing.T) {
	t.Parallel()
	for name, s := range cardNumberSpellings {
		require.True(t, carddata.LooksLikeCardNumber(s), "%s: %q", name, s)
	}
	for _, s := range []string{
		"", "hello", "4242 4242 4242 4241", // Luhn fails
		"42424242424",          // 11 digits
		"42424242424242424242", // 20 digits
		"order 1234, qty 5",    // too few
		"ab4242424242424242cd", // inside a token
		"550e8400-e29b-41d4-a716-446655440000",
		"deadbeef-0000-4000-8000-424242424242", // a UUID whose last group passes Luhn
		"pm_card_visa", "cus_01m8x9w86cy4bcs0af2g671h7t",
		// Groupings no card number is printed in, whose digits pass Luhn.
		"2024-01-01 00:30:00", "10237, 10238, 10239",
	} {
		require.False(t, carddata.LooksLikeCardNumber(s), "%q", s)
	}
	require.True(t, carddata.LooksLikeCardNumber("x 424242424242 y"), "12 digits that pass Luhn")
	require.True(t, carddata.LooksLikeCardNumber("ref 12 4242 4242 4242 4242"), "a card number after another number")
	require.True(t, carddata.LooksLikeCardNumber("4242     4242 4242 4242 | 4242 4242 4242 4242"), "a second one after a long gap")
	// Not a UUID: its last group is 12 digits passing Luhn, glued to a
	// letter on one side only.
	require.True(t, carddata.LooksLikeCardNumber("deadbeef-0000-4000-8000-424242424242x"), "not exactly a UUID")
}

// TestLooksLikeCardNumberReadsDigitsOfEveryScript: every decimal digit of
// the Unicode table has the value its range says, zero first.
func TestLooksLikeCardNumberReadsDigitsOfEveryScript(t *testing.T) {
	t.Parallel()
	for _, rg := range unicode.Nd.R16 {
		require.EqualValues(t, 1, rg.Stride)
		require.Zero(t, (int(rg.Hi)-int(rg.Lo)+1)%10, "range %U-%U holds whole sets of ten", rg.Lo, rg.Hi)
	}
	for _, rg := range unicode.Nd.R32 {
		require.EqualValues(t, 1, rg.Stride)
		require.Zero(t, (int(rg.Hi)-int(rg.Lo)+1)%10, "range %U-%U holds whole sets of ten", rg.Lo, rg.Hi)
	}
	// 4242424242424242 in each script's digits.
	for _, rg := range unicode.Nd.R16 {
		four, two := rune(rg.Lo)+4, rune(rg.Lo)+2
		s := ""
		for range 8 {
			s += string(four) + string(two)
		}
		require.True(t, carddata.LooksLikeCardNumber(s), "digits from %U", rg.Lo)
	}
}

// TestLooksLikeCardNumberLetsRandomUUIDsThrough: idempotency keys are
// often UUIDs; none may be taken for a card number.
func TestLooksLikeCardNumberLetsRandomUUIDsThrough(t *testing.T) {
	t.Parallel()
	for range 20000 {
		var b [16]byte
		_, _ = rand.Read(b[:])
		u := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		require.False(t, carddata.LooksLikeCardNumber(u), u)
	}
}
