package graph

import (
	"context"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/graph/model"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/models"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/viewer"
)

// nodeType resolves node(id:) by the ID's type prefix. The lookup that
// follows goes through the tenant filter, so an ID of another account is
// NOT_FOUND like a missing one.
func nodeType(_ context.Context, id string) (string, error) {
	table, err := ids.Table(id)
	if err != nil {
		return "", apierror.InvalidReason("id", "malformed_id", "%s", err)
	}
	return table, nil
}

// viewerFrom returns the request's viewer.
func viewerFrom(ctx context.Context) (*viewer.Viewer, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.System() {
		return nil, apierror.ErrUnauthenticated
	}
	return &v, nil
}

// nextAttempt describes a payment's next attempt from its plan, or nil when
// none is planned.
func nextAttempt(p *ent.OffSessionPayment) *model.NextAttempt {
	switch p.Status {
	case offsessionpayment.StatusPending, offsessionpayment.StatusPendingRetry, offsessionpayment.StatusPaused:
	default:
		return nil
	}
	plan := p.NextAttemptPlan
	alts := make([]*retry.Alternative, len(plan.Alternatives))
	for i := range plan.Alternatives {
		alts[i] = &plan.Alternatives[i]
	}
	next := &model.NextAttempt{
		At:           p.NextAttemptAt,
		Strategy:     plan.Strategy,
		Reason:       plan.Reason,
		Score:        plan.Score,
		Alternatives: alts,
	}
	if plan.ModelVersion != "" {
		next.ModelVersion = &plan.ModelVersion
	}
	return next
}

// processorHealth is what this server's router knows of a processor.
func processorHealth(r *routing.Router, p *ent.Processor) *routing.Summary {
	sum := r.Stats().Summarize(p.ID)
	return &sum
}

// trainInput is the optional training input, empty when absent.
func trainInput(in *models.TrainInput) models.TrainInput {
	if in == nil {
		return models.TrainInput{}
	}
	return *in
}
