package payments

import (
	"context"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/events"
)

func emitPaymentEvent(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, evType string, att *ent.Attempt) error {
	data := paymentSnapshot(p)
	if att != nil {
		data["attempt"] = attemptSnapshot(att)
	}
	return emit(ctx, tx, p.AccountID, evType, p.ID, "off_session_payment", p.Version, data)
}

func emit(ctx context.Context, tx *ent.Tx, accountID, evType, objectID, objectType string, version int64, data map[string]any) error {
	return events.Emit(ctx, tx, events.Event{AccountID: accountID, Type: evType, ObjectID: objectID, ObjectType: objectType, Version: version, Data: data})
}

// paymentSnapshot is what events say of a payment: its public fields.
func paymentSnapshot(p *ent.OffSessionPayment) map[string]any {
	m := map[string]any{
		"id":                p.ID,
		"object":            "off_session_payment",
		"status":            p.Status,
		"amount":            p.Amount,
		"currency":          p.Currency,
		"customer":          p.CustomerID,
		"payment_method":    p.PaymentMethodID,
		"mandate":           p.MandateID,
		"cadence":           p.Cadence,
		"capture_method":    p.CaptureMethod,
		"amount_capturable": p.AmountCapturable,
		"amount_received":   p.AmountReceived,
		"retry_strategy":    p.RetryStrategy,
		"attempts":          p.AttemptCount,
		"metadata":          p.Metadata,
	}
	if p.FailureReason != nil {
		m["failure_reason"] = *p.FailureReason
	}
	if p.NextAttemptAt != nil {
		m["next_attempt_at"] = p.NextAttemptAt.UTC().Format(time.RFC3339)
	}
	if p.RetryUntil != nil {
		m["retry_until"] = p.RetryUntil.UTC().Format(time.RFC3339)
	}
	if p.TestClockID != nil {
		m["test_clock"] = *p.TestClockID
	}
	return m
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func attemptSnapshot(a *ent.Attempt) map[string]any {
	m := map[string]any{
		"id":      a.ID,
		"number":  a.Number,
		"outcome": a.Outcome,
	}
	if a.ProcessorID != nil {
		m["processor"] = *a.ProcessorID
	}
	if a.DeclineClass != nil {
		m["decline_class"] = *a.DeclineClass
	}
	for k, v := range map[string]*string{
		"decline_code":         a.DeclineCode,
		"network_advice_code":  a.NetworkAdviceCode,
		"network_decline_code": a.NetworkDeclineCode,
	} {
		if v != nil {
			m[k] = *v
		}
	}
	return m
}
