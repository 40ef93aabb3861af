package schema

import (
	"context"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"github.com/offsession/offsession/ent/intercept"
	"github.com/offsession/offsession/viewer"
)

// Account is a tenant: every other object belongs to exactly one.
type Account struct{ ent.Schema }

// Mixin of Account.
func (Account) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "acct"}, TimeMixin{}}
}

// Fields of Account.
func (Account) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty(),
	}
}

// Interceptors of Account: a viewer sees only its own account.
func (Account) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{
		intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
			v, ok := viewer.FromContext(ctx)
			switch {
			case !ok:
				return ErrNoViewer
			case v.System():
				return nil
			}
			q.WhereP(sql.FieldEQ("id", v.AccountID))
			return nil
		}),
	}
}

// Hooks of Account: only offsession itself creates or changes accounts.
func (Account) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				if v, ok := viewer.FromContext(ctx); !ok || !v.System() {
					return nil, ErrTenantMismatch
				}
				return next.Mutate(ctx, m)
			})
		},
	}
}

// Annotations of Account.
func (Account) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}
