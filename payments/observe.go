package payments

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/tracing"
)

// startAttemptSpan starts the span of the work on payment p. Its first
// attempt continues the trace of the request that created the payment;
// a later one starts a trace of its own, linked to that request.
func (s *Service) startAttemptSpan(ctx context.Context, p *ent.OffSessionPayment, resume bool) (context.Context, trace.Span) {
	number := p.AttemptCount + 1 // the attempt to start, or the one in flight
	if resume {
		number = p.AttemptCount
	}
	return tracing.StartLater(ctx, s.cfg.Tracer, "payments.attempt", p.TraceContext, number == 1,
		attribute.String("offsession.payment.id", p.ID),
		attribute.Int("offsession.attempt.number", number),
		attribute.Bool("offsession.attempt.resumed", resume),
	)
}
