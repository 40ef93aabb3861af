package graph_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/ent"
	"github.com/offsession/offsession/ent/event"
	"github.com/offsession/offsession/ent/webhookdelivery"
	"github.com/offsession/offsession/events"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/viewer"
)

// TestOutboxEventsEqualTheStateChanges: random sequences of GraphQL
// operations (customers, cards, mandates and their revocation, payments
// that are approved, declined soft or hard, with automatic or manual
// capture, canceled, paused, resumed, captured, replayed under their
// idempotency key, and a test clock advanced so that due attempts run).
// After every operation the events written since the last one are exactly
// the state changes the operation made, read through GraphQL before and
// after: each change has its event, of its type, on its object, in order,
// with the object as it became; no event exists without a change (none for
// an operation that changed nothing or was refused); and each event has one
// webhook delivery per endpoint subscribed to it, and no other.
//
// The expected events come from DESIGN.md's lifecycle and event list, not
// from the code: a status reached is one event (processing:
// attempt_started; pending_retry from processing: attempt_failed, from
// paused: resumed; every other status its own name), a new payment is
// created, a revoked mandate is mandate.revoked, and nothing else (creating
// customers, cards and mandates, a card becoming invalid, a mandate used up)
// writes an event.
//
// The seeds are fixed (logged); OFFSESSION_OUTBOX_SEEDS=9,10,11 runs others.
func TestOutboxEventsEqualTheStateChanges(t *testing.T) {
	t.Parallel()
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if s := os.Getenv("OFFSESSION_OUTBOX_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			require.NoError(t, err, "OFFSESSION_OUTBOX_SEEDS")
			seeds = append(seeds, n)
		}
	}
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, apitest.AllowPrivateURLs)
		seen := map[string]bool{} // the events of every account, across seeds
		types := map[string]int{} // the events of the sequences, by type
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Logf("seed %d", seed)
				w := newOutboxWorld(t, b, st, seed, seen)
				ops := 60 + w.rng.IntN(41)
				for i := range ops {
					w.step(t, i)
				}
				for typ, n := range w.types {
					types[typ] += n
				}
				t.Logf("seed %d: %d operations, %d events, %d payments, statuses %v", seed, ops, w.events, len(w.payments), w.statusCounts())
			})
		}
		if len(seeds) >= 6 {
			// The sequences reach every change they can make.
			for _, typ := range []string{events.PaymentCreated, events.PaymentAttemptStarted, events.PaymentAttemptFailed,
				events.PaymentRequiresCapture, events.PaymentSucceeded, events.PaymentFailed, events.PaymentCanceled,
				events.PaymentPaused, events.PaymentResumed, events.MandateRevoked} {
				require.NotZero(t, types[typ], "no sequence wrote %s: %v", typ, types)
			}
		}
		t.Logf("events by type: %v", types)
	})
}

// outboxWorld is one random sequence in its own account (so that seeds
// run on one database without seeing each other's objects), on one test
// clock.
type outboxWorld struct {
	b    *apitest.Bundle
	st   *storage.Store
	rng  *rand.Rand
	seed uint64
	acct apitest.Account
	key  string
	clk  string
	now  time.Time
	// policies are retry policy IDs, "" for retryStrategy none.
	policies []string
	// endpoints: all of this account's webhook endpoints, and the event
	// types each takes (nil: all). other is another account's endpoint,
	// which none of these events may reach.
	endpoints map[string][]string
	other     string
	customers []string
	cards     []outboxCard
	mandates  []outboxMandate
	payments  []string
	// creates are the inputs of the payments created, for replays.
	creates []map[string]any
	// seen are the events written so far (all accounts), by ID, and the
	// last version seen of each object.
	seen     map[string]bool
	versions map[string]int64
	state    outboxState
	n        int
	events   int            // written by this world's operations
	types    map[string]int // and their types
}

type outboxCard struct{ id, customer string }

type outboxMandate struct{ id, customer, card string }

// outboxState is what GraphQL says of the account's objects.
type outboxState struct {
	payments map[string]outboxPayment
	mandates map[string]string // status
	cards    map[string]string // status
}

