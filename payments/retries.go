package payments

import (
	"context"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
)

// planRetry decides what follows a declined or failed attempt: the store
// says what the engine decides on (retry/history), the engine decides.
func (s *Service) planRetry(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, att *ent.Attempt, cls retry.Classification, out connector.Outcome, now time.Time) (retry.Decision, error) {
	in, err := s.history.Input(ctx, tx, p, att, cls, out, now)
	if err != nil {
		return retry.Decision{}, err
	}
	return s.retry.Next(ctx, in)
}
