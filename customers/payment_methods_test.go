package customers

import (
	"testing"

	"github.com/stretchr/testify/require"
)

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
