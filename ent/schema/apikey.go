package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// APIKey authenticates requests for one account. Only a SHA-256 hash of the
// key is stored; the key itself is shown once, when it is created.
type APIKey struct{ ent.Schema }

// Mixin of APIKey.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "key"}, TimeMixin{}, TenantMixin{}}
}

// Fields of APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Default(""),
		field.Enum("role").Values("secret", "restricted", "admin").Immutable(),
		field.String("hash").Sensitive().Unique().Immutable().NotEmpty(),
		// redacted shows the key's kind and last characters, e.g. "sk_...3f9a".
		field.String("redacted").Immutable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

// Annotations of APIKey.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
