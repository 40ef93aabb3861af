package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"github.com/offsession/offsession/ent/schema/schematype"
)

// Route sends the attempts of payments that match its conditions to its
// processors, by its strategy. Routes are evaluated by priority, lowest
// first; the first that matches decides.
type Route struct{ ent.Schema }

// Mixin of Route.
func (Route) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "rte"}, TimeMixin{}, TenantMixin{}}
}

// Fields of Route.
func (Route) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty(),
		field.Int("priority").Annotations(entgql.OrderField("PRIORITY")),
		field.Bool("enabled").Default(true),
		field.JSON("conditions", schematype.RouteConditions{}).
			Annotations(entgql.Type("RouteConditions")),
		field.Enum("strategy").Values("priority", "volume_split", "auto"),
		field.JSON("processors", []schematype.RouteProcessor{}).
			Annotations(entgql.Type("[RouteProcessor!]")).
			Comment("In priority order; weights for volume_split."),
		field.Float("exploration_share").Default(0.05).
			Comment("With auto: the share of attempts sent to another processor than the best, to keep measuring it."),
		field.Bool("cost_aware").Default(false).
			Comment("With auto: rank by expected value, success rate times amount minus cost."),
	}
}

// Annotations of Route.
func (Route) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
