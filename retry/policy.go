package retry

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Strategy is how retry times are chosen.
type Strategy string

// The strategies of a retry policy.
const (
	// StrategyNone: no retries.
	StrategyNone Strategy = "none"
	// StrategyScheduled: fixed offsets from the first attempt.
	StrategyScheduled Strategy = "scheduled"
	// StrategyHeuristic: rules: customer-local daytime, after typical
	// paydays, spacing that grows with each retry. The cold-start fallback
	// of StrategySmart.
	StrategyHeuristic Strategy = "heuristic"
	// StrategySmart: the time the retry model scores best; the heuristic
	// until a model is active.
	StrategySmart Strategy = "smart"
)

// Policy defaults, as Stripe recommends for off-session payments: 8 tries
// within 2 weeks.
const (
	MaxRetriesDefault = 8
	WindowDefault     = "2w"
	// MaxRetriesLimit bounds a policy's retries.
	MaxRetriesLimit = 20
)

// ScheduleDefault is the scheduled strategy's offsets when a policy gives
// none: Stripe's default of 4 retries in 21 days, spread out.
var ScheduleDefault = []string{"1d", "3d", "7d", "14d"}

// windowLimit bounds a window: Stripe allows at most 60 days.
const windowLimit = 60 * 24 * time.Hour

const day = 24 * time.Hour

// ParseWindow reads a retry window: 1w, 2w, 3w, 1m, 2m, or a duration in
// days or hours such as 10d or 36h.
func ParseWindow(s string) (time.Duration, error) {
	named := map[string]time.Duration{"1w": 7 * day, "2w": 14 * day, "3w": 21 * day, "1m": 30 * day, "2m": 60 * day}
	if d, ok := named[s]; ok {
		return d, nil
	}
	d, err := ParseOffset(s)
	if err != nil {
		return 0, fmt.Errorf("window %q: want 1w, 2w, 3w, 1m, 2m or a duration such as 10d or 36h", s)
	}
	if d < time.Hour || d > windowLimit {
		return 0, fmt.Errorf("window %q: must be 1 hour to 60 days", s)
	}
	return d, nil
}

// ParseOffset reads a duration that may be in days: 3d, 36h, 90m, 1d12h.
func ParseOffset(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 {
			return 0, fmt.Errorf("duration %q", s)
		}
		total = time.Duration(days) * day
		s = s[i+1:]
		if s == "" {
			return total, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q", s)
	}
	return total + d, nil
}

// ParseSchedule reads the scheduled strategy's offsets: each a duration,
// strictly increasing.
func ParseSchedule(offsets []string) ([]time.Duration, error) {
	out := make([]time.Duration, 0, len(offsets))
	for i, o := range offsets {
		d, err := ParseOffset(o)
		if err != nil {
			return nil, fmt.Errorf("offset %d: %w", i, err)
		}
		if d <= 0 || (i > 0 && d <= out[i-1]) {
			return nil, fmt.Errorf("offset %d (%s): offsets must be positive and increasing", i, o)
		}
		out = append(out, d)
	}
	return out, nil
}
