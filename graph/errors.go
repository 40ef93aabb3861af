package graph

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
)

// presentError turns any resolver error into a GraphQL error with an
// extensions.code. Only apierror messages reach the caller; anything else is
// logged and reported as INTERNAL, so no SQL, stack or credential leaks.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		out := graphql.DefaultErrorPresenter(ctx, err)
		var (
			ae  *apierror.Error
			ve  *ent.ValidationError
			gql *gqlerror.Error
		)
		switch {
		case errors.As(err, &ae):
			out.Message = ae.Message
			out.Extensions = extensions(ae.Code, ae.Field, ae.Reason)
		case ent.IsNotFound(err):
			out.Message = "no such object"
			out.Extensions = extensions(apierror.NotFound, "", "")
		case errors.As(err, &ve):
			out.Message = "invalid value for " + ve.Name
			out.Extensions = extensions(apierror.BadUserInput, ve.Name, "")
		case errors.As(err, &gql) && gql.Err == nil:
			// gqlgen's own: a variable or argument that does not coerce.
			out.Extensions = extensions(apierror.BadUserInput, "", "")
		default:
			log.ErrorContext(ctx, "internal error", "err", err, "path", out.Path.String())
			out.Message = "internal error"
			out.Extensions = extensions(apierror.Internal, "", "")
		}
		return out
	}
}

func extensions(code apierror.Code, field, reason string) map[string]any {
	ext := map[string]any{"code": string(code)}
	if field != "" {
		ext["field"] = field
	}
	if reason != "" {
		ext["reason"] = reason
	}
	return ext
}

// recoverPanic turns a resolver panic into an INTERNAL error.
func recoverPanic(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", v)
		return errors.New("internal panic")
	}
}

// codedResponses gives every error of a response a code of DESIGN.md, rule
// 7: gqlgen's parse, validation and complexity errors are the caller's bad
// input.
func codedResponses(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		switch code {
		case string(apierror.BadUserInput), string(apierror.Unauthenticated), string(apierror.Forbidden),
			string(apierror.NotFound), string(apierror.Conflict), string(apierror.RateLimited), string(apierror.Internal):
			continue
		}
		if e.Extensions == nil {
			e.Extensions = map[string]any{}
		}
		if code != "" {
			e.Extensions["detail"] = code
		}
		e.Extensions["code"] = string(apierror.BadUserInput)
	}
	return resp
}
