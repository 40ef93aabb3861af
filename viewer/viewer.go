// Package viewer says who is making a request: which account, with which
// role. Every read and write of tenant data is filtered by the viewer in the
// context (see ent/schema/mixin_tenant.go); a context without a viewer reads
// and writes nothing.
//
// The system viewer is for offsession's own work (the scheduler, the CLI,
// key lookup): it crosses accounts and must never be derived from a request.
package viewer

import "context"

// Role is what an API key may do.
type Role string

const (
	// RoleSecret reads and changes everything in its account.
	RoleSecret Role = "secret"
	// RoleRestricted only reads: for frontends.
	RoleRestricted Role = "restricted"
	// RoleAdmin is RoleSecret plus model training and activation.
	RoleAdmin Role = "admin"
	// roleSystem is offsession itself.
	roleSystem Role = "system"
)

// Valid reports whether r is a role an API key can have.
func (r Role) Valid() bool {
	return r == RoleSecret || r == RoleRestricted || r == RoleAdmin
}

// CanWrite reports whether the role may call mutations.
func (r Role) CanWrite() bool {
	return r == RoleSecret || r == RoleAdmin || r == roleSystem
}

// Viewer is the caller of a request.
type Viewer struct {
	AccountID string
	Role      Role
	// KeyID names the API key used, for logs; never the key itself.
	KeyID string
}

// System reports whether this is offsession's own, cross-account viewer.
func (v Viewer) System() bool { return v.Role == roleSystem }

type ctxKey struct{}

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, v)
}

// FromContext returns the viewer in ctx, if any.
func FromContext(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(ctxKey{}).(Viewer)
	return v, ok
}

// SystemContext returns ctx carrying the system viewer.
func SystemContext(ctx context.Context) context.Context {
	return NewContext(ctx, Viewer{Role: roleSystem})
}

// AccountContext returns ctx acting as the given account with the secret
// role: for the CLI and the demo, which act on one account's behalf.
func AccountContext(ctx context.Context, accountID string) context.Context {
	return NewContext(ctx, Viewer{AccountID: accountID, Role: RoleSecret})
}
