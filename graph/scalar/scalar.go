// Package scalar holds the GraphQL scalars offsession defines over Go
// types of its own: the API's, not the domain's, so the domain packages
// need not import gqlgen.
package scalar

import (
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/offsession/offsession/apierror"
)

// MarshalTime writes a time as RFC 3339 in UTC, for the GraphQL Time
// scalar, to the microsecond: what PostgreSQL keeps of it, so that an
// object answers the same whether it was just made (a create returns what
// its transaction wrote) or read back, on either store.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.MarshalTime(t.UTC().Truncate(time.Microsecond))
}

// UnmarshalTime reads an RFC 3339 time. Its error is the caller's bad input.
func UnmarshalTime(v any) (time.Time, error) {
	t, err := graphql.UnmarshalTime(v)
	if err != nil {
		return time.Time{}, apierror.Invalid("", "want a time in RFC 3339 form, such as 2026-03-01T12:00:00Z")
	}
	return t.UTC(), nil
}
