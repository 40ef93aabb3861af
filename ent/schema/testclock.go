package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// TestClock is a frozen time that customers attach to. Payments of those
// customers run on its time; advancing it runs, in time order, all the work
// that falls due up to the new time.
type TestClock struct{ ent.Schema }

// Mixin of TestClock.
func (TestClock) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "clk"}, TimeMixin{}, TenantMixin{}}
}

// Fields of TestClock.
func (TestClock) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Optional(),
		field.Time("frozen_time"),
		field.Enum("status").Values("ready", "advancing").Default("ready"),
		field.Time("advancing_to").Optional().Nillable(),
		// The process running an advance holds this lease and renews it
		// as it goes; another takes a stalled advance over when it lapses.
		field.String("lease_owner").Optional().Annotations(entgql.Skip()),
		field.Time("lease_expires_at").Optional().Nillable().Annotations(entgql.Skip()),
	}
}

// Edges of TestClock.
func (TestClock) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customers", Customer.Type).Ref("test_clock"),
		edge.From("payments", OffSessionPayment.Type).Ref("test_clock").
			Annotations(entgql.RelayConnection()),
	}
}

// Annotations of TestClock.
func (TestClock) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}
