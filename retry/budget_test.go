package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBudgetUsesAgreeWithNextAllowed: what a card has used of each of its
// network's rules, and when each allows one more retry, agrees with
// NextAllowed, which the planners obey.
func TestBudgetUsesAgreeWithNextAllowed(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 5, 10, 12, 0, 0, 0, time.UTC)
	var retries []time.Time
	for i := range 10 { // ten in the last 24 hours: Mastercard's daily rule full
		retries = append(retries, now.Add(-time.Duration(20-i)*time.Hour))
	}
	retries = append(retries, now.Add(-10*24*time.Hour)) // one more in 30 days
	uses := Uses("mastercard", retries, now)
	require.Len(t, uses, 2)
	require.Equal(t, BudgetRule{Window: day, Max: 10}, uses[0].Rule)
	require.Equal(t, 10, uses[0].Used)
	require.Equal(t, retries[0].Add(day).Add(time.Second), uses[0].AvailableAt, "when the oldest leaves the window")
	require.Equal(t, 11, uses[1].Used)
	require.Equal(t, now, uses[1].AvailableAt, "35 in 30 days: room left")
	next, _ := NextAllowed("mastercard", retries, now)
	require.Equal(t, uses[0].AvailableAt, next, "the tightest rule's time is the planners' time")

	require.Empty(t, Uses("amex", retries, now), "no rule here for amex")
	visa := Uses("visa", retries, now)
	require.Len(t, visa, 1)
	require.Equal(t, 11, visa[0].Used)
	require.Equal(t, now, visa[0].AvailableAt)
}
