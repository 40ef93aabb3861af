package idempotency

import "fmt"

// The idempotency keys sent to processors are stable, derived from the
// payment: any repeat of a call, after a crash or an unknown outcome,
// sends the same key, and a processor that already acted answers as
// before.

// AttemptKey is the processor idempotency key of attempt number of
// payment paymentID.
func AttemptKey(paymentID string, number int) string {
	return fmt.Sprintf("%s-%d", paymentID, number)
}

// CaptureKey is the processor idempotency key of the capture of payment
// paymentID's authorization.
func CaptureKey(paymentID string) string { return paymentID + "-capture" }

// VoidKey is the processor idempotency key of the release of payment
// paymentID's authorization: canceled or expired alike.
func VoidKey(paymentID string) string { return paymentID + "-void" }
