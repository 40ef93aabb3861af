package graph

import (
	"context"
	"time"

	"github.com/offsession/offsession/apierror"
	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/event"
	"github.com/offsession/offsession/ent/predicate"
)

// Subscriptions read the events table: every replica sees what any
// replica wrote, with no channel between them to lose a message, and
// SQLite needs nothing more. The cost is two indexed queries per
// subscription per interval; LISTEN/NOTIFY would save them on PostgreSQL
// and has not been measured against it.
const (
	// subscriptionPoll is how often a subscription reads new events.
	subscriptionPoll = 200 * time.Millisecond
	// lateCommit is how far back each read looks again: an event whose
	// transaction committed after a later event was delivered is still
	// delivered, once (by ID). Events are written in short transactions
	// that never wait on a processor.
	lateCommit = 5 * time.Second
	// pollLimit bounds the new events one read returns; the next read
	// goes on from the last.
	pollLimit = 1000
)

// eventStream sends the caller's events matching where, as they are
// written, from after (an event ID: the events since it first) or from
// now. The tenancy interceptor keeps it to the caller's account.
func (r *Resolver) eventStream(ctx context.Context, after *string, where ...predicate.Event) (<-chan *ent.Event, error) {
	since, afterID := time.Now().UTC(), ""
	if after != nil {
		ev, err := r.client.Event.Get(ctx, *after)
		if ent.IsNotFound(err) {
			return nil, apierror.NotFoundID("after", *after)
		} else if err != nil {
			return nil, err
		}
		since, afterID = ev.CreatedAt.UTC(), ev.ID
	}
	query := func(ps ...predicate.Event) *ent.EventQuery {
		return r.client.Event.Query().Where(append(ps, where...)...).
			Order(ent.Asc(event.FieldCreatedAt), ent.Asc(event.FieldID))
	}
	// What was written up to the starting point is not sent again.
	seen := map[string]time.Time{}
	start, err := query(event.CreatedAtGT(since.Add(-lateCommit)), event.CreatedAtLTE(since)).All(ctx)
	if err != nil {
		return nil, err
	}
	for _, ev := range start {
		if at := ev.CreatedAt.UTC(); after == nil || at.Before(since) || ev.ID <= afterID {
			seen[ev.ID] = at
		}
	}
	// poll reads the events written after since, and those of the last
	// lateCommit before it that are not yet seen.
	poll := func() ([]*ent.Event, error) {
		window := []predicate.Event{event.CreatedAtGT(since.Add(-lateCommit)), event.CreatedAtLTE(since)}
		var known []string
		for id, at := range seen {
			if at.After(since.Add(-lateCommit)) {
				known = append(known, id)
			}
		}
		if len(known) > 0 {
			window = append(window, event.IDNotIn(known...))
		}
		late, err := query(window...).All(ctx)
		if err != nil {
			return nil, err
		}
		fresh, err := query(event.CreatedAtGT(since)).Limit(pollLimit).All(ctx)
		return append(late, fresh...), err
	}
	out := make(chan *ent.Event)
	go func() {
		defer close(out)
		tick := time.NewTicker(subscriptionPoll)
		defer tick.Stop()
		for {
			evs, err := poll()
			if err != nil {
				// The subscription ends; the client resumes from the last
				// event it saw (after).
				return
			}
			for _, ev := range evs {
				if _, ok := seen[ev.ID]; ok {
					continue
				}
				at := ev.CreatedAt.UTC()
				seen[ev.ID] = at
				if at.After(since) {
					since = at
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
			for id, at := range seen {
				if at.Before(since.Add(-2 * lateCommit)) {
					delete(seen, id)
				}
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// paymentStream sends payment id as it is now, then as it is after each
// of its events: a page that subscribes needs no query first, and misses
// no change between the two.
func (r *Resolver) paymentStream(ctx context.Context, id string) (<-chan *ent.OffSessionPayment, error) {
	evs, err := r.eventStream(ctx, nil, event.ObjectID(id))
	if err != nil {
		return nil, err
	}
	now, err := r.client.OffSessionPayment.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apierror.NotFoundID("id", id)
	} else if err != nil {
		return nil, err
	}
	out := make(chan *ent.OffSessionPayment)
	go func() {
		defer close(out)
		for p := now; ; {
			select {
			case out <- p:
			case <-ctx.Done():
				return
			}
			if _, ok := <-evs; !ok {
				return
			}
			if p, err = r.client.OffSessionPayment.Get(ctx, id); err != nil {
				return
			}
		}
	}()
	return out, nil
}

// attemptStream sends the attempts of payment paymentID (or of every
// payment) as they finish, from after (an event ID) or now: the payment events that describe a finished
// attempt name it.
func (r *Resolver) attemptStream(ctx context.Context, paymentID, after *string) (<-chan *ent.Attempt, error) {
	where := []predicate.Event{event.ObjectType("off_session_payment")}
	if paymentID != nil {
		if _, err := r.client.OffSessionPayment.Get(ctx, *paymentID); ent.IsNotFound(err) {
			return nil, apierror.NotFoundID("paymentID", *paymentID)
		} else if err != nil {
			return nil, err
		}
		where = append(where, event.ObjectID(*paymentID))
	}
	evs, err := r.eventStream(ctx, after, where...)
	if err != nil {
		return nil, err
	}
	out := make(chan *ent.Attempt)
	go func() {
		defer close(out)
		for ev := range evs {
			a, _ := ev.Data["attempt"].(map[string]any)
			id, _ := a["id"].(string)
			if id == "" || a["outcome"] == "in_flight" {
				continue
			}
			att, err := r.client.Attempt.Get(ctx, id)
			if err != nil {
				return
			}
			select {
			case out <- att:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
