package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// IdempotencyKey remembers a create mutation by the key its caller sent, so a
// replay returns the original object and a replay with other parameters is
// refused.
type IdempotencyKey struct{ ent.Schema }

// Mixin of IdempotencyKey.
func (IdempotencyKey) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "idk"}, TimeMixin{}, TenantMixin{}}
}

// Fields of IdempotencyKey.
func (IdempotencyKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").Immutable().NotEmpty(),
		field.String("operation").Immutable(),
		field.String("request_hash").Immutable(),
		field.String("resource_id").Immutable(),
		field.Time("expires_at").Immutable(),
	}
}

// Indexes of IdempotencyKey.
func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "key").Unique(),
		index.Fields("expires_at"),
	}
}

// Annotations of IdempotencyKey.
func (IdempotencyKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
