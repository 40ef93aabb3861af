package graph

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/carddata"
)

// Reasons of the errors refuseForbiddenInput gives.
const (
	reasonCardData  = "card_data_not_allowed"
	reasonNUL       = "nul_not_allowed"
	reasonLineBreak = "line_break_not_allowed"
)

// refuseForbiddenInput refuses an operation, before any resolver runs, if
// any string among its arguments (literals and variables, in nested input
// objects and lists, and the keys of StringMap objects) looks like a card
// number or holds a NUL byte, or if processor credentials hold a line
// break. It is the one check that covers every argument, whatever field
// it reaches; the services' own checks stay for the fields they know.
func refuseForbiddenInput(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation != nil {
		if e := checkSelections(oc.Operation.SelectionSet, oc.Variables, map[string]bool{}); e != nil {
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{e}})
		}
	}
	return next(ctx)
}

// checkSelections checks the arguments of every field in set, nested
// fields and fragments included.
func checkSelections(set ast.SelectionSet, vars map[string]any, visiting map[string]bool) *gqlerror.Error {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			for _, arg := range s.Arguments {
				v, err := arg.Value.Value(vars)
				if err != nil {
					continue // gqlgen reports a bad value itself
				}
				if e := checkValue(arg.Name, v); e != nil {
					e.Path = ast.Path{ast.PathName(s.Alias)}
					return e
				}
			}
			if e := checkSelections(s.SelectionSet, vars, visiting); e != nil {
				return e
			}
		case *ast.InlineFragment:
			if e := checkSelections(s.SelectionSet, vars, visiting); e != nil {
				return e
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || visiting[s.Name] {
				continue
			}
			visiting[s.Name] = true
			e := checkSelections(s.Definition.SelectionSet, vars, visiting)
			delete(visiting, s.Name)
			if e != nil {
				return e
			}
		}
	}
	return nil
}

// checkValue checks one argument value at path ("input.metadata"). Errors
// name the path, never the value: it may be the card number or a secret.
func checkValue(path string, v any) *gqlerror.Error {
	switch v := v.(type) {
	case string:
		return checkString(path, v, "")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			// A bad key is reported on the object: the key is the bad part.
			if e := checkString(path, k, "a key of "); e != nil {
				return e
			}
			if e := checkValue(path+"."+k, v[k]); e != nil {
				return e
			}
		}
	case []any:
		for i, el := range v {
			if e := checkValue(fmt.Sprintf("%s[%d]", path, i), el); e != nil {
				return e
			}
		}
	}
	return nil
}

func checkString(path, s, what string) *gqlerror.Error {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		return inputError(path, reasonNUL, what+path+" must not contain a NUL character")
	case carddata.LooksLikeCardNumber(s):
		return inputError(path, reasonCardData, what+path+" looks like a card number; offsession never stores card numbers")
	case what == "" && isCredentials(path) && strings.ContainsAny(s, "\r\n"):
		return inputError(path, reasonLineBreak, path+" must not contain a line break")
	}
	return nil
}

// isCredentials reports whether path is a processor's credentials, the only
// argument of that name.
func isCredentials(path string) bool {
	return path == "credentials" || strings.HasSuffix(path, ".credentials")
}

func inputError(field, reason, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: extensions(apierror.BadUserInput, field, reason)}
}
