package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"entgo.io/ent/schema/index"
	"github.com/offsession/offsession/ent/schema/schematype"
	"github.com/offsession/offsession/retry"
)

// OffSessionPayment is one amount to collect from a customer who is not
// present. offsession owns every attempt at it; its status moves only through
// payments.Transition.
type OffSessionPayment struct{ ent.Schema }

// Mixin of OffSessionPayment.
func (OffSessionPayment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "osp"}, TimeMixin{}, TenantMixin{}}
}

// Fields of OffSessionPayment.
func (OffSessionPayment) Fields() []ent.Field {
	return []ent.Field{
		field.String("customer_id").Immutable(),
		// The payment method charged now, under its mandate: the first one
		// named, until a hard decline or out-of-date card data moves the
		// payment to the next of backup_payment_methods.
		field.String("payment_method_id").
			Comment("The payment method charged now: the first one named, or the backup the payment moved to."),
		field.String("mandate_id").
			Comment("The mandate of the payment method charged now."),
		field.JSON("backup_payment_methods", []schematype.BackupPaymentMethod{}).Optional().Immutable().
			Annotations(entgql.Skip()).
			Comment("Other payment methods of the customer, each under its own mandate, tried in order when one cannot be charged."),
		field.Int64("amount").Immutable().
			Annotations(entgql.OrderField("AMOUNT")).
			Comment("In minor units of currency (cents for usd, yen for jpy)."),
		field.String("currency").Immutable(),
		field.Enum("cadence").Values("recurring", "unscheduled").Immutable(),
		field.Enum("capture_method").Values("automatic", "manual").Default("automatic").Immutable(),
		field.String("target_date").Optional().Immutable().
			Comment("YYYY-MM-DD: the first attempt is made on this day, in the customer's time zone."),
		field.String("description").Optional().Immutable(),
		field.String("statement_descriptor_suffix").Optional().Immutable(),
		field.JSON("metadata", schematype.StringMap{}).Optional().
			Annotations(entgql.Type("StringMap")),
		field.Enum("status").
			Values("pending", "processing", "requires_review", "pending_retry", "requires_capture", "paused", "succeeded", "failed", "canceled").
			Default("pending").
			Annotations(entgql.OrderField("STATUS")),
		field.Enum("failure_reason").
			Values("retries_exhausted", "exceeded_retry_window", "no_valid_payment_method", "rejected_by_partner", "authorization_expired").
			Optional().Nillable(),
		field.Int64("amount_capturable").Default(0),
		field.Int64("amount_received").Default(0),
		// The retry policy, as it was when the payment was created.
		field.Enum("retry_strategy").Values("none", "scheduled", "heuristic", "smart").Default("none").Immutable(),
		field.String("retry_policy_id").Optional().Nillable().Immutable(),
		field.Int("max_retries").Default(0).Immutable().
			Comment("Retries allowed after the first attempt."),
		field.Strings("retry_schedule").Optional().Immutable().
			Comment("For the scheduled strategy: offsets from the first attempt."),
		field.Bool("holdout").Default(false).Immutable().
			Comment("In the policy's control group: retried on holdout_strategy."),
		field.Enum("holdout_strategy").Values("scheduled", "heuristic").Default("scheduled").Immutable().
			Comment("The control group's strategy, from the policy."),
		field.String("model_version").Optional().
			Comment("The retry model that planned the payment's first retry, if any: uplift is reported per version."),
		field.Time("retry_until").Optional().Nillable().
			Comment("No retry is made after this."),
		field.Int("attempt_count").Default(0),
		field.Time("next_attempt_at").Optional().Nillable().
			Annotations(entgql.OrderField("NEXT_ATTEMPT_AT")).
			Comment("When the next attempt is due."),
		field.JSON("next_attempt_plan", retry.SchedulingDecision{}).Optional().
			Annotations(entgql.Skip()).
			Comment("Why the next attempt is due when it is; copied onto the attempt when it starts."),
		field.Time("capture_before").Optional().Nillable().
			Comment("With manual capture, when the authorization expires."),
		field.Enum("pending_action").Values("capture", "cancel", "expire").Optional().Nillable().
			Comment("An action on an authorization that is recorded before the processor is called, and finished by a worker if the call is cut short."),
		field.Int64("capture_amount").Optional().Nillable().Annotations(entgql.Skip()),
		field.Time("canceled_at").Optional().Nillable(),
		field.Time("succeeded_at").Optional().Nillable(),
		field.Time("failed_at").Optional().Nillable(),
		// The first attempt's answer, set once when it finishes, so recovery
		// analytics read one row per payment, without joining attempts.
		field.Enum("first_outcome").Values("approved", "declined", "technical_error").Optional().Nillable().
			Comment("The first attempt's outcome, once it finished."),
		field.String("first_decline_code").Optional().Nillable().
			Comment("The first attempt's decline code: recovery analytics group by it."),
		field.String("first_processor_id").Optional().Nillable().
			Comment("The processor that answered the first attempt."),
		field.Time("first_finished_at").Optional().Nillable().
			Comment("When the first attempt finished: days to recovery count from it."),
		field.String("test_clock_id").Optional().Nillable().Immutable(),
		// Scheduler bookkeeping, never shown. due_at is when the payment next
		// needs work of any kind: its next attempt, the recovery of an attempt
		// left in flight, or the expiry of an uncaptured authorization. The
		// scheduler claims payments by it alone.
		field.Time("due_at").Optional().Nillable().Annotations(entgql.Skip()),
		field.String("lease_owner").Optional().Annotations(entgql.Skip()),
		field.Time("lease_expires_at").Optional().Nillable().Annotations(entgql.Skip()),
		// The W3C traceparent of the request that created the payment, when
		// it was traced: its first attempt, made later by the scheduler,
		// continues that trace; later attempts link to it.
		field.String("trace_context").Optional().Immutable().Annotations(entgql.Skip()),
		field.Int64("version").Default(0).Annotations(entgql.Skip()).
			Comment("Incremented by every change: updates are guarded by it, events carry it."),
	}
}

// Edges of OffSessionPayment.
func (OffSessionPayment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("payments").
			Field("customer_id").Unique().Required().Immutable(),
		edge.From("payment_method", PaymentMethod.Type).Ref("payments").
			Field("payment_method_id").Unique().Required(),
		edge.From("mandate", Mandate.Type).Ref("payments").
			Field("mandate_id").Unique().Required(),
		edge.To("attempts", Attempt.Type).
			Annotations(entgql.RelayConnection()),
		edge.To("test_clock", TestClock.Type).Field("test_clock_id").Unique().Immutable(),
		edge.From("retry_policy", RetryPolicy.Type).Ref("payments").
			Field("retry_policy_id").Unique().Immutable(),
	}
}

// Indexes of OffSessionPayment.
func (OffSessionPayment) Indexes() []ent.Index {
	return []ent.Index{
		// The scheduler's claim reads only payments that await work.
		index.Fields("due_at").
			Annotations(entsql.IndexWhere("due_at IS NOT NULL")),
		index.Fields("account_id", "status"),
	}
}

// Annotations of OffSessionPayment.
func (OffSessionPayment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder()}
}
