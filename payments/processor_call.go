package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/attempt"
	"github.com/offsession/offsession/processors"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
	"github.com/offsession/offsession/routing"
	"github.com/offsession/offsession/routing/routes"
)

// callProcessor sends att's pinned request to the first processor of the
// cascade, outside any transaction, then records the outcome. A technical
// failure that the processor reports (nothing was processed) fails over,
// within the attempt and with the same idempotency key, to the next
// processor; an unknown outcome never does, since the first may have
// charged.
func (s *Service) callProcessor(ctx context.Context, p *ent.OffSessionPayment, att *ent.Attempt, pm *ent.PaymentMethod, cascade []*ent.Processor, now time.Time, owner string) error {
	segment := routing.Segment(routes.Card(pm), p.Currency)
	for {
		proc := cascade[0]
		req := processors.AuthorizeRequest(p, att, pm, now)
		conn, callErr := s.processors.Connector(proc)
		started := s.clock.Now()
		var out connector.Outcome
		if callErr == nil {
			out, callErr = s.authorize(ctx, conn, string(proc.Type), req)
			s.metrics.ProcessorCall(string(proc.Type), s.clock.Since(started))
		}
		latency := s.clock.Since(started)
		if errors.Is(callErr, connector.ErrUnknownOutcome) {
			return s.finishAttempt(ctx, p.ID, att.ID, out, callErr, latency, owner, nil)
		}
		if callErr != nil {
			// Not sent, or refused before processing: a technical failure.
			out = connector.Outcome{Result: connector.TechnicalError, Message: "the connector failed before the processor acted"}
			s.log.WarnContext(ctx, "processor call failed before it was processed", "payment", p.ID, "processor", proc.ID, "err", callErr)
		}
		cls := retry.Classify(out)
		if s.router.Stats().Observe(routing.Observation{ProcessorID: proc.ID, Segment: segment, At: now, Class: cls.Class, DeclineCode: out.DeclineCode}) {
			s.metrics.ProcessorEliminated(string(proc.Type))
		}
		if cls.Class == retry.Technical && out.Result == connector.TechnicalError && len(cascade) > 1 {
			var err error
			if att, err = s.failover(ctx, att, pm, proc.ID, cascade[1].ID, out.Message, now); err != nil {
				return err
			}
			cascade = cascade[1:]
			continue
		}
		return s.finishAttempt(ctx, p.ID, att.ID, out, nil, latency, owner, s.refreshCard(ctx, conn, att, out))
	}
}

// refreshCard reads the card behind the attempt's token afresh when the
// decline says its data is out of date and the connector can (a
// connector.CardRefresher): the processor's account updater may already
// hold the new expiry or number. Nil when not asked or not known.
func (s *Service) refreshCard(ctx context.Context, conn connector.Connector, att *ent.Attempt, out connector.Outcome) *connector.Card {
	r, ok := conn.(connector.CardRefresher)
	if !ok || retry.Classify(out).Class != retry.NeedsNewCardData {
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.ProcessorTimeout)
	defer cancel()
	card, err := r.RefreshCard(callCtx, att.Token)
	if err != nil {
		s.log.WarnContext(ctx, "reading the declined card afresh failed", "attempt", att.ID, "err", err)
		return nil
	}
	return &card
}

// authorize makes one processor call, bounded by the processor timeout,
// in a client span.
func (s *Service) authorize(ctx context.Context, conn connector.Connector, processorType string, req connector.AuthorizeRequest) (connector.Outcome, error) {
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.ProcessorTimeout)
	defer cancel()
	callCtx, span := connector.StartCall(callCtx, s.tracer, processorType, "authorize")
	out, err := conn.Authorize(callCtx, req)
	connector.EndCall(span, out, err)
	return out, err
}

// failover moves an attempt in flight from one processor to the next, with
// the next one's token, recording why, before the next is called.
func (s *Service) failover(ctx context.Context, att *ent.Attempt, pm *ent.PaymentMethod, from, to, why string, now time.Time) (*ent.Attempt, error) {
	token, ntid := routes.Token(pm, to)
	next, err := s.db.Attempt.UpdateOne(att).
		Where(attempt.ProcessorID(from)).
		SetProcessorID(to).
		SetToken(token).
		SetNetworkTransactionID(ntid).
		SetCalls(0).
		SetRouting(att.Routing.FailOver(from, to, why, now)).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("fail attempt %s over to %s: %w", att.ID, to, err)
	}
	s.log.WarnContext(ctx, "processor failed technically; failing over within the attempt", "attempt", att.ID, "from", from, "to", to)
	return next, nil
}
