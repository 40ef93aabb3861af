package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SimulatorCharge is the ledger of the built-in simulator processor: what a
// real processor would hold on its side. It keys every authorization by the
// idempotency key it was sent with, so a repeated call returns the first
// outcome and tests can prove that no attempt reached the processor twice
// under different keys. Only the simulator reads or writes it, as the system
// viewer.
type SimulatorCharge struct{ ent.Schema }

// Mixin of SimulatorCharge.
func (SimulatorCharge) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "sch"}, TimeMixin{}}
}

// Fields of SimulatorCharge.
func (SimulatorCharge) Fields() []ent.Field {
	return []ent.Field{
		field.String("processor_id").Immutable(),
		field.String("idempotency_key").Unique().Immutable(),
		field.String("token").Immutable(),
		field.Time("at").Immutable().Comment("When the charge was made, on the payment's clock."),
		field.Int64("amount").Immutable(),
		field.String("currency").Immutable(),
		field.Bool("manual_capture").Immutable(),
		field.String("outcome").Immutable(),
		field.String("decline_code").Optional().Immutable(),
		field.String("network_advice_code").Optional().Immutable(),
		field.String("network_decline_code").Optional().Immutable(),
		field.Int("calls").Default(1).Comment("How many times this key was sent."),
		field.Int64("amount_captured").Default(0),
		field.Bool("voided").Default(false),
	}
}

// Indexes of SimulatorCharge.
func (SimulatorCharge) Indexes() []ent.Index {
	return []ent.Index{index.Fields("token", "at")}
}

// Annotations of SimulatorCharge.
func (SimulatorCharge) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
