package graph

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/ratelimit"
	"github.com/offsession/offsession/viewer"
)

// costBudget charges each operation's cost, as queryLimits measured it, to
// the caller's API key, and refuses it with RATE_LIMITED, before it runs,
// when the key's budget cannot pay: aliases and fields count, so 500
// aliased mutations are 500 mutation units, not one request.
type costBudget struct {
	budgets *ratelimit.Budgets
	now     func() time.Time
	metrics *metrics.Metrics
}

// costReport is what extensions.cost says of a request.
type costReport struct {
	Requested int64 `json:"requested"`
	// Limit is the most one request may cost.
	Limit int64 `json:"limit"`
	// Remaining is the key's query-cost budget left, after this request.
	Remaining float64 `json:"remaining"`
	// RestoreRate is how much of it comes back each second.
	RestoreRate float64 `json:"restoreRate"`
	// Mutations are the request's mutation fields, and MutationsRemaining
	// the key's mutation budget left.
	Mutations          int64   `json:"mutations"`
	MutationsRemaining float64 `json:"mutationsRemaining"`
}

const costReportExtension = "CostReport"

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.ResponseInterceptor
} = costBudget{}

func (costBudget) ExtensionName() string                   { return costReportExtension }
func (costBudget) Validate(graphql.ExecutableSchema) error { return nil }

func (b costBudget) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	qc, ok := oc.Stats.GetExtension(queryCostExtension).(*queryCost)
	v, authed := viewer.FromContext(ctx)
	if !ok || !authed || b.budgets == nil {
		return nil
	}
	cfg := b.budgets.Config()
	d := b.budgets.Charge(v.KeyID, ratelimit.Charge{Cost: qc.Complexity, Mutations: qc.Mutations}, b.now())
	report := &costReport{
		Requested: qc.Complexity, Limit: qc.Limit, Remaining: math.Floor(d.CostRemaining), RestoreRate: cfg.CostPerSecond,
		Mutations: qc.Mutations, MutationsRemaining: math.Floor(d.MutationsRemaining),
	}
	oc.Stats.SetExtension(costReportExtension, report)
	if d.Allowed {
		return nil
	}
	ratelimit.FromContext(ctx).Refuse(d.RetryAfter)
	if d.Exceeded == "mutations" {
		b.metrics.RateLimited(metrics.RateLimitedMutations)
	} else {
		b.metrics.RateLimited(metrics.RateLimitedCost)
	}
	var msg string
	switch {
	case d.Exceeded == "mutations" && d.OverBurst:
		msg = fmt.Sprintf("this request runs %d mutations; a key may run at most %d at once: split it", qc.Mutations, cfg.MutationBurst)
	case d.Exceeded == "mutations":
		msg = fmt.Sprintf("this key has run too many mutations; retry in %s", d.RetryAfter.Round(time.Millisecond))
	case d.OverBurst:
		msg = fmt.Sprintf("this request costs %d; a key may spend at most %d at once: ask for less", qc.Complexity, cfg.CostBurst)
	default:
		msg = fmt.Sprintf("this key has spent its query budget; retry in %s", d.RetryAfter.Round(time.Millisecond))
	}
	ext := extensions(apierror.RateLimited, "", d.Exceeded+"_budget")
	ext["retry_after_seconds"] = math.Ceil(d.RetryAfter.Seconds())
	return &gqlerror.Error{Message: msg, Extensions: ext}
}

// InterceptResponse reports the request's cost in extensions.cost, whether
// it ran or was refused.
func (costBudget) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	report, ok := oc.Stats.GetExtension(costReportExtension).(*costReport)
	if !ok {
		qc, measured := oc.Stats.GetExtension(queryCostExtension).(*queryCost)
		if !measured {
			return resp
		}
		// Not charged (no key, or refused before): no budget to report.
		return withExtension(resp, "cost", map[string]any{"requested": qc.Complexity, "limit": qc.Limit, "mutations": qc.Mutations})
	}
	return withExtension(resp, "cost", report)
}

func withExtension(resp *graphql.Response, name string, v any) *graphql.Response {
	if resp.Extensions == nil {
		resp.Extensions = map[string]any{}
	}
	resp.Extensions[name] = v
	return resp
}
