package schema

import (
	"context"
	"errors"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
)

// ErrAttemptIsHistory is returned for any change to a finished attempt and
// any delete of an attempt.
var ErrAttemptIsHistory = errors.New("attempts are history: a finished attempt is never changed and no attempt is deleted")

// Attempt is one authorization attempt of an off-session payment. It is
// written, with its processor idempotency key, before the processor is
// called, finished once with the outcome, and never changed again.
type Attempt struct{ ent.Schema }

// Mixin of Attempt.
func (Attempt) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "att"}, TimeMixin{}, TenantMixin{}}
}

// Fields of Attempt.
func (Attempt) Fields() []ent.Field {
	return []ent.Field{
		field.String("payment_id").Immutable(),
		field.String("customer_id").Default("").Immutable().Annotations(entgql.Skip()).
			Comment("The payment's customer: the retry model reads the customer's history by it."),
		field.Int("number").Immutable().
			Annotations(entgql.OrderField("NUMBER")).
			Comment("1 for the first attempt, 2 for the first retry, ..."),
		// The processor can change while the attempt is in flight: a
		// technical failure fails over to the next one.
		field.String("processor_id").Optional().Nillable(),
		field.String("payment_method_id").Optional().Immutable().
			Comment("The payment method charged: the payment's first, or one of its backups."),
		field.String("card_fingerprint").Immutable().
			Comment("The card's fingerprint: network retry budgets are counted per card."),
		field.String("card_network").Immutable().Comment("The card's brand, whose retry rules apply."),
		field.String("segment").Default("").Immutable().
			Comment("brand/funding/issuing country/currency: routing keeps success rates per segment."),
		// The request, pinned: a repeat after a crash or a lost answer sends
		// exactly what was sent, whatever happened to the payment method since.
		field.String("token").Sensitive().Annotations(entgql.Skip()),
		field.String("network_transaction_id").Optional().Annotations(entgql.Skip()),
		field.Bool("is_retry").Default(false).Immutable().
			Comment("A reattempt: an earlier attempt of the payment reached the issuer. Network budgets count these."),
		field.Int("calls").Default(0).
			Comment("Times the request was sent to the current processor; above 1 after unknown outcomes."),
		field.String("idempotency_key").Unique().Immutable().
			Comment("Sent to the processor; the same key is sent again if the call is repeated after a crash or timeout."),
		field.Enum("outcome").Values("in_flight", "approved", "declined", "technical_error").Default("in_flight"),
		field.Enum("decline_class").Values("soft", "needs_new_card_data", "hard", "technical").Optional().Nillable(),
		field.String("decline_code").Optional().Nillable(),
		field.String("network_advice_code").Optional().Nillable(),
		field.String("network_decline_code").Optional().Nillable(),
		field.String("processor_reference").Optional().Nillable(),
		field.String("message").Optional().Nillable(),
		field.Time("scheduled_at").Immutable().Comment("When the attempt was due."),
		field.Time("started_at").Immutable(),
		field.Time("finished_at").Optional().Nillable(),
		field.Int64("latency_ms").Optional().Nillable(),
		field.JSON("routing", routing.Decision{}).Optional().
			Annotations(entgql.Type("RoutingDecision")),
		field.JSON("scheduling", retry.SchedulingDecision{}).Optional().Immutable().
			Annotations(entgql.Type("SchedulingDecision")),
	}
}

// Edges of Attempt.
func (Attempt) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("payment", OffSessionPayment.Type).Ref("attempts").
			Field("payment_id").Unique().Required().Immutable(),
		edge.From("processor", Processor.Type).Ref("attempts").
			Field("processor_id").Unique(),
	}
}

// Indexes of Attempt.
func (Attempt) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("payment_id", "number").Unique(),
		index.Fields("account_id", "card_fingerprint", "started_at"),
		index.Fields("finished_at"),
		index.Fields("customer_id", "started_at"),
	}
}

// Hooks of Attempt: only an in-flight attempt may be finished, and nothing
// is deleted.
func (Attempt) Hooks() []ent.Hook {
	return []ent.Hook{
		func(next ent.Mutator) ent.Mutator {
			return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
				switch {
				case m.Op().Is(ent.OpDelete | ent.OpDeleteOne):
					return nil, ErrAttemptIsHistory
				case m.Op().Is(ent.OpUpdate | ent.OpUpdateOne):
					w, ok := m.(interface{ WhereP(...func(*sql.Selector)) })
					if !ok {
						return nil, ErrAttemptIsHistory
					}
					w.WhereP(sql.FieldEQ("outcome", "in_flight"))
				}
				return next.Mutate(ctx, m)
			})
		},
	}
}

// Annotations of Attempt.
func (Attempt) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.MultiOrder()}
}
