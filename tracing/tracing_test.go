package tracing

import (
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestWantedByEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		give    map[string]string
		want    bool
		wantErr bool
	}{
		{"nothing set: off", nil, false, false},
		{"an endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, false},
		{"a traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true, false},
		{"otlp exporter, default endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, false},
		{"exporter none wins", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false, false},
		{"SDK disabled wins", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false, false},
		{"an exporter offsession lacks", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, false, true},
		{"grpc protocol", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WantedByEnv(func(k string) string { return tt.give[k] })
			require.Equal(t, tt.wantErr, err != nil, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestEnabledAndCarrier(t *testing.T) {
	t.Parallel()
	require.False(t, Enabled(nil))
	require.False(t, Enabled(Off()))
	tp := sdktrace.NewTracerProvider()
	require.True(t, Enabled(tp))

	require.Empty(t, Carrier(t.Context()), "nothing is stored when nothing traces")
	ctx, span := Tracer(tp).Start(t.Context(), "x")
	defer span.End()
	tc := Carrier(ctx)
	require.Regexp(t, `^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`, tc)
	require.Equal(t, span.SpanContext().TraceID(), Remote(tc).TraceID())
	require.False(t, Remote("garbage").IsValid())
}
