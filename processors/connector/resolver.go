package connector

import "context"

// Resolver is a connector that can find out what became of a call whose
// outcome is unknown, without making the call again.
type Resolver interface {
	// Lookup finds the authorization that a call under req's idempotency
	// key made. found is true only when the processor holds one in a final
	// state (approved, declined); otherwise the caller knows no more than
	// before and must not move on as if nothing was charged.
	Lookup(ctx context.Context, req AuthorizeRequest) (out Outcome, found bool, err error)
}
