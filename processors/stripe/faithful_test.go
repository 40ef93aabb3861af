package stripe_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/stripefaithful"
	"github.com/offsession/offsession/processors/connector"
	"github.com/offsession/offsession/retry"
)

func faithfulRequest(key, token string) connector.AuthorizeRequest {
	return connector.AuthorizeRequest{IdempotencyKey: key, Token: token, Amount: 2500, Currency: "usd", Cadence: "recurring"}
}

// TestStripeChargesACustomersSavedCard: a card saved for later use is
// attached to a customer; the connector charges the cus_.../pm_... token
// with customer sent, and Stripe refuses the bare pm_... of such a card.
func TestStripeChargesACustomersSavedCard(t *testing.T) {
	t.Parallel()
	srv := stripefaithful.New(t)
	srv.AddCard("pm_saved", stripefaithful.Card{Customer: "cus_joan"})
	conn := stripeConnector(t, srv.URL, nil)
	ctx := context.Background()

	out, err := conn.Authorize(ctx, faithfulRequest("osp_1-1", "cus_joan/pm_saved"))
	require.NoError(t, err)
	require.Equal(t, connector.Approved, out.Result, out.Message)
	require.Equal(t, "cus_joan", srv.Creates[0].Get("customer"))
	require.Equal(t, "pm_saved", srv.Creates[0].Get("payment_method"))

	out, err = conn.Authorize(ctx, faithfulRequest("osp_2-1", "pm_saved"))
	require.NoError(t, err)
	require.Equal(t, connector.TechnicalError, out.Result, "refused before processing")
	require.Contains(t, out.Message, "belongs to a Customer")

	out, err = conn.Authorize(ctx, faithfulRequest("osp_3-1", "cus_other/pm_saved"))
	require.NoError(t, err)
	require.Equal(t, connector.TechnicalError, out.Result)
	require.Equal(t, 1, srv.Charges())
}

// TestStripeFaithfulDeclineBody: a 402 carries the codes the connector
// maps, including network_advice_code and Stripe's advice_code.
func TestStripeFaithfulDeclineBody(t *testing.T) {
	t.Parallel()
	srv := stripefaithful.New(t)
	srv.AddCard("pm_nsf", stripefaithful.Card{Customer: "cus_a", Decline: &stripefaithful.Decline{
		DeclineCode: "insufficient_funds", NetworkDeclineCode: "51", NetworkAdviceCode: "24", AdviceCode: "try_again_later"}})
	out, err := stripeConnector(t, srv.URL, nil).Authorize(context.Background(), faithfulRequest("osp_1-1", "cus_a/pm_nsf"))
	require.NoError(t, err)
	require.Equal(t, connector.Declined, out.Result)
	require.Equal(t, "insufficient_funds", out.DeclineCode)
	require.Equal(t, "51", out.NetworkDeclineCode)
	require.Equal(t, "24", out.NetworkAdviceCode)
	require.Contains(t, out.Message, "advice_code try_again_later")
	require.NotEmpty(t, out.Reference)
	require.Equal(t, 0, srv.Charges())
}

// TestStripeFaithfulStoresTheFirstResponse: what the connector meets after
// a 500. The same key replays the stored 500 for 24 hours (the charge, if
// there was one, stands, and the connector cannot tell); after the key is
// pruned the same key runs as a new request and charges again. This is
// why the engine looks the PaymentIntent up (Lookup) before it repeats an
// unknown outcome, and stops repeating after three calls.
func TestStripeFaithfulStoresTheFirstResponse(t *testing.T) {
	t.Parallel()
	srv := stripefaithful.New(t)
	srv.AddCard("pm_ok", stripefaithful.Card{Customer: "cus_a"})
	conn := stripeConnector(t, srv.URL, nil)
	ctx := context.Background()
	req := faithfulRequest("osp_1-1", "cus_a/pm_ok")

	srv.FailNext(stripefaithful.FaultChargeThen500)
	for range 3 {
		_, err := conn.Authorize(ctx, req)
		require.True(t, errors.Is(err, connector.ErrUnknownOutcome), "a stored 500 is replayed: %v", err)
	}
	require.Equal(t, 1, srv.Charges(), "the first call charged; its replays do not")

	srv.Advance(stripefaithful.IdempotencyTTL + time.Minute)
	out, err := conn.Authorize(ctx, req)
	require.NoError(t, err)
	require.Equal(t, connector.Approved, out.Result)
	require.Equal(t, 2, srv.Charges(), "after the key is pruned, a repeat is a second charge")

	// A 500 that did not charge is stored all the same; a lock timeout is not.
	srv.AddCard("pm_b", stripefaithful.Card{Customer: "cus_b"})
	srv.FailNext(stripefaithful.FaultLockTimeout)
	out, err = conn.Authorize(ctx, faithfulRequest("osp_2-1", "cus_b/pm_b"))
	require.NoError(t, err)
	require.Equal(t, connector.TechnicalError, out.Result)
	out, err = conn.Authorize(ctx, faithfulRequest("osp_2-1", "cus_b/pm_b"))
	require.NoError(t, err)
	require.Equal(t, connector.Approved, out.Result, "the lock timeout was not stored")
}

