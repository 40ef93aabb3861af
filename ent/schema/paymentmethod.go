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

// PaymentMethod is a saved card: only the details that are safe to store,
// and one token per processor that can charge it. Never a card number or
// CVC.
type PaymentMethod struct{ ent.Schema }

// Mixin of PaymentMethod.
func (PaymentMethod) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pm"}, TimeMixin{}, TenantMixin{}}
}

// Fields of PaymentMethod.
func (PaymentMethod) Fields() []ent.Field {
	return []ent.Field{
		field.String("customer_id").Immutable(),
		field.Enum("type").Values("card").Default("card").Immutable(),
		field.Enum("brand").Values("visa", "mastercard", "amex", "discover", "jcb", "unionpay", "diners", "unknown"),
		field.Enum("funding").Values("credit", "debit", "prepaid", "unknown"),
		field.String("last4"),
		field.Int("exp_month"),
		field.Int("exp_year"),
		field.String("issuing_country").Optional(),
		field.String("fingerprint").
			Comment("Identifies the card across payment methods; network budgets are counted per fingerprint."),
		field.JSON("processor_tokens", []schematype.ProcessorToken{}).
			Annotations(entgql.Type("[ProcessorToken!]")),
		field.Enum("status").Values("active", "invalid", "expired").Default("active"),
		field.String("invalid_reason").Optional(),
		field.JSON("metadata", schematype.StringMap{}).Optional().
			Annotations(entgql.Type("StringMap")),
	}
}

// Edges of PaymentMethod.
func (PaymentMethod) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("payment_methods").
			Field("customer_id").Unique().Required().Immutable(),
		edge.To("mandates", Mandate.Type).
			Annotations(entgql.RelayConnection()),
		edge.To("payments", OffSessionPayment.Type).
			Annotations(entgql.RelayConnection()),
	}
}

// Indexes of PaymentMethod.
func (PaymentMethod) Indexes() []ent.Index {
	return []ent.Index{index.Fields("fingerprint")}
}

// Annotations of PaymentMethod.
func (PaymentMethod) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
