package graph

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/trace"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/auth"
	"github.com/offsession/offsession/metrics"
	"github.com/offsession/offsession/ratelimit"
	"github.com/offsession/offsession/tracing"
	"github.com/offsession/offsession/viewer"
)

// Defaults of Options.
const (
	MaxDepthDefault      = 10
	MaxComplexityDefault = 10000
)

// Options tune the GraphQL handler. Zero fields take their defaults.
type Options struct {
	// MaxDepth bounds how deeply a query nests fields (introspection aside).
	// Default MaxDepthDefault.
	MaxDepth int
	// MaxComplexity bounds the cost of one operation: each field 1, a
	// connection's edges and nodes times its page size. Default
	// MaxComplexityDefault.
	MaxComplexity int
	// MaxPageSize bounds first and last on every connection, and the IDs of
	// nodes(ids:). Default MaxPageSizeDefault.
	MaxPageSize int
	// PageSize is the page of a connection given neither first nor last.
	// Default PageSizeDefault.
	PageSize int
	// Budgets, when set, charge each operation's cost to its API key and
	// refuse it with RATE_LIMITED when the key cannot pay.
	Budgets *ratelimit.Budgets
	// Now is the clock of the budgets. Default time.Now.
	Now func() time.Time
	Log *slog.Logger
	// Metrics counts refusals by the budgets; nil counts nothing.
	Metrics *metrics.Metrics
	// Tracer traces each operation; nil: not traced.
	Tracer trace.TracerProvider
	// Origins (scheme://host[:port]) whose pages may open a WebSocket,
	// besides the server's own.
	Origins []string
}

// NewHandler returns the GraphQL HTTP handler: POST and GET (transport.go)
// and WebSocket transports, query limits (depth, page sizes, cost; limits.go), cost
// budgets (cost.go), role checks and coded errors.
func NewHandler(r *Resolver, opts Options) *handler.Server {
	if opts.MaxDepth == 0 {
		opts.MaxDepth = MaxDepthDefault
	}
	if opts.MaxComplexity == 0 {
		opts.MaxComplexity = MaxComplexityDefault
	}
	if opts.MaxPageSize == 0 {
		opts.MaxPageSize = MaxPageSizeDefault
	}
	if opts.PageSize == 0 {
		opts.PageSize = min(PageSizeDefault, opts.MaxPageSize)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	srv := handler.New(NewExecutableSchema(Config{Resolvers: r}))
	var originHosts []string
	for _, o := range opts.Origins {
		if u, err := url.Parse(o); err == nil {
			originHosts = append(originHosts, u.Host)
		}
	}
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		InitFunc:              r.authenticateSocket,
		Implementation:        transport.CoderWebsocketImplementation{AcceptOptions: coderws.AcceptOptions{OriginPatterns: originHosts}},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpTransport{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.Introspection{})
	srv.Use(depthLimit{max: opts.MaxDepth})
	srv.Use(&queryLimits{maxPage: opts.MaxPageSize, pageSize: opts.PageSize, maxComplexity: int64(opts.MaxComplexity)})
	srv.Use(costBudget{budgets: opts.Budgets, now: opts.Now, metrics: opts.Metrics})
	if tracing.Enabled(opts.Tracer) {
		srv.Use(operationSpans{tracer: tracing.Tracer(opts.Tracer)})
	}
	srv.AroundOperations(operationRequestID)
	srv.AroundOperations(authorize)
	srv.AroundOperations(refuseForbiddenInput)
	srv.AroundResponses(codedResponses)
	srv.AroundResponses(withRequestID)
	srv.SetErrorPresenter(presentError(opts.Log))
	srv.SetRecoverFunc(recoverPanic(opts.Log))
	return srv
}

// authenticateSocket reads the key of a WebSocket connection from
// connection_init's payload, {"authorization": "Bearer <key>"}: browsers
// cannot set the upgrade's headers. A key on the upgrade, checked by the
// HTTP layer already, serves as well.
func (r *Resolver) authenticateSocket(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	if _, ok := viewer.FromContext(ctx); ok {
		return ctx, nil, nil
	}
	// refuse closes the connection with graphql-transport-ws's 4403
	// (forbidden), saying why.
	refuse := func(err error) (context.Context, *transport.InitPayload, error) {
		return transport.WithWebsocketCloseCode(transport.AppendCloseReason(ctx, err.Error()), 4403), nil, err
	}
	key, ok := auth.BearerKey(p.Authorization())
	if !ok {
		return refuse(errors.New(`an API key is needed: send {"authorization": "Bearer <key>"} in connection_init`))
	}
	check, ok := auth.AuthenticatorFrom(ctx)
	if !ok { // not behind the HTTP layer (tests of the handler alone)
		check = func(ctx context.Context, key string) (viewer.Viewer, error) {
			return auth.Authenticate(ctx, r.client, key)
		}
	}
	v, err := check(ctx, key)
	switch {
	case errors.Is(err, auth.ErrInvalidKey), errors.Is(err, auth.ErrThrottled):
		return refuse(err)
	case err != nil:
		return refuse(errors.New("internal error"))
	}
	return viewer.NewContext(ctx, v), nil, nil
}

// authorize lets an operation through only for a caller whose role allows
// it: no key, only introspection; a restricted key, no mutations.
func authorize(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	v, ok := viewer.FromContext(ctx)
	switch {
	case !ok && !introspectionOnly(oc.Operation.SelectionSet):
		return refuse(ctx, apierror.Unauthenticated, "Authorization", "an API key is needed: send Authorization: Bearer <key>")
	case ok && oc.Operation.Operation == ast.Mutation && !v.Role.CanWrite():
		return refuse(ctx, apierror.Forbidden, "", "a restricted key cannot change anything")
	}
	return next(ctx)
}

func refuse(ctx context.Context, code apierror.Code, field, msg string) graphql.ResponseHandler {
	return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
		Message:    msg,
		Extensions: extensions(code, field, ""),
	}}})
}

func introspectionOnly(set ast.SelectionSet) bool {
	for _, sel := range set {
		f, ok := sel.(*ast.Field)
		if !ok || (f.Name != "__schema" && f.Name != "__type" && f.Name != "__typename") {
			return false
		}
	}
	return true
}

// depthLimit refuses operations that nest fields more than max deep.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if depth := selectionDepth(oc.Operation.SelectionSet, map[string]bool{}); depth > d.max {
		return &gqlerror.Error{
			Message:    "query is nested too deeply",
			Extensions: map[string]any{"code": string(apierror.BadUserInput), "reason": "query_too_deep", "depth": depth, "max_depth": d.max},
		}
	}
	return nil
}

// selectionDepth is the deepest nesting of fields in set, through fragments,
// not counting introspection.
func selectionDepth(set ast.SelectionSet, visiting map[string]bool) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.Name) > 1 && s.Name[:2] == "__" {
				continue
			}
			d = 1 + selectionDepth(s.SelectionSet, visiting)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, visiting)
		case *ast.FragmentSpread:
			if s.Definition == nil || visiting[s.Name] {
				continue
			}
			visiting[s.Name] = true
			d = selectionDepth(s.Definition.SelectionSet, visiting)
			delete(visiting, s.Name)
		}
		if d > deepest {
			deepest = d
		}
	}
	return deepest
}
