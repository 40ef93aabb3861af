package metrics

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/viewer"
)

// CountPayments counts every account's payments by status, and the
// payments due at now that no worker holds (test clocks' left out): the
// payments' part of a Snapshot.
func CountPayments(ctx context.Context, db *ent.Client, now time.Time) (map[string]int, int, error) {
	ctx = viewer.SystemContext(ctx)
	var rows []struct {
		Status string `json:"status"`
		Count  int    `json:"count"`
	}
	if err := db.OffSessionPayment.Query().
		GroupBy(offsessionpayment.FieldStatus).
		Aggregate(ent.Count()).
		Scan(ctx, &rows); err != nil {
		return nil, 0, fmt.Errorf("count payments by status: %w", err)
	}
	by := make(map[string]int, len(rows))
	for _, r := range rows {
		by[r.Status] = r.Count
	}
	now = now.UTC()
	due, err := db.OffSessionPayment.Query().
		Where(offsessionpayment.DueAtNotNil(), offsessionpayment.DueAtLTE(now), offsessionpayment.TestClockIDIsNil(),
			offsessionpayment.Or(offsessionpayment.LeaseExpiresAtIsNil(), offsessionpayment.LeaseExpiresAtLTE(now))).
		Count(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("count due payments: %w", err)
	}
	return by, due, nil
}

// ProcessorTypes gives the connector type of a processor (simulator,
// stripe): the processor label of the metrics, bounded where processor
// IDs are not. Types never change, so they are kept once read. The zero
// value is ready to use.
type ProcessorTypes struct {
	byID sync.Map // processor ID to type
}

// Of returns the type of processor id, "unknown" if it cannot be read.
func (t *ProcessorTypes) Of(ctx context.Context, db *ent.Client, id string) string {
	if typ, ok := t.byID.Load(id); ok {
		return typ.(string)
	}
	pr, err := db.Processor.Get(viewer.SystemContext(ctx), id)
	if err != nil {
		return "unknown"
	}
	t.byID.Store(id, string(pr.Type))
	return string(pr.Type)
}
