package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Event records one state change. It is written in the same transaction as
// the change (an outbox), so none is lost and none is invented.
type Event struct{ ent.Schema }

// Mixin of Event.
func (Event) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "evt"}, TimeMixin{}, TenantMixin{}}
}

// Fields of Event.
func (Event) Fields() []ent.Field {
	return []ent.Field{
		field.String("type").Immutable().Comment("For example off_session_payment.succeeded."),
		field.String("object_id").Immutable(),
		field.String("object_type").Immutable(),
		field.Int64("object_version").Immutable().
			Comment("The object's version after the change: orders the events of one object."),
		field.JSON("data", map[string]any{}).Immutable().
			Annotations(entgql.Type("Map")).
			Comment("A snapshot of the object after the change."),
	}
}

// Indexes of Event.
func (Event) Indexes() []ent.Index {
	return []ent.Index{index.Fields("object_id", "object_version")}
}

// Annotations of Event.
func (Event) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
