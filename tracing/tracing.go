// Package tracing owns offsession's OpenTelemetry traces: the tracer
// provider, built from the standard OTEL_* variables and off unless they
// ask for it, the HTTP server span, and the propagation of a trace from the
// request that creates a payment to the attempts the scheduler makes later.
//
// It never sets OpenTelemetry's global provider: each built process has its
// own, so tests can build several. When tracing is off every span is the
// no-op provider's, which allocates nothing.
package tracing

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Scope is the instrumentation scope of offsession's own spans.
const Scope = "github.com/offsession/offsession"

// ServiceName is the service.name of the traces, unless OTEL_SERVICE_NAME
// or OTEL_RESOURCE_ATTRIBUTES says otherwise.
const ServiceName = "offsession"

// Off is the provider of a process that does not trace.
func Off() trace.TracerProvider { return noop.NewTracerProvider() }

// Enabled reports whether tp records anything: false for the no-op
// provider, so that callers can leave out instrumentation (the HTTP
// server span, the database driver wrapper) that would cost even when
// every span is a no-op.
func Enabled(tp trace.TracerProvider) bool {
	if tp == nil {
		return false
	}
	_, off := tp.(noop.TracerProvider)
	return !off
}

// Tracer is offsession's tracer from tp (nil: the no-op provider's).
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = Off()
	}
	return tp.Tracer(Scope)
}

// WantedByEnv reports whether the environment asks for traces: an OTLP
// endpoint is set, or OTEL_TRACES_EXPORTER is otlp; never when
// OTEL_SDK_DISABLED is true or OTEL_TRACES_EXPORTER is none.
func WantedByEnv(getenv func(string) string) (bool, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false, nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return false, nil
	case "otlp":
		return true, nil
	case "":
	default:
		return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: offsession exports traces with otlp (over HTTP) or none", exp)
	}
	if p := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"); p == "grpc" {
		return false, fmt.Errorf("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc: offsession exports traces over http/protobuf")
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "", nil
}

// FromEnv returns the tracer provider the environment asks for, and the
// function that flushes and stops it. Without OTEL_* settings it is the
// no-op provider. The OTLP/HTTP exporter reads its endpoint, headers,
// timeout and TLS settings from the OTEL_EXPORTER_OTLP_* variables, and the
// SDK its sampler (OTEL_TRACES_SAMPLER, default parent-based always-on)
// and batching (OTEL_BSP_*).
func FromEnv(ctx context.Context) (trace.TracerProvider, func(context.Context) error, error) {
	want, err := WantedByEnv(os.Getenv)
	if err != nil || !want {
		return Off(), func(context.Context) error { return nil }, err
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", serviceName())))
	if err != nil {
		return nil, nil, fmt.Errorf("trace resource: %w", err)
	}
	if res, err = resource.Merge(res, envResource(ctx)); err != nil {
		return nil, nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return tp, tp.Shutdown, nil
}

func serviceName() string {
	if n := os.Getenv("OTEL_SERVICE_NAME"); n != "" {
		return n
	}
	return ServiceName
}

// envResource is OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, which win
// over the defaults.
func envResource(ctx context.Context) *resource.Resource {
	r, err := resource.New(ctx, resource.WithFromEnv())
	if err != nil {
		return resource.Empty()
	}
	return r
}

// Propagator is how trace context crosses process boundaries: W3C
// traceparent and baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Handler wraps h in a server span per request, continuing a caller's
// traceparent; with tracing off it returns h unchanged. Probes and
// scrapes (/healthz, /readyz, /metrics) are not traced.
func Handler(tp trace.TracerProvider, h http.Handler) http.Handler {
	if !Enabled(tp) {
		return h
	}
	return otelhttp.NewHandler(h, "http",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(Propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + routeOf(r.URL.Path) }),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
	)
}

// routeOf keeps span names few: the playground's assets are one route.
func routeOf(path string) string {
	if path == "/graphql" || path == "/" {
		return path
	}
	return "other"
}

// Carrier returns the W3C traceparent of the span in ctx, to be stored
// with work that runs later; "" when the span is not sampled (or there is
// none), so that nothing is stored when tracing is off.
func Carrier(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// Remote is the span context stored by Carrier (invalid for "" or a
// malformed value).
func Remote(traceparent string) trace.SpanContext {
	if traceparent == "" {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceparent})
	return trace.SpanContextFromContext(ctx)
}

// StartLater starts span name of work that runs after the request that
// stored carrier (Carrier) with it: the span continues that request's
// trace when continues is set (the first attempt of a payment, say), else
// it starts a trace of its own, linked to the request. When tp does not
// record (Enabled), the span is a no-op and costs nothing.
func StartLater(ctx context.Context, tp trace.TracerProvider, name, carrier string, continues bool, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if !Enabled(tp) {
		return ctx, trace.SpanFromContext(context.Background()) // a no-op span
	}
	opts := []trace.SpanStartOption{trace.WithAttributes(attrs...)}
	if remote := Remote(carrier); remote.IsValid() {
		if continues {
			ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
		} else {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: remote}), trace.WithNewRoot())
		}
	}
	return Tracer(tp).Start(ctx, name, opts...)
}

// End ends span, with err's status when err is set (description says
// what failed).
func End(span trace.Span, err error, description string) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, description)
	}
	span.End()
}
