package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"entgo.io/ent/schema/index"
	"github.com/offsession/offsession/ent/schema/schematype"
)

// Customer is a person or business whose saved payment methods the merchant
// charges.
type Customer struct{ ent.Schema }

// Mixin of Customer.
func (Customer) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cus"}, TimeMixin{}, TenantMixin{}}
}

// Fields of Customer.
func (Customer) Fields() []ent.Field {
	return []ent.Field{
		field.String("external_ref").Optional().
			Comment("The merchant's own reference for the customer."),
		field.String("email").Optional(),
		field.String("name").Optional(),
		field.String("country").Optional().
			Comment("ISO 3166-1 alpha-2 country code, upper case."),
		field.String("time_zone").Default("UTC").
			Comment("IANA time zone, used to plan retries in the customer's local time."),
		field.JSON("metadata", schematype.StringMap{}).Optional().
			Annotations(entgql.Type("StringMap")),
		field.String("test_clock_id").Optional().Nillable().Immutable(),
	}
}

// Edges of Customer.
func (Customer) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("payment_methods", PaymentMethod.Type).
			Annotations(entgql.RelayConnection()),
		edge.To("mandates", Mandate.Type).
			Annotations(entgql.RelayConnection()),
		edge.To("payments", OffSessionPayment.Type).
			Annotations(entgql.RelayConnection()),
		edge.To("test_clock", TestClock.Type).Field("test_clock_id").Unique().Immutable(),
	}
}

// Indexes of Customer.
func (Customer) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id", "external_ref")}
}

// Annotations of Customer.
func (Customer) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
