package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/scoring"
)

// RetryModel is a version of an account's retry model: trained on its
// attempt history, judged by its metrics, activated (one at a time) to plan
// the smart strategy's retries, retired when another takes over. Activating
// an older version rolls back.
type RetryModel struct{ ent.Schema }

// Mixin of RetryModel.
func (RetryModel) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "mdl"}, TimeMixin{}, TenantMixin{}}
}

// Fields of RetryModel.
func (RetryModel) Fields() []ent.Field {
	return []ent.Field{
		field.Int("version").Immutable().Annotations(entgql.OrderField("VERSION")),
		field.Enum("status").Values("training", "candidate", "active", "retired", "demoted", "failed").Default("training").
			Comment("demoted: it was active, and its payments were recovered less often than its control group's, with confidence; the heuristic plans instead."),
		field.String("algorithm").Immutable(),
		field.JSON("parameters", schematype.StringMap{}).Optional().
			Annotations(entgql.Type("StringMap")),
		field.Strings("features").Optional(),
		field.Time("trained_from").Optional().Nillable(),
		field.Time("trained_to").Optional().Nillable(),
		field.Int("train_rows").Default(0),
		field.Int("test_rows").Default(0),
		field.JSON("metrics", scoring.Metrics{}).Optional().
			Annotations(entgql.Type("RetryModelMetrics")),
		field.Float("progress").Default(0).Comment("Training progress, 0 to 1."),
		field.String("error").Optional(),
		field.Int64("training_seconds").Optional().Nillable(),
		field.Bytes("model").Optional().Annotations(entgql.Skip()).
			Comment("The serialized model: its trees, node for node."),
		field.Time("activated_at").Optional().Nillable(),
		field.Time("demoted_at").Optional().Nillable(),
		field.String("demotion_reason").Optional().
			Comment("The measurement that demoted it: recovery of its payments against its control group's."),
	}
}

// Indexes of RetryModel.
func (RetryModel) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "version").Unique(),
		index.Fields("account_id", "status"),
	}
}

// Annotations of RetryModel.
func (RetryModel) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
