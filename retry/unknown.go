package retry

import "time"

// UnknownOutcomeBackoffMax bounds the wait before a processor call whose
// outcome is unknown is repeated, with the same key: it doubles from a
// base (UnknownOutcomeWait) up to this.
const UnknownOutcomeBackoffMax = time.Hour

// UnknownOutcomeMaxCalls bounds the calls of one attempt whose outcome
// stays unknown: once this many have been sent, and the processor's record
// (a connector.Resolver) still does not say what happened, the payment
// goes to requires_review for an operator, instead of another call. The
// waits between them double from 15 seconds, so the eighth call goes out
// about 32 minutes after the first: a processor outage of a few minutes,
// or a search index an hour behind, ends without an operator. With Stripe
// that is at most 23 requests for the attempt: eight calls, a look-up
// before each repeat and before giving up, and one after each repeat that
// meets a stored 5xx. Repeats with the key are safe while the processor
// keeps it (Stripe: 24 hours): they meet its first answer.
const UnknownOutcomeMaxCalls = 8

// UnknownOutcomeWait is how long to wait before repeating a call whose
// outcome is unknown, once calls calls of the attempt were sent: base,
// doubled at each call after the first, up to UnknownOutcomeBackoffMax.
func UnknownOutcomeWait(base time.Duration, calls int) time.Duration {
	return min(base<<min(calls-1, 16), UnknownOutcomeBackoffMax)
}
