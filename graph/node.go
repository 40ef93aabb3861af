package graph

import (
	"context"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ids"
	"github.com/offsession/offsession/viewer"
)

// nodeType resolves node(id:) by the ID's type prefix. The lookup that
// follows goes through the tenant filter, so an ID of another account is
// NOT_FOUND like a missing one.
func nodeType(_ context.Context, id string) (string, error) {
	table, err := ids.Table(id)
	if err != nil {
		return "", apierror.InvalidReason("id", "malformed_id", "%s", err)
	}
	return table, nil
}

// viewerFrom returns the request's viewer.
func viewerFrom(ctx context.Context) (*viewer.Viewer, error) {
	v, ok := viewer.FromContext(ctx)
	if !ok || v.System() {
		return nil, apierror.ErrUnauthenticated
	}
	return &v, nil
}
