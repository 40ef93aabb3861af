package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Outcome carries a refusal from the layer that decides it (GraphQL, which
// knows a request's cost) to the layer that answers it (HTTP, which turns
// it into 429 and Retry-After).
type Outcome struct {
	mu         sync.Mutex
	refused    bool
	retryAfter time.Duration
}

type outcomeKey struct{}

// NewContext returns ctx with a fresh Outcome, and the Outcome.
func NewContext(ctx context.Context) (context.Context, *Outcome) {
	o := &Outcome{}
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// FromContext returns ctx's Outcome, or nil; a nil Outcome ignores Refuse.
func FromContext(ctx context.Context) *Outcome {
	o, _ := ctx.Value(outcomeKey{}).(*Outcome)
	return o
}

// Refuse records that the request was refused by a budget, to be retried
// after retryAfter (0 when waiting will not help).
func (o *Outcome) Refuse(retryAfter time.Duration) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused, o.retryAfter = true, retryAfter
}

// Refused reports whether Refuse was called, and its retryAfter.
func (o *Outcome) Refused() (bool, time.Duration) {
	if o == nil {
		return false, 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refused, o.retryAfter
}
