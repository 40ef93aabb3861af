package schema

import (
	"context"
	"errors"
	"fmt"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"

	"github.com/offsession/offsession/ent/intercept"
	"github.com/offsession/offsession/internal/ids"
	"github.com/offsession/offsession/viewer"
)

// IDMixin gives an entity an opaque string ID with a type prefix.
type IDMixin struct {
	mixin.Schema
	Prefix string
}

// Fields of the IDMixin.
func (m IDMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			Immutable().
			NotEmpty().
			DefaultFunc(func() string { return ids.New(m.Prefix) }),
	}
}

// TimeMixin records when a row was created and last changed.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").
			Immutable().
			Default(now).
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").
			Default(now).
			UpdateDefault(now).
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// now stamps rows in UTC: SQLite stores times as text, and text compares as
// time only when every value has the same offset.
func now() time.Time { return time.Now().UTC() }

// ErrNoViewer is returned for any read or write of tenant data from a context
// that carries no viewer: the safe default for code that forgot to say who
// it acts for.
var ErrNoViewer = errors.New("no viewer in context: tenant data cannot be read or written")

// ErrTenantMismatch is returned when a viewer tries to create a row in an
// account other than its own.
var ErrTenantMismatch = errors.New("account does not match the viewer's")

// TenantMixin makes an entity belong to one account and enforces it in one
// place: every query is filtered by the viewer's account, every create is
// stamped with it, every update and delete is limited to it. Only the system
// viewer crosses accounts.
type TenantMixin struct{ mixin.Schema }

// Fields of the TenantMixin.
func (TenantMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").
			Immutable().
			NotEmpty().
			Annotations(entgql.Skip()),
	}
}

// Indexes of the TenantMixin.
func (TenantMixin) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "created_at")}
}

// Interceptors of the TenantMixin.
func (TenantMixin) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
			v, ok := viewer.FromContext(ctx)
			switch {
			case !ok:
				return ErrNoViewer
			case v.System():
				return nil
			}
			q.WhereP(sql.FieldEQ("account_id", v.AccountID))
			return nil
		}),
	}
}

// Hooks of the TenantMixin.
func (TenantMixin) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				v, ok := viewer.FromContext(ctx)
				if !ok {
					return nil, ErrNoViewer
				}
				if v.System() {
					return next.Mutate(ctx, m)
				}
				if m.Op().Is(ent.OpCreate) {
					if got, set := m.Field("account_id"); set && got != v.AccountID {
						return nil, fmt.Errorf("create in account %v as a viewer of %s: %w", got, v.AccountID, ErrTenantMismatch)
					}
					if err := m.SetField("account_id", v.AccountID); err != nil {
						return nil, err
					}
					return next.Mutate(ctx, m)
				}
				w, ok := m.(interface{ WhereP(...func(*sql.Selector)) })
				if !ok {
					return nil, fmt.Errorf("mutation %T cannot be limited to an account", m)
				}
				w.WhereP(sql.FieldEQ("account_id", v.AccountID))
				return next.Mutate(ctx, m)
			})
		},
	}
}
