package money

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		give     int64
		currency string
		want     string
	}{
		{give: 1050, currency: "usd", want: "10.50"},
		{give: 5, currency: "eur", want: "0.05"},
		{give: 500, currency: "jpy", want: "500"},
		{give: 500, currency: "KRW", want: "500"},
		{give: 1234, currency: "kwd", want: "1.234"},
		{give: -250, currency: "usd", want: "-2.50"},
	} {
		require.Equal(t, tt.want, Format(tt.give, tt.currency), "%d %s", tt.give, tt.currency)
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	got, err := Normalize(" USD ")
	require.NoError(t, err)
	require.Equal(t, "usd", got)
	for _, bad := range []string{"", "us", "xyz", "dollars"} {
		_, err := Normalize(bad)
		require.Error(t, err, bad)
	}
	require.True(t, ZeroDecimal("jpy"))
	require.False(t, ZeroDecimal("usd"))
	require.Equal(t, 3, Exponent("bhd"))
}
