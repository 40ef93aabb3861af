package connector

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// StartCall starts the client span of one call to a processor of type
// processorType (simulator, stripe); op is what the call does (authorize,
// lookup).
func StartCall(ctx context.Context, tr trace.Tracer, processorType, op string) (context.Context, trace.Span) {
	return tr.Start(ctx, "processor."+op, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("offsession.processor.type", processorType)))
}

// EndCall ends a call's span with what the processor answered. A decline
// is an answer, not an error of the call; a technical failure or an
// unknown outcome is.
func EndCall(span trace.Span, out Outcome, err error) {
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(attribute.String("offsession.attempt.outcome", string(out.Result)))
	if out.DeclineCode != "" {
		span.SetAttributes(attribute.String("offsession.decline_code", out.DeclineCode))
	}
	switch {
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, "processor call failed")
	case out.Result == TechnicalError:
		span.SetStatus(codes.Error, "technical error")
	}
	span.End()
}
