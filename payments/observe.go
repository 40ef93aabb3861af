package payments

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/tracing"
	"github.com/offsession/offsession/viewer"
)

// CountByStatus counts every account's payments by status, and the
// payments due at now that no worker holds (test clocks' left out), for
// the metrics.
func (s *Service) CountByStatus(ctx context.Context, now time.Time) (map[string]int, int, error) {
	ctx = viewer.SystemContext(ctx)
	var rows []struct {
		Status string `json:"status"`
		Count  int    `json:"count"`
	}
	if err := s.db.OffSessionPayment.Query().
		GroupBy(offsessionpayment.FieldStatus).
		Aggregate(ent.Count()).
		Scan(ctx, &rows); err != nil {
		return nil, 0, fmt.Errorf("count payments by status: %w", err)
	}
	by := make(map[string]int, len(rows))
	for _, r := range rows {
		by[r.Status] = r.Count
	}
	now = now.UTC()
	due, err := s.db.OffSessionPayment.Query().
		Where(offsessionpayment.DueAtNotNil(), offsessionpayment.DueAtLTE(now), offsessionpayment.TestClockIDIsNil(),
			offsessionpayment.Or(offsessionpayment.LeaseExpiresAtIsNil(), offsessionpayment.LeaseExpiresAtLTE(now))).
		Count(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("count due payments: %w", err)
	}
	return by, due, nil
}

// processorType is the connector type of a processor (simulator, stripe):
// the processor label of the metrics, bounded where processor IDs are
// not. Types never change, so they are kept once read.
func (s *Service) processorType(ctx context.Context, db *ent.Client, id string) string {
	if t, ok := s.procTypes.Load(id); ok {
		return t.(string)
	}
	pr, err := db.Processor.Get(viewer.SystemContext(ctx), id)
	if err != nil {
		return "unknown"
	}
	s.procTypes.Store(id, string(pr.Type))
	return string(pr.Type)
}

// startAttemptSpan starts the span of the work on payment p. Its first
// attempt continues the trace of the request that created the payment;
// a later one starts a trace of its own, linked to that request.
func (s *Service) startAttemptSpan(ctx context.Context, p *ent.OffSessionPayment, resume bool) (context.Context, trace.Span) {
	if !tracing.Enabled(s.cfg.Tracer) {
		return ctx, trace.SpanFromContext(context.Background()) // a no-op span
	}
	number := p.AttemptCount + 1 // the attempt to start, or the one in flight
	if resume {
		number = p.AttemptCount
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(
		attribute.String("offsession.payment.id", p.ID),
		attribute.Int("offsession.attempt.number", number),
		attribute.Bool("offsession.attempt.resumed", resume),
	)}
	if remote := tracing.Remote(p.TraceContext); remote.IsValid() {
		if number == 1 {
			ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
		} else {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: remote}), trace.WithNewRoot())
		}
	}
	return s.tracer.Start(ctx, "payments.attempt", opts...)
}

// endSpan ends a span with err's status.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "attempt failed")
	}
	span.End()
}
