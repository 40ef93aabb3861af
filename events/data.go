package events

import (
	"time"

	"github.com/offsession/offsession/ent"
)

// PaymentData is what events say of a payment: its public fields.
func PaymentData(p *ent.OffSessionPayment) map[string]any {
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

// AttemptData is what events say of an attempt.
func AttemptData(a *ent.Attempt) map[string]any {
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

// MandateData is what events say of a mandate.
func MandateData(m *ent.Mandate) map[string]any {
	out := map[string]any{
		"id":             m.ID,
		"object":         "mandate",
		"status":         m.Status,
		"customer":       m.CustomerID,
		"payment_method": m.PaymentMethodID,
		"usage":          m.Usage,
	}
	if m.RevokedAt != nil {
		out["revoked_at"] = m.RevokedAt.UTC().Format(time.RFC3339)
	}
	return out
}

// Payment is the event evType of payment p as it is now: its data, with
// attempt att's when set.
func Payment(p *ent.OffSessionPayment, evType string, att *ent.Attempt) Event {
	data := PaymentData(p)
	if att != nil {
		data["attempt"] = AttemptData(att)
	}
	return Event{AccountID: p.AccountID, Type: evType, ObjectID: p.ID, ObjectType: "off_session_payment", Version: p.Version, Data: data}
}
