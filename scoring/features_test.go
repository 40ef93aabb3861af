package scoring

import (
	"testing"
	"time"
)

// TestHistoryCodes: times a week, a fortnight or a month after the latest
// success score close; other times, and no success, do not.
func TestHistoryCodes(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	paid := time.Date(2026, 2, 6, 7, 0, 0, 0, berlin) // a Friday
	h := []Past{
		{At: paid.Add(-30 * 24 * time.Hour), Approved: true},
		{At: paid, Approved: true},
		{At: paid.Add(24 * time.Hour)}, // a decline: ignored
	}
	for _, c := range []struct {
		name string
		at   time.Time
		want []uint8
	}{
		{"two weeks on, an hour early", paid.Add(14*24*time.Hour - time.Hour), []uint8{1, 1, 5}},
		{"one week on, five hours late", paid.Add(7*24*time.Hour + 5*time.Hour), []uint8{2, 6, 4}},
		{"three and a half days on", paid.Add(84 * time.Hour), []uint8{6, 6, 3}},
		{"the same day next month, four weeks on", time.Date(2026, 3, 6, 9, 0, 0, 0, berlin), []uint8{1, 1, 1}},
		{"the 5th of next month", time.Date(2026, 3, 5, 7, 0, 0, 0, berlin), []uint8{4, 4, 2}},
		{"the 20th", time.Date(2026, 2, 20, 23, 0, 0, 0, berlin), []uint8{4, 4, 5}},
	} {
		if got := historyCodes(h, c.at.In(berlin), c.at); string(got) != string(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	if got := historyCodes(h[2:], paid.Add(48*time.Hour), paid.Add(48*time.Hour)); string(got) != string([]uint8{0, 0, 0}) {
		t.Errorf("no success: got %v, want zeros", got)
	}
	if got := historyCodes(h, paid.Add(-time.Hour), paid.Add(-time.Hour)); got[0] == 0 || got[0] == 1 {
		// Only the success a month before counts: 29 days and 23 hours.
		t.Errorf("a success after the time counted: %v", got)
	}
}

// TestDeclineCodes: a time close to a recent decline's time of the week or
// day of the month scores close; a decline older than declinedWindow, an
// approval, a decline after the time, and no decline do not count.
func TestDeclineCodes(t *testing.T) {
	t.Parallel()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	declined := time.Date(2026, 3, 6, 8, 0, 0, 0, tokyo) // a Friday, the 6th
	h := []Past{
		{At: declined.Add(-40 * 24 * time.Hour)}, // too old
		{At: declined.Add(-3 * 24 * time.Hour), Approved: true},
		{At: declined},
	}
	for _, c := range []struct {
		name string
		at   time.Time
		want []uint8
	}{
		{"a week on, an hour late", declined.Add(7*24*time.Hour + time.Hour), []uint8{1, 4}},
		{"four weeks on, the 3rd of April", declined.Add(28 * 24 * time.Hour), []uint8{1, 3}},
		{"the 6th of April, a Monday", time.Date(2026, 4, 6, 20, 0, 0, 0, tokyo), []uint8{6, 1}},
		{"ten days on", declined.Add(10*24*time.Hour + 2*time.Hour), []uint8{6, 5}},
		{"36 days on: too old", declined.Add(36 * 24 * time.Hour), []uint8{0, 0}},
		{"before the decline", declined.Add(-time.Hour), []uint8{0, 0}},
	} {
		if got := declineCodes(h, c.at.In(tokyo), c.at); string(got) != string(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
