package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
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
			field := ae.Field
			if field == "" {
				// Raised while reading an argument: its path names it.
				field = argumentPath(out.Path)
			}
			out.Extensions = extensions(ae.Code, field, ae.Reason)
		case ent.IsNotFound(err):
			out.Message = "no such object"
			out.Extensions = extensions(apierror.NotFound, "", "")
		case errors.As(err, &ve):
			out.Message = "invalid value for " + ve.Name
			out.Extensions = extensions(apierror.BadUserInput, ve.Name, "")
		case errors.As(err, &gql) && gql.Err == nil:
			// gqlgen's own (parse, validation, limits): its text is safe and
			// codedResponses gives it a code.
		default:
			log.ErrorContext(ctx, "internal error", "err", err, "path", out.Path.String())
			out.Message = "internal error"
			out.Extensions = extensions(apierror.Internal, "", "")
		}
		return out
	}
}

// argumentPath renders the path of an argument below its field:
// [createCustomer input metadata] is "input.metadata".
func argumentPath(p ast.Path) string {
	if len(p) < 2 {
		return ""
	}
	var b strings.Builder
	for _, el := range p[1:] {
		switch e := el.(type) {
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(e))
		case ast.PathIndex:
			fmt.Fprintf(&b, "[%d]", int(e))
		}
	}
	return b.String()
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