// TestStripeKeyReusedWithOtherParameters: Stripe answers a key reused with
// other parameters with 400 idempotency_error. The key's first request may
// have charged, so the outcome is unknown: never a technical failure that
// would fail over to another processor and charge again.
func TestStripeKeyReusedWithOtherParameters(t *testing.T) {
	t.Parallel()
	srv := stripefaithful.New(t)
	srv.AddCard("pm_ok", stripefaithful.Card{Customer: "cus_a"})
	conn := stripeConnector(t, srv.URL, nil)
	req := faithfulRequest("osp_1-1", "cus_a/pm_ok")
	out, err := conn.Authorize(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, connector.Approved, out.Result)
	req.Amount = 9900
	_, err = conn.Authorize(context.Background(), req)
	require.ErrorIs(t, err, connector.ErrUnknownOutcome)
	require.Equal(t, 1, srv.Charges())
}

// TestStripeRepeatedStored500: a repeat that meets a stored 500 is settled
// as nothing charged only when the customer's list, which has no indexing
// delay, shows no PaymentIntent under the key. A card with no customer is
// found by search, which may lag: the outcome stays unknown.
func TestStripeRepeatedStored500(t *testing.T) {
	t.Parallel()
	srv := stripefaithful.New(t)
	srv.AddCard("pm_attached", stripefaithful.Card{Customer: "cus_a"})
	srv.AddCard("pm_loose", stripefaithful.Card{})
	conn := stripeConnector(t, srv.URL, nil)
	ctx := context.Background()

	srv.FailNext(stripefaithful.Fault500, stripefaithful.Fault500)
	for _, token := range []string{"cus_a/pm_attached", "pm_loose"} {
		req := faithfulRequest("osp_"+token[len(token)-4:]+"-1", token)
		_, err := conn.Authorize(ctx, req)
		require.ErrorIs(t, err, connector.ErrUnknownOutcome, "the first 500 is unknown")
		req.Repeat = true
		out, err := conn.Authorize(ctx, req)
		if token == "pm_loose" {
			require.ErrorIs(t, err, connector.ErrUnknownOutcome, "search may lag: still unknown")
			continue
		}
		require.NoError(t, err)
		require.Equal(t, connector.TechnicalError, out.Result, "the list shows nothing under the key")
	}
	require.Zero(t, srv.Charges())
}

// TestStripeFaithfulAuthenticationRequired: a card whose issuer asks for
// authentication declines authentication_required off-session (the
// connector always confirms off_session), and the same PaymentIntent
// confirmed on-session would wait in requires_action, which the connector
// reads as the same decline.
func TestStripeFaithfulAuthenticationRequired(t *testing.T) {
	t.Parallel()
	srv := stripefaithful.New(t)
	srv.AddCard("pm_3ds", stripefaithful.Card{Customer: "cus_a", RequiresAuthentication: true})
	out, err := stripeConnector(t, srv.URL, nil).Authorize(context.Background(), faithfulRequest("osp_1-1", "cus_a/pm_3ds"))
	require.NoError(t, err)
	require.Equal(t, "true", srv.Creates[0].Get("off_session"))
	require.Equal(t, connector.Declined, out.Result)
	require.Equal(t, "authentication_required", out.DeclineCode)
	require.Equal(t, retry.Hard, retry.Classify(out).Class, "off-session, no one is there to authenticate")

	res, err := http.PostForm(srv.URL+"/v1/payment_intents", url.Values{"amount": {"2500"}, "currency": {"usd"},
		"customer": {"cus_a"}, "payment_method": {"pm_3ds"}, "confirm": {"true"}})
	require.NoError(t, err)
	defer res.Body.Close()
	var pi struct {
		Status     string         `json:"status"`
		NextAction map[string]any `json:"next_action"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&pi))
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "requires_action", pi.Status)
	require.NotNil(t, pi.NextAction)
	require.Equal(t, 0, srv.Charges())
}
