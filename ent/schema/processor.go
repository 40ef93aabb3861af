package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/offsession/offsession/ent/schema/schematype"
)

// Processor is a configured connector to a payment processor.
type Processor struct{ ent.Schema }

// Mixin of Processor.
func (Processor) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "prc"}, TimeMixin{}, TenantMixin{}}
}

// Fields of Processor.
func (Processor) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty(),
		field.Enum("type").Values("simulator", "stripe").Immutable(),
		// Write-only: never returned by any query, log, error or event.
		field.String("credentials").Optional().Sensitive().Annotations(entgql.Skip()),
		field.String("base_url").Optional(),
		field.Bool("enabled").Default(true),
		field.Int("cost_percent_bps").Default(0).
			Comment("Percentage fee in basis points: 290 is 2.90%."),
		field.Int64("cost_fixed").Default(0).
			Comment("Fixed fee per attempt, in minor units of the payment's currency."),
		field.JSON("settings", schematype.StringMap{}).Optional().
			Annotations(entgql.Type("StringMap")).
			Comment("Connector settings that are not secret, such as the simulator's latency."),
	}
}

// Edges of Processor.
func (Processor) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("attempts", Attempt.Type).Annotations(entgql.Skip()),
	}
}

// Annotations of Processor.
func (Processor) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
