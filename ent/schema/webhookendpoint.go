package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// WebhookEndpoint is a URL that receives the account's events, signed with
// its secret.
type WebhookEndpoint struct{ ent.Schema }

// Mixin of WebhookEndpoint.
func (WebhookEndpoint) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "we"}, TimeMixin{}, TenantMixin{}}
}

// Fields of WebhookEndpoint.
func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.String("url"),
		field.Strings("event_types").Optional().
			Comment("The event types sent to the endpoint; all when empty."),
		// Shown once, when the endpoint is created; needed to sign.
		field.String("secret").Sensitive().Immutable().Annotations(entgql.Skip()),
		field.Bool("enabled").Default(true),
		field.String("description").Optional(),
	}
}

// Edges of WebhookEndpoint.
func (WebhookEndpoint) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", WebhookDelivery.Type).Annotations(entgql.RelayConnection()),
	}
}

// Annotations of WebhookEndpoint.
func (WebhookEndpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
