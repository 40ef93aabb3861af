// Package apierror defines the kinds of error offsession reports to its
// callers. Services return these; the GraphQL error presenter turns them into
// errors with an extensions.code and the field at fault. Anything else that
// reaches the presenter is INTERNAL and its text is never shown.
package apierror

import (
	"errors"
	"fmt"
)

// Code is the extensions.code of a GraphQL error.
type Code string

// The codes of DESIGN.md, rule 7.
const (
	BadUserInput    Code = "BAD_USER_INPUT"
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	Conflict        Code = "CONFLICT"
	RateLimited     Code = "RATE_LIMITED"
	Internal        Code = "INTERNAL"
)

// Error is an error a caller can act on: its message is safe to show.
type Error struct {
	Code Code
	// Field is the input path at fault, such as "input.amount", if any.
	Field   string
	Message string
	// Reason is a machine-readable detail within the code, such as
	// "amount_over_mandate_limit", if any.
	Reason string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

// Is makes errors.Is(err, apierror.ErrNotFound) true for any NOT_FOUND error,
// and likewise for the other sentinel codes.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Field == "" && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is on the code alone.
var (
	ErrNotFound        = &Error{Code: NotFound}
	ErrConflict        = &Error{Code: Conflict}
	ErrForbidden       = &Error{Code: Forbidden}
	ErrUnauthenticated = &Error{Code: Unauthenticated}
	ErrBadUserInput    = &Error{Code: BadUserInput}
)

// Invalid reports bad input in field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// InvalidReason is Invalid with a machine-readable reason.
func InvalidReason(field, reason, format string, args ...any) *Error {
	e := Invalid(field, format, args...)
	e.Reason = reason
	return e
}

// NotFoundID reports that the object id, given in field, does not exist in
// the caller's account. It says the same whether the object is missing or
// belongs to another account, so IDs cannot be probed across accounts.
func NotFoundID(field, id string) *Error {
	return &Error{Code: NotFound, Field: field, Message: fmt.Sprintf("no such object: %q", id)}
}

// Conflictf reports a request that conflicts with the current state.
func Conflictf(field, reason, format string, args ...any) *Error {
	return &Error{Code: Conflict, Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// Forbiddenf reports a caller whose role does not allow the request.
func Forbiddenf(format string, args ...any) *Error {
	return &Error{Code: Forbidden, Message: fmt.Sprintf(format, args...)}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
