package payments

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLooksLikeCardNumber(t *testing.T) {
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
		require.Equal(t, tt.want, LooksLikeCardNumber(tt.give), tt.give)
	}
}

func TestCheckMetadataRefusesCardData(t *testing.T) {
	t.Parallel()
	require.NoError(t, checkMetadata("input.metadata", map[string]string{"order": "A-1001"}))
	require.Error(t, checkMetadata("input.metadata", map[string]string{"cvc": "123"}))
	require.Error(t, checkMetadata("input.metadata", map[string]string{"card_number": "x"}))
	require.Error(t, checkMetadata("input.metadata", map[string]string{"note": "4242424242424242"}))
}

func TestProcessorTokenForms(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		give string
		want bool
	}{
		{give: "pm_1Pxyz", want: true},
		{give: "cus_Nq1/pm_1Pxyz", want: true}, // a card attached to a Stripe customer
		{give: "cus_Nq1/pm_1Pxyz/x", want: false},
		{give: "/pm_1Pxyz", want: false},
		{give: "cus_Nq1/", want: false},
		{give: "pm 1", want: false},
		{give: "", want: false},
	} {
		require.Equal(t, tt.want, processorToken.MatchString(tt.give), tt.give)
	}
}
