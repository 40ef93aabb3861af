package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/requestid"
)

// operationSpans wraps each GraphQL operation in a span named by its type
// and name ("mutation createOffSessionPayment"); an operation without a
// name is named by its first root field. Only installed when tracing is on.
type operationSpans struct{ tracer trace.Tracer }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = operationSpans{}

func (operationSpans) ExtensionName() string                   { return "OperationSpans" }
func (operationSpans) Validate(graphql.ExecutableSchema) error { return nil }

func (o operationSpans) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	typ, name := operationName(ctx)
	spanName := typ
	if name != "" {
		spanName += " " + name
	}
	ctx, span := o.tracer.Start(ctx, spanName, trace.WithAttributes(
		attribute.String("graphql.operation.type", typ),
		attribute.String("graphql.operation.name", name),
	))
	defer span.End()
	resp := next(ctx)
	if resp != nil && len(resp.Errors) > 0 {
		errCodes := make([]string, 0, len(resp.Errors))
		for _, e := range resp.Errors {
			c, _ := e.Extensions["code"].(string)
			errCodes = append(errCodes, c)
		}
		span.SetAttributes(attribute.StringSlice("graphql.error.codes", errCodes))
		span.SetStatus(codes.Error, resp.Errors[0].Message)
	}
	return resp
}

// operationName is the type and name of ctx's operation: its own name,
// or else its first field's.
func operationName(ctx context.Context) (typ, name string) {
	typ = "graphql"
	if !graphql.HasOperationContext(ctx) {
		return typ, ""
	}
	oc := graphql.GetOperationContext(ctx)
	name = oc.OperationName
	if op := oc.Operation; op != nil {
		typ = string(op.Operation)
		if name == "" {
			name = firstField(op.SelectionSet)
		}
	}
	return typ, name
}

func firstField(set ast.SelectionSet) string {
	for _, sel := range set {
		if f, ok := sel.(*ast.Field); ok {
			return f.Name
		}
	}
	return ""
}

// withRequestID puts the request's ID in every error's
// extensions.requestId, so a caller can quote it to an operator who finds
// the request's log lines by it. It runs around responses (for errors of
// parsing, validation and limits) and around operations (for refusals,
// such as authorize's, that answer without running the operation).
func withRequestID(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return addRequestID(ctx, next(ctx))
}

func operationRequestID(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if typ, name := operationName(ctx); name != "" {
		requestid.SetOperation(ctx, typ+" "+name)
	}
	h := next(ctx)
	return func(ctx context.Context) *graphql.Response { return addRequestID(ctx, h(ctx)) }
}

func addRequestID(ctx context.Context, resp *graphql.Response) *graphql.Response {
	id := requestid.FromContext(ctx)
	if resp == nil || id == "" {
		return resp
	}
	for _, e := range resp.Errors {
		if e.Extensions == nil {
			e.Extensions = map[string]any{}
		}
		e.Extensions["requestId"] = id
	}
	return resp
}
