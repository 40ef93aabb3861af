package processors

import (
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/offsessionpayment"
	"github.com/offsession/offsession/processors/connector"
)

// AuthorizeRequest is attempt att's pinned request to its processor, at
// now: the same at every call of the attempt, a repeat after the first.
func AuthorizeRequest(p *ent.OffSessionPayment, att *ent.Attempt, pm *ent.PaymentMethod, now time.Time) connector.AuthorizeRequest {
	return connector.AuthorizeRequest{
		IdempotencyKey:            att.IdempotencyKey,
		Repeat:                    att.Calls > 0,
		Token:                     att.Token,
		NetworkTransactionID:      att.NetworkTransactionID,
		Amount:                    p.Amount,
		Currency:                  p.Currency,
		ManualCapture:             p.CaptureMethod == offsessionpayment.CaptureMethodManual,
		Cadence:                   string(p.Cadence),
		Description:               p.Description,
		StatementDescriptorSuffix: p.StatementDescriptorSuffix,
		Metadata:                  p.Metadata,
		CardBrand:                 string(pm.Brand),
		CardFunding:               string(pm.Funding),
		CardCountry:               pm.IssuingCountry,
		At:                        now,
	}
}

// Callable returns the processors of procs that have a connector this
// build can call (Supports), in their order.
func (r *Registry) Callable(procs []*ent.Processor) []*ent.Processor {
	var out []*ent.Processor
	for _, p := range procs {
		if r.Supports(p) {
			out = append(out, p)
		}
	}
	return out
}
