package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/offsession/offsession/ent/schema/schematype"
)

// WebhookDelivery is one event on its way to one endpoint. Deliveries of one
// object's events go out in order: a delivery waits until those before it
// are delivered or given up.
type WebhookDelivery struct{ ent.Schema }

// Mixin of WebhookDelivery.
func (WebhookDelivery) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "whd"}, TimeMixin{}, TenantMixin{}}
}

// Fields of WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.String("endpoint_id").Immutable(),
		field.String("event_id").Immutable(),
		field.String("event_type").Immutable(),
		field.String("object_id").Immutable(),
		field.Int64("object_version").Immutable(),
		field.Enum("status").Values("pending", "delivered", "failed").Default("pending"),
		field.Int("attempt_count").Default(0),
		field.JSON("attempts", []schematype.DeliveryAttempt{}).Optional().
			Annotations(entgql.Type("[WebhookDeliveryAttempt!]")),
		field.Time("next_attempt_at").Optional().Nillable(),
		field.Time("delivered_at").Optional().Nillable(),
		field.Time("give_up_at").Immutable().
			Comment("After this, a delivery that has not gone through is given up."),
		field.String("lease_owner").Optional().Annotations(entgql.Skip()),
		field.Time("lease_expires_at").Optional().Nillable().Annotations(entgql.Skip()),
	}
}

// Edges of WebhookDelivery.
func (WebhookDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("endpoint", WebhookEndpoint.Type).Ref("deliveries").
			Field("endpoint_id").Unique().Required().Immutable(),
	}
}

// Indexes of WebhookDelivery.
func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("next_attempt_at").
			Annotations(entsql.IndexWhere("next_attempt_at IS NOT NULL")),
		index.Fields("endpoint_id", "object_id", "object_version"),
	}
}

// Annotations of WebhookDelivery.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
