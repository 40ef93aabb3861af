package retry

import "time"

// InWindow reports whether an attempt planned at t falls inside a retry
// window that closes at until. The window includes its closing instant: a
// 14-day retry in a 2-week window is made. Planners decide with it where a
// retry may go, and the executor decides with it, on the attempt's planned
// time, whether a due retry is still made; one function, so that nothing a
// planner schedules is refused when it comes due.
func InWindow(t, until time.Time) bool {
	return !t.After(until)
}

// WindowOpenAfter reports whether a payment that waits (for new card data,
// say) may go on waiting after now: not once the closing instant has come,
// since nothing it waits for could then be attempted inside the window.
func WindowOpenAfter(now, until time.Time) bool {
	return now.Before(until)
}
