package simulator

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxLatencyMS bounds the simulator's latency_ms setting: a minute,
// far past any processor timeout worth testing.
const MaxLatencyMS = 60_000

// SettingError names the setting of a processor that has a bad value.
type SettingError struct {
	Key     string
	Message string
}

func (e *SettingError) Error() string { return fmt.Sprintf("setting %s: %s", e.Key, e.Message) }

// CheckSettings refuses a simulator setting whose value the
// simulator could not use, rather than let it be ignored or misread at
// the first attempt: latency_ms an integer from 0 to
// MaxLatencyMS, outage and drop_first_response true or false,
// decline_rate (and its decline_rate:... forms) and degrade_decline_rate
// shares from 0 to 1, degrade_from an RFC 3339 time. Other keys are left
// alone. Keys are checked in order, so the error names the first bad one.
func CheckSettings(settings map[string]string) error {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if msg := checkSimulatorSetting(k, settings[k]); msg != "" {
			return &SettingError{Key: k, Message: msg}
		}
	}
	return nil
}

func checkSimulatorSetting(key, v string) string {
	switch {
	case key == "latency_ms":
		if ms, err := strconv.Atoi(v); err != nil || ms < 0 || ms > MaxLatencyMS {
			return fmt.Sprintf("must be a whole number of milliseconds from 0 to %d, got %q", MaxLatencyMS, v)
		}
	case key == "outage", key == "drop_first_response":
		if v != "true" && v != "false" {
			return fmt.Sprintf("must be \"true\" or \"false\", got %q", v)
		}
	case key == "decline_rate", strings.HasPrefix(key, "decline_rate:"), key == "degrade_decline_rate":
		if r, err := strconv.ParseFloat(v, 64); err != nil || !(r >= 0 && r <= 1) {
			return fmt.Sprintf("must be a share from 0 to 1, got %q", v)
		}
	case key == "degrade_from":
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return fmt.Sprintf("must be an RFC 3339 time such as 2026-04-05T00:00:00Z, got %q", v)
		}
	}
	return ""
}
