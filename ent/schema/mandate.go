package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/offsession/offsession/ent/schema/schematype"
)

// Mandate is the record of the customer's consent that makes an off-session
// charge lawful. It is immutable once accepted, except that it can be
// revoked (and a single-use mandate becomes inactive once used).
type Mandate struct{ ent.Schema }

// Mixin of Mandate.
func (Mandate) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "mdt"}, TimeMixin{}, TenantMixin{}}
}

// Fields of Mandate.
func (Mandate) Fields() []ent.Field {
	return []ent.Field{
		field.String("customer_id").Immutable(),
		field.String("payment_method_id").Immutable(),
		field.Enum("usage").Values("recurring", "unscheduled").Immutable(),
		// The terms the customer agreed to.
		field.String("terms_text").Optional().Immutable(),
		field.String("terms_url").Optional().Immutable(),
		field.String("terms_version").Immutable(),
		field.String("timing_and_frequency").Immutable(),
		field.String("amount_determination").Immutable(),
		field.String("cancellation_policy").Immutable(),
		// How and when the customer accepted them.
		field.Enum("acceptance_type").Values("online", "offline").Immutable(),
		field.String("acceptance_ip_address").Optional().Immutable(),
		field.String("acceptance_user_agent").Optional().Immutable(),
		field.Time("accepted_at").Immutable(),
		// What the mandate allows.
		field.Enum("use_limit").Values("single_use", "multi_use").Immutable(),
		field.Int64("max_amount").Immutable().
			Comment("The most one charge may be, in minor units of currency."),
		field.String("currency").Immutable(),
		field.Enum("interval").Values("day", "week", "month", "year").Optional().Nillable().Immutable().
			Comment("For recurring mandates, how often the customer agreed to be charged."),
		field.Int("interval_count").Optional().Nillable().Immutable(),
		field.Enum("status").Values("active", "revoked", "inactive").Default("active"),
		field.String("reserved_payment_id").Optional().Nillable().Annotations(entgql.Skip()).
			Comment("A single-use mandate is reserved by the one payment that may use it, until that payment fails or is canceled."),
		field.Time("revoked_at").Optional().Nillable(),
		field.String("revocation_reason").Optional(),
		field.JSON("metadata", schematype.StringMap{}).Optional().Immutable().
			Annotations(entgql.Type("StringMap")),
	}
}

// Edges of Mandate.
func (Mandate) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("mandates").
			Field("customer_id").Unique().Required().Immutable(),
		edge.From("payment_method", PaymentMethod.Type).Ref("mandates").
			Field("payment_method_id").Unique().Required().Immutable(),
		edge.To("payments", OffSessionPayment.Type).
			Annotations(entgql.RelayConnection()),
	}
}

// Annotations of Mandate.
func (Mandate) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
