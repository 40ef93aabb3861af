package payments

import (
	"context"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/events"
)

func emitPaymentEvent(ctx context.Context, tx *ent.Tx, p *ent.OffSessionPayment, evType string, att *ent.Attempt) error {
	data := events.PaymentData(p)
	if att != nil {
		data["attempt"] = events.AttemptData(att)
	}
	return emit(ctx, tx, p.AccountID, evType, p.ID, "off_session_payment", p.Version, data)
}

func emit(ctx context.Context, tx *ent.Tx, accountID, evType, objectID, objectType string, version int64, data map[string]any) error {
	return events.Emit(ctx, tx, events.Event{AccountID: accountID, Type: evType, ObjectID: objectID, ObjectType: objectType, Version: version, Data: data})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