type outboxPayment struct {
	status   string
	attempts []outboxAttempt // by number
}

type outboxAttempt struct {
	id      string
	number  int
	outcome string
}

// wantEvent is an event the changes call for.
type wantEvent struct {
	objectID, typ string
	// status is the object's status in the event's data.
	status string
	// attemptID, when set, is the attempt the event's data describes.
	attemptID string
}

func (e wantEvent) String() string {
	s := e.typ + " " + e.objectID + " (" + e.status
	if e.attemptID != "" {
		s += ", " + e.attemptID
	}
	return s + ")"
}

func newOutboxWorld(t *testing.T, b *apitest.Bundle, st *storage.Store, seed uint64, seen map[string]bool) *outboxWorld {
	t.Helper()
	w := &outboxWorld{
		b: b, st: st, seed: seed,
		rng:       rand.New(rand.NewPCG(seed, 0x0b7b0c5)),
		endpoints: map[string][]string{},
		now:       time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC),
		seen:      seen,
		types:     map[string]int{},
		versions:  map[string]int64{},
	}
	w.acct = b.NewAccount(t, fmt.Sprintf("outbox seed %d", seed))
	w.key = w.acct.Keys.Secret
	other := b.NewAccount(t, fmt.Sprintf("outbox seed %d, other", seed))
	w.other = w.endpoint(t, other.Keys.Secret, nil)
	w.endpoint(t, w.key, nil)
	w.endpoint(t, w.key, []string{events.PaymentSucceeded, events.PaymentFailed, events.MandateRevoked})
	w.endpoint(t, w.key, []string{events.PaymentAttemptStarted, events.PaymentPaused, events.PaymentResumed, events.PaymentCanceled})
	r := b.Do(t, w.key, `mutation($t: Time!) { createTestClock(input: {frozenTime: $t}) { id } }`, map[string]any{"t": w.now})
	r.RequireOK(t)
	w.clk = r.String(t, "createTestClock.id")
	w.policies = []string{
		policy(t, b, w.key, map[string]any{"name": "short", "strategy": "scheduled", "schedule": []string{"1d", "2d", "4d"}, "window": "1w"}),
		policy(t, b, w.key, map[string]any{"name": "heuristic", "strategy": "heuristic", "maxRetries": 3, "window": "10d"}),
		"",
	}
	// Nothing so far is a state change the event list names.
	w.state = w.read(t)
	w.check(t, "setup")
	return w
}

// read returns what GraphQL says of the account's objects now.
func (w *outboxWorld) read(t *testing.T) outboxState {
	t.Helper()
	r := w.b.Do(t, w.key, `{
		offSessionPayments(first: 50) { totalCount edges { node { id status
			attempts(first: 10) { totalCount edges { node { id number outcome } } } } } }
		mandates(first: 60) { totalCount edges { node { id status } } }
		paymentMethods(first: 60) { totalCount edges { node { id status } } } }`, nil)
	r.RequireOK(t)
	s := outboxState{payments: map[string]outboxPayment{}, mandates: map[string]string{}, cards: map[string]string{}}
	for _, conn := range []string{"offSessionPayments", "mandates", "paymentMethods"} {
		require.Len(t, r.Get(t, conn+".edges"), int(r.Get(t, conn+".totalCount").(float64)), "%s: read them all", conn)
	}
	for _, e := range r.Get(t, "offSessionPayments.edges").([]any) {
		n := e.(map[string]any)["node"].(map[string]any)
		p := outboxPayment{status: n["status"].(string)}
		atts := n["attempts"].(map[string]any)
		require.Len(t, atts["edges"], int(atts["totalCount"].(float64)), "attempts: read them all")
		for _, ae := range atts["edges"].([]any) {
			a := ae.(map[string]any)["node"].(map[string]any)
			p.attempts = append(p.attempts, outboxAttempt{id: a["id"].(string), number: int(a["number"].(float64)), outcome: a["outcome"].(string)})
		}
		sort.Slice(p.attempts, func(i, j int) bool { return p.attempts[i].number < p.attempts[j].number })
		s.payments[n["id"].(string)] = p
	}
	for _, e := range r.Get(t, "mandates.edges").([]any) {
		n := e.(map[string]any)["node"].(map[string]any)
		s.mandates[n["id"].(string)] = n["status"].(string)
	}
	for _, e := range r.Get(t, "paymentMethods.edges").([]any) {
		n := e.(map[string]any)["node"].(map[string]any)
		s.cards[n["id"].(string)] = n["status"].(string)
	}
	return s
}

