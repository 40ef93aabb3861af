package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// RetryPolicy says how a declined payment is retried: by which strategy,
// within which window, how many times. A payment takes a snapshot of its
// policy when it is created, so changing a policy never changes payments
// already under way.
type RetryPolicy struct{ ent.Schema }

// Mixin of RetryPolicy.
func (RetryPolicy) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "rtp"}, TimeMixin{}, TenantMixin{}}
}

// Fields of RetryPolicy.
func (RetryPolicy) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty(),
		field.Enum("strategy").Values("none", "scheduled", "heuristic", "smart"),
		field.String("window").
			Comment("How long after the first attempt retries may be made: 1w, 2w, 3w, 1m, 2m, or a duration such as 36h."),
		field.Int64("window_seconds"),
		field.Int("max_retries").
			Comment("Retries after the first attempt."),
		field.Strings("schedule").Optional().
			Comment("For the scheduled strategy: offsets from the first attempt, such as 1d, 3d, 5d, 7d."),
		field.Float("holdout_share").Default(0).
			Comment("Share of payments retried by holdout_strategy as a control group."),
		field.Enum("holdout_strategy").Values("scheduled", "heuristic").Default("scheduled").
			Comment("The control group's strategy: the retry model is measured against it."),
		field.Bool("is_default").Default(false).
			Comment("The account's default policy, used by payments that name none."),
	}
}

// Edges of RetryPolicy.
func (RetryPolicy) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("payments", OffSessionPayment.Type).Annotations(entgql.RelayConnection()),
	}
}

// Annotations of RetryPolicy.
func (RetryPolicy) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
