package retry

import (
	"testing"
	"time"

	"github.com/offsession/offsession/processors/connector"
	"github.com/stretchr/testify/require"
)

// TestRule3ClassifyEveryRow checks every row of DESIGN.md rule 3.
func TestRule3ClassifyEveryRow(t *testing.T) {
	t.Parallel()
	declined := func(code, advice, network string) connector.Outcome {
		return connector.Outcome{Result: connector.Declined, DeclineCode: code, NetworkAdviceCode: advice, NetworkDeclineCode: network}
	}
	type row struct {
		give      connector.Outcome
		want      Class
		notBefore time.Duration
	}
	var rows []row
	for _, code := range []string{"lost_card", "stolen_card", "pickup_card", "incorrect_number", "invalid_account",
		"revocation_of_authorization", "revocation_of_all_authorizations", "authentication_required", "highest_risk_level"} {
		rows = append(rows, row{give: declined(code, "", ""), want: Hard})
	}
	for _, network := range []string{"04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"} {
		rows = append(rows, row{give: declined("generic_decline", "", network), want: Hard})
	}
	for _, advice := range []string{"03", "21"} {
		rows = append(rows, row{give: declined("do_not_honor", advice, ""), want: Hard})
	}
	rows = append(rows,
		row{give: declined("expired_card", "", ""), want: NeedsNewCardData},
		row{give: declined("do_not_honor", "01", ""), want: NeedsNewCardData},
		row{give: declined("generic_decline", "", "54"), want: NeedsNewCardData},
	)
	for _, code := range []string{"insufficient_funds", "do_not_honor", "generic_decline", "try_again_later",
		"card_velocity_exceeded", "withdrawal_count_limit_exceeded", "issuer_not_available", "some_new_code"} {
		rows = append(rows, row{give: declined(code, "", "51"), want: Soft})
	}
	for advice, wait := range map[string]time.Duration{
		"02": 72 * time.Hour, "24": time.Hour, "25": 24 * time.Hour, "26": 48 * time.Hour,
		"27": 96 * time.Hour, "28": 144 * time.Hour, "29": 192 * time.Hour, "30": 240 * time.Hour,
	} {
		rows = append(rows, row{give: declined("do_not_honor", advice, "05"), want: Soft, notBefore: wait})
	}
	rows = append(rows,
		row{give: declined("processing_error", "", "96"), want: Technical},
		row{give: connector.Outcome{Result: connector.TechnicalError}, want: Technical},
		row{give: connector.Outcome{Result: connector.Approved}, want: Approved},
		// The most final signal wins.
		row{give: declined("insufficient_funds", "03", ""), want: Hard},
		row{give: declined("expired_card", "24", ""), want: NeedsNewCardData},
		row{give: declined("processing_error", "", "41"), want: Hard},
	)
	for _, r := range rows {
		got := Classify(r.give)
		require.Equal(t, r.want, got.Class, "%+v", r.give)
		require.Equal(t, r.notBefore, got.NotBefore, "%+v", r.give)
		require.NotEmpty(t, got.Rule)
	}
}

func TestRule4NextAllowed(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	hours := func(hs ...int) []time.Time {
		var out []time.Time
		for _, h := range hs {
			out = append(out, t0.Add(time.Duration(h)*time.Hour))
		}
		return out
	}
	// Mastercard: the 11th retry within 24 hours waits until the first of
	// the ten leaves the window.
	ten := hours(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	at, note := NextAllowed("mastercard", ten, t0.Add(10*time.Hour))
	require.Equal(t, t0.Add(24*time.Hour+time.Second), at)
	require.Contains(t, note, "budget full")
	at, _ = NextAllowed("mastercard", ten[:9], t0.Add(10*time.Hour))
	require.Equal(t, t0.Add(10*time.Hour), at, "nine in 24 hours leave room")

	// Mastercard's 35 in 30 days: four days of ten each.
	var month []time.Time
	for d := 0; d < 4; d++ {
		for h := 0; h < 9; h++ {
			month = append(month, t0.Add(time.Duration(d)*24*time.Hour+time.Duration(h)*time.Hour))
		}
	}
	month = month[:35]
	at, _ = NextAllowed("mastercard", month, t0.Add(5*24*time.Hour))
	require.Equal(t, month[0].Add(30*24*time.Hour+time.Second), at)

	// Visa: 20 in 30 days.
	var visa []time.Time
	for d := 0; d < 20; d++ {
		visa = append(visa, t0.Add(time.Duration(d)*24*time.Hour))
	}
	at, _ = NextAllowed("visa", visa, t0.Add(21*24*time.Hour))
	require.Equal(t, t0.Add(30*24*time.Hour+time.Second), at)
	at, _ = NextAllowed("amex", visa, t0)
	require.Equal(t, t0, at, "no budget rule for other networks")
}