// paymentEventOf is the event that records a payment's move to status to
// (DESIGN.md's lifecycle and event list).
func paymentEventOf(t *testing.T, from, to string) string {
	t.Helper()
	switch to {
	case "processing":
		return events.PaymentAttemptStarted
	case "pending_retry":
		switch from {
		case "processing":
			return events.PaymentAttemptFailed
		case "paused":
			return events.PaymentResumed
		}
	case "succeeded", "requires_capture", "failed", "canceled", "paused":
		return "off_session_payment." + to
	}
	t.Fatalf("a payment went from %s to %s, which the lifecycle has no event for", from, to)
	return ""
}

// want returns the events the changes from before to after call for.
func want(t *testing.T, before, after outboxState) []wantEvent {
	t.Helper()
	var out []wantEvent
	for id, a := range after.payments {
		b, existed := before.payments[id]
		from := b.status
		if !existed {
			out = append(out, wantEvent{objectID: id, typ: events.PaymentCreated, status: "pending"})
			from = "pending"
		}
		// Attempts are history: those finished before are as they were.
		require.GreaterOrEqual(t, len(a.attempts), len(b.attempts), "payment %s lost an attempt", id)
		for i, ba := range b.attempts {
			if ba.outcome != "in_flight" {
				require.Equal(t, ba, a.attempts[i], "payment %s: a finished attempt changed", id)
			}
		}
		// Each new attempt started the payment processing; each but the
		// last was followed by a retry.
		newAtts := a.attempts[len(b.attempts):]
		for i, att := range newAtts {
			out = append(out, wantEvent{objectID: id, typ: paymentEventOf(t, from, "processing"), status: "processing", attemptID: att.id})
			from = "processing"
			if i < len(newAtts)-1 {
				out = append(out, wantEvent{objectID: id, typ: paymentEventOf(t, from, "pending_retry"), status: "pending_retry", attemptID: att.id})
				from = "pending_retry"
			}
		}
		if a.status != from {
			e := wantEvent{objectID: id, typ: paymentEventOf(t, from, a.status), status: a.status}
			if from == "processing" && len(a.attempts) > 0 {
				e.attemptID = a.attempts[len(a.attempts)-1].id
			}
			out = append(out, e)
		}
	}
	for id := range before.payments {
		require.Contains(t, after.payments, id, "a payment disappeared")
	}
	for id, st := range after.mandates {
		if st == "revoked" && before.mandates[id] != "revoked" {
			out = append(out, wantEvent{objectID: id, typ: events.MandateRevoked, status: "revoked"})
		}
	}
	// A card becoming invalid or expired, a mandate used up: no event.
	return out
}

