package routes

import (
	"context"
	"fmt"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/viewer"
)

// refreshLimit bounds the attempts one refresh reads.
const refreshLimit = 50_000

// Refresh rebuilds the statistics from the attempts every replica finished
// in the last window: so replicas converge, and a restart starts warm.
func Refresh(ctx context.Context, r *routing.Router, db *ent.Client, now time.Time, window time.Duration) error {
	atts, err := db.Attempt.Query().
		Where(attempt.FinishedAtGT(now.Add(-window)), attempt.ProcessorIDNotNil()).
		Order(ent.Desc(attempt.FieldFinishedAt)).
		Limit(refreshLimit).
		Select(attempt.FieldProcessorID, attempt.FieldSegment, attempt.FieldFinishedAt, attempt.FieldOutcome,
			attempt.FieldDeclineClass, attempt.FieldDeclineCode, attempt.FieldRouting).
		All(viewer.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("refresh routing statistics: %w", err)
	}
	obs := make([]routing.Observation, 0, len(atts))
	for i := len(atts) - 1; i >= 0; i-- { // oldest first
		a := atts[i]
		for _, f := range a.Routing.Failovers {
			obs = append(obs, routing.Observation{ProcessorID: f.ProcessorID, Segment: a.Segment, At: f.At, Class: retry.Technical})
		}
		o := routing.Observation{ProcessorID: *a.ProcessorID, Segment: a.Segment, At: *a.FinishedAt}
		switch {
		case a.Outcome == attempt.OutcomeApproved:
			o.Class = retry.Approved
		case a.Outcome == attempt.OutcomeTechnicalError:
			o.Class = retry.Technical
		case a.DeclineClass != nil:
			o.Class = retry.Class(*a.DeclineClass)
		}
		if a.DeclineCode != nil {
			o.DeclineCode = *a.DeclineCode
		}
		obs = append(obs, o)
	}
	r.Stats().Replace(obs)
	return nil
}
