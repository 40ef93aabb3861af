package webhooks_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
	"github.com/offsession/offsession/webhooks"
)

func TestSignAndVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_780_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	h := webhooks.Sign("whsec_a", now, body)
	require.NoError(t, webhooks.Verify("whsec_a", h, body, now, 5*time.Minute))
	require.ErrorIs(t, webhooks.Verify("whsec_b", h, body, now, 5*time.Minute), webhooks.ErrBadSignature, "another secret")
	require.ErrorIs(t, webhooks.Verify("whsec_a", h, []byte(`{"id":"evt_2"}`), now, 5*time.Minute), webhooks.ErrBadSignature, "another body")
	require.ErrorIs(t, webhooks.Verify("whsec_a", h, body, now.Add(time.Hour), 5*time.Minute), webhooks.ErrStale, "a replay an hour later")
	require.ErrorIs(t, webhooks.Verify("whsec_a", "t=1,v1=00", body, now, 5*time.Minute), webhooks.ErrBadSignature)
	require.ErrorIs(t, webhooks.Verify("whsec_a", "", body, now, 5*time.Minute), webhooks.ErrBadSignature)
}

// receiver is a merchant's webhook endpoint: it verifies every delivery's
// signature, can be down, and keeps what it accepted.
type receiver struct {
	secret   atomic.Value
	down     atomic.Bool
	mu       sync.Mutex
	accepted map[string]webhooks.Payload // by event ID: deduplicated
	order    map[string][]int64          // object versions, in order of first receipt
	dupes    int
	forged   int
	refused  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rc.down.Load() {
		rc.mu.Lock()
		rc.refused++
		rc.mu.Unlock()
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	secret, _ := rc.secret.Load().(string)
	if err := webhooks.Verify(secret, r.Header.Get(webhooks.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
		rc.mu.Lock()
		rc.forged++
		rc.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p webhooks.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, seen := rc.accepted[p.ID]; seen {
		rc.dupes++
	} else {
		rc.accepted[p.ID] = p
		rc.order[p.ObjectID] = append(rc.order[p.ObjectID], p.ObjectVersion)
	}
	w.WriteHeader(http.StatusNoContent)
}

// TestWebhooksReachAReceiverThatWasDown: a receiver that is down for part of
// the run ends with every event exactly once (after dedup by event ID), each
// payment's events in order, and no forged delivery accepted.
func TestWebhooksReachAReceiverThatWasDown(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.NewWith(t, st, func(c *app.Config) { c.WebhookBackoff = 50 * time.Millisecond; c.AllowPrivateURLs = true })
		key := b.A.Keys.Secret
		rc := &receiver{accepted: map[string]webhooks.Payload{}, order: map[string][]int64{}}
		rc.down.Store(true)
		srv := httptest.NewServer(rc)
		t.Cleanup(srv.Close)

		r := b.Do(t, key, `mutation($url: String!) { createWebhookEndpoint(input: {url: $url}) { secret webhookEndpoint { id url } } }`, map[string]any{"url": srv.URL + "/hooks"})
		r.RequireOK(t)
		secret := r.String(t, "createWebhookEndpoint.secret")
		require.True(t, strings.HasPrefix(secret, "whsec_"))
		rc.secret.Store(secret)
		ep := r.String(t, "createWebhookEndpoint.webhookEndpoint.id")
		r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { url } } }`, map[string]any{"id": ep})
		require.NotContains(t, r.Raw, secret, "the secret is shown only at creation")

		pol := b.Do(t, key, `mutation { createRetryPolicy(input: {name: "fast", strategy: scheduled, schedule: ["1s"], window: "1w"}) { id } }`, nil)
		pol.RequireOK(t)
		var ids []string
		for i := range 12 {
			token := "pm_card_visa"
			if i%3 == 0 {
				token = "pm_card_chargeDeclinedInsufficientFunds"
			}
			c := b.NewChain(t, b.A, apitest.ChainOptions{Token: token, Brand: "amex"})
			p := b.CreatePayment(t, key, apitest.PaymentInput(c, 1000+i, map[string]any{"retryPolicyID": pol.String(t, "createRetryPolicy.id")}))
			p.RequireOK(t)
			ids = append(ids, p.String(t, "createOffSessionPayment.id"))
		}
		b.Proc.Scheduler.Start()
		t.Cleanup(func() { _ = b.Proc.Scheduler.Shutdown() })

		// Down while the payments run and their first retries are made.
		require.Eventually(t, func() bool {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			return rc.refused >= 10
		}, 20*time.Second, 10*time.Millisecond)
		time.Sleep(1500 * time.Millisecond)

		// A forger without the secret.
		forged := httptest.NewRequest(http.MethodPost, srv.URL+"/hooks", strings.NewReader(`{"id":"evt_forged","type":"off_session_payment.succeeded","object_id":"osp_x"}`))
		forged.RequestURI = ""
		forged.Header.Set(webhooks.SignatureHeader, webhooks.Sign("whsec_guess", time.Now(), []byte(`{"id":"evt_forged"}`)))
		rc.down.Store(false)
		resp, err := http.DefaultClient.Do(forged)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

		// Every event of the account, delivered.
		require.Eventually(t, func() bool {
			r := b.Do(t, key, `{ events(first: 1) { totalCount } offSessionPayments(where: {statusIn: [pending, processing, pending_retry]}) { totalCount } }`, nil)
			if r.Get(t, "offSessionPayments.totalCount").(float64) > 0 {
				return false
			}
			total := int(r.Get(t, "events.totalCount").(float64))
			rc.mu.Lock()
			defer rc.mu.Unlock()
			return len(rc.accepted) == total
		}, 60*time.Second, 50*time.Millisecond)

		// Pages of at most 100, the maximum page size, until the last.
		var edges []any
		for after := any(nil); ; {
			r = b.Do(t, key, `query($after: Cursor) { events(first: 100, after: $after) { edges { node { id objectID objectVersion } } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after})
			r.RequireOK(t)
			edges = append(edges, r.Get(t, "events.edges").([]any)...)
			if r.Get(t, "events.pageInfo.hasNextPage") != true {
				break
			}
			after = r.Get(t, "events.pageInfo.endCursor")
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, e := range edges {
			n := e.(map[string]any)["node"].(map[string]any)
			got, ok := rc.accepted[n["id"].(string)]
			require.True(t, ok, "event %s delivered", n["id"])
			require.Equal(t, n["objectID"], got.ObjectID)
		}
		require.NotContains(t, rc.accepted, "evt_forged")
		require.Equal(t, 1, rc.forged, "the forged request, and only it, failed verification")
		for _, id := range ids {
			versions := rc.order[id]
			require.NotEmpty(t, versions, id)
			for i := 1; i < len(versions); i++ {
				require.Greater(t, versions[i], versions[i-1], "payment %s: events in order %v", id, versions)
			}
		}
		t.Logf("%d events delivered, %d refusals while down, %d duplicates", len(rc.accepted), rc.refused, rc.dupes)

		// Each delivery attempt is recorded and listed.
		r = b.Do(t, key, `query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { deliveries(first: 100) { totalCount edges { node { status attemptCount attempts { statusCode error } } } } } } }`, map[string]any{"id": ep})
		r.RequireOK(t)
		sawRefusal := false
		for _, e := range r.Get(t, "node.deliveries.edges").([]any) {
			n := e.(map[string]any)["node"].(map[string]any)
			require.Equal(t, "delivered", n["status"])
			for _, a := range n["attempts"].([]any) {
				if a.(map[string]any)["statusCode"] == float64(503) {
					sawRefusal = true
				}
			}
		}
		require.True(t, sawRefusal, "the attempts while the receiver was down are listed")
	})
}