// check compares the events written since the last check with the changes
// GraphQL shows since then.
func (w *outboxWorld) check(t *testing.T, what string) {
	t.Helper()
	after := w.read(t)
	wanted := want(t, w.state, after)
	w.state = after

	ctx := viewer.SystemContext(context.Background())
	all, err := w.st.Client.Event.Query().Order(ent.Asc(event.FieldObjectVersion), ent.Asc(event.FieldID)).All(ctx)
	require.NoError(t, err)
	var fresh []*ent.Event
	for _, e := range all {
		if !w.seen[e.ID] {
			w.seen[e.ID] = true
			fresh = append(fresh, e)
			w.events++
			w.types[e.Type]++
		}
	}
	// Compare object by object, each object's events in version order.
	wantBy, gotBy := map[string][]wantEvent{}, map[string][]*ent.Event{}
	for _, e := range wanted {
		wantBy[e.objectID] = append(wantBy[e.objectID], e)
	}
	for _, e := range fresh {
		gotBy[e.ObjectID] = append(gotBy[e.ObjectID], e)
	}
	describe := func() string {
		var g []string
		for _, e := range fresh {
			g = append(g, fmt.Sprintf("%s %s v%d (%v)", e.Type, e.ObjectID, e.ObjectVersion, e.Data["status"]))
		}
		return fmt.Sprintf("%s\nwant %v\ngot  %v", what, wanted, g)
	}
	for obj := range gotBy {
		require.Contains(t, wantBy, obj, "an event without a change: %s", describe())
	}
	for obj, ws := range wantBy {
		gs := gotBy[obj]
		require.Len(t, gs, len(ws), "events of %s: %s", obj, describe())
		for i, wantE := range ws {
			g := gs[i]
			require.Equal(t, wantE.typ, g.Type, "event %d of %s: %s", i, obj, describe())
			require.Equal(t, w.acct.ID, g.AccountID, "%s: in the object's account", describe())
			require.Equal(t, wantE.status, fmt.Sprint(g.Data["status"]), "the data of %s %s is the object as it became: %s", g.Type, obj, describe())
			if wantE.attemptID != "" {
				att, _ := g.Data["attempt"].(map[string]any)
				require.Equal(t, wantE.attemptID, fmt.Sprint(att["id"]), "%s of %s describes its attempt: %s", g.Type, obj, describe())
			}
			if strings.HasPrefix(obj, "osp_") {
				if prev, ok := w.versions[obj]; ok {
					require.Greater(t, g.ObjectVersion, prev, "the versions of %s grow with each event: %s", obj, describe())
				}
				w.versions[obj] = g.ObjectVersion
			}
		}
	}

	// Each event has a delivery to each endpoint that takes its type, and
	// deliveries exist for no other event.
	for _, e := range fresh {
		ds, err := w.st.Client.WebhookDelivery.Query().Where(webhookdelivery.EventID(e.ID)).All(ctx)
		require.NoError(t, err)
		var got, exp []string
		for _, d := range ds {
			got = append(got, d.EndpointID)
			require.Equal(t, e.Type, d.EventType)
			require.Equal(t, e.ObjectID, d.ObjectID)
			require.Equal(t, e.ObjectVersion, d.ObjectVersion)
		}
		for ep, types := range w.endpoints {
			if types == nil || slices.Contains(types, e.Type) {
				exp = append(exp, ep)
			}
		}
		slices.Sort(got)
		slices.Sort(exp)
		require.Equal(t, exp, got, "deliveries of %s %s: %s", e.Type, e.ObjectID, what)
	}
	n, err := w.st.Client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(w.other)).Count(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "another account's endpoint receives nothing: %s", what)
}

func (w *outboxWorld) statusCounts() map[string]int {
	out := map[string]int{}
	for _, p := range w.state.payments {
		out[p.status]++
	}
	return out
}

// TestResumingAPaymentThatIsNotPausedIsAConflict: resuming a payment that
// is pending or pending_retry is a move the lifecycle does not allow, so a
// CONFLICT (DESIGN.md: "any other transition is an error"; rule 7: a clear
// error). lifecycle.Transition allows pending → pending_retry and
// pending_retry → pending_retry only as moves to a backup payment method
// (payment_method_switched); asked for without one, apply refuses it as
// invalid_state_transition (it was an INTERNAL error), changing nothing.
func TestResumingAPaymentThatIsNotPausedIsAConflict(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		key := b.A.Keys.Secret
		clk := clock(t, b, key)
		c := b.NewChain(t, b.A, apitest.ChainOptions{TestClockID: clk})
		r := b.CreatePayment(t, key, apitest.PaymentInput(c, 700, nil))
		r.RequireOK(t)
		id := r.String(t, "createOffSessionPayment.id")
		r = b.Do(t, key, `mutation($id: ID!) { resumeOffSessionPayment(id: $id) { status } }`, map[string]any{"id": id})
		require.Len(t, r.Errors, 1, r.Raw)
		require.Equal(t, "invalid_state_transition", r.RequireError(t, "CONFLICT").Extensions["reason"])
		require.Equal(t, "pending", b.Payment(t, key, id)["status"])
		require.Equal(t, []string{events.PaymentCreated}, b.EventTypes(t, key, id))
	})
}
