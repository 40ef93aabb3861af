package validate

import (
	"testing"

	"github.com/offsession/offsession/carddata"
	"github.com/stretchr/testify/require"
)

// TestTextRefusesCardNumbers: free text holding a card number, however
// spelled, is refused; IDs, short numbers and dates are not.
func TestTextRefusesCardNumbers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		give string
		want bool
	}{
		{give: "4242424242424242", want: true},
		{give: "4242 4242 4242 4242", want: true},
		{give: "4242-4242-4242-4242", want: true},
		{give: "card 5555555555554444 on file", want: true},
		{give: "378282246310005", want: true}, // amex, 15 digits
		{give: "pm_card_visa", want: false},
		{give: "4242", want: false},
		{give: "4242424242424241", want: false}, // fails Luhn
		{give: "order 2026-11-29", want: false},
		{give: "MCC0001234567", want: false},
	} {
		require.Equal(t, tt.want, carddata.LooksLikeCardNumber(tt.give), tt.give)
	}
}

func TestMetadataRefusesCardData(t *testing.T) {
	t.Parallel()
	require.NoError(t, Metadata("input.metadata", map[string]string{"order": "A-1001"}))
	require.Error(t, Metadata("input.metadata", map[string]string{"cvc": "123"}))
	require.Error(t, Metadata("input.metadata", map[string]string{"card_number": "x"}))
	require.Error(t, Metadata("input.metadata", map[string]string{"note": "4242424242424242"}))
}
