package graph_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	coderws "github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/httpapi"
	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
	"github.com/offsession/offsession/storage"
)

// wsClient speaks graphql-transport-ws, as a browser's graphql-ws does.
type wsClient struct {
	t    *testing.T
	conn *coderws.Conn
	ctx  context.Context
	// refused is why the server closed the connection at connection_init.
	refused error
}

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialSocket opens /graphql as a WebSocket and sends connection_init with
// the key in its payload; ack says whether the server acknowledged it.
func dialSocket(t *testing.T, url, authorization string) (c *wsClient, ack bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn, _, err := coderws.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/graphql", &coderws.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.CloseNow() })
	c = &wsClient{t: t, conn: conn, ctx: ctx}
	payload, _ := json.Marshal(map[string]string{"authorization": authorization})
	c.send(wsMessage{Type: "connection_init", Payload: payload})
	m, err := c.read()
	if err != nil {
		c.refused = err
		return c, false
	}
	require.Equal(t, "connection_ack", m.Type, string(m.Payload))
	return c, true
}

func (c *wsClient) send(m wsMessage) {
	b, _ := json.Marshal(m)
	require.NoError(c.t, c.conn.Write(c.ctx, coderws.MessageText, b))
}

// read returns the next message other than a ping (which it answers).
func (c *wsClient) read() (wsMessage, error) {
	for {
		_, b, err := c.conn.Read(c.ctx)
		if err != nil {
			return wsMessage{}, err
		}
		var m wsMessage
		require.NoError(c.t, json.Unmarshal(b, &m))
		if m.Type == "ping" {
			c.send(wsMessage{Type: "pong"})
			continue
		}
		return m, nil
	}
}

func (c *wsClient) subscribe(id, query string, vars map[string]any) {
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	c.send(wsMessage{ID: id, Type: "subscribe", Payload: payload})
}

// next returns the data of the next message of subscription id.
func (c *wsClient) next(id string) map[string]any {
	c.t.Helper()
	m, err := c.read()
	require.NoError(c.t, err)
	require.Equal(c.t, "next", m.Type, string(m.Payload))
	require.Equal(c.t, id, m.ID)
	var p struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	require.NoError(c.t, json.Unmarshal(m.Payload, &p))
	require.Empty(c.t, p.Errors, string(m.Payload))
	return p.Data
}

// payer makes a payment of 7.00 in an account, on a new card, and returns
// its ID.
func payer(t *testing.T, b *apitest.Bundle) func(apitest.Account) string {
	return func(a apitest.Account) string {
		chain := b.NewChain(t, a, apitest.ChainOptions{})
		r := b.CreatePayment(t, a.Keys.Secret, apitest.PaymentInput(chain, 700, nil))
		r.RequireOK(t)
		return r.String(t, "createOffSessionPayment.id")
	}
}

// firstEvent returns the ID of the first event about object id, in
// account A.
func firstEvent(t *testing.T, b *apitest.Bundle, id string) any {
	r := b.Do(t, b.A.Keys.Restricted, `query($id: String!) { events(first: 1, where: {objectID: $id}) { edges { node { id } } } }`, map[string]any{"id": id})
	r.RequireOK(t)
	return r.Get(t, "events.edges").([]any)[0].(map[string]any)["node"].(map[string]any)["id"]
}

// TestSubscriptionsOverGraphQLTransportWS: a restricted key in
// connection_init's payload subscribes (a bad or missing one is refused);
// events arrive as they are written, the caller's account's only; a
// client that reconnects with the last event ID it saw gets what was
// written while it was away; a payment's subscription follows its status
// as the workers run it, and its attempts arrive as they finish.
func TestSubscriptionsOverGraphQLTransportWS(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		b := apitest.New(t, st)
		srv := httptest.NewServer(b.Handler)
		t.Cleanup(srv.Close)

		for _, bad := range []string{"", "Bearer sk_test_not_a_key", "Basic abc"} {
			c, ack := dialSocket(t, srv.URL, bad)
			require.False(t, ack, "%q is refused", bad)
			_, err := c.read()
			require.Error(t, err, "the connection is closed")
		}

		created := `subscription($after: ID) { events(types: ["off_session_payment.created"], after: $after) { id type objectID } }`
		pay := payer(t, b)
		// Subscribe from a known event, so what follows is deterministic.
		e0 := firstEvent(t, b, pay(b.A))
		c, ack := dialSocket(t, srv.URL, "Bearer "+b.A.Keys.Restricted)
		require.True(t, ack)
		c.subscribe("1", created, map[string]any{"after": e0})
		pay(b.B) // another account's: never sent
		first := pay(b.A)
		ev := c.next("1")["events"].(map[string]any)
		require.Equal(t, "off_session_payment.created", ev["type"])
		require.Equal(t, first, ev["objectID"], "the caller's own payment, not account B's")
		require.NoError(t, c.conn.Close(coderws.StatusNormalClosure, ""))

		// Away: a payment is made. Back with the last ID seen: it comes first.
		second := pay(b.A)
		c, ack = dialSocket(t, srv.URL, "Bearer "+b.A.Keys.Restricted)
		require.True(t, ack)
		c.subscribe("2", created, map[string]any{"after": ev["id"]})
		require.Equal(t, second, c.next("2")["events"].(map[string]any)["objectID"], "nothing missed while away")

		// A payment as it is, then its changes as the workers run it.
		c.subscribe("3", `subscription($id: ID!) { offSessionPaymentChanged(id: $id) { id status } }`, map[string]any{"id": second})
		require.Equal(t, "pending", c.next("3")["offSessionPaymentChanged"].(map[string]any)["status"], "as it is now, first")
		b.RunDue(t)
		var statuses []string
		for len(statuses) < 2 {
			p := c.next("3")["offSessionPaymentChanged"].(map[string]any)
			require.Equal(t, second, p["id"])
			statuses = append(statuses, p["status"].(string))
		}
		require.Equal(t, "succeeded", statuses[len(statuses)-1], "attempt started, then succeeded: %v", statuses)

		// Another account's payment cannot be followed.
		cB := pay(b.B)
		c.subscribe("4", `subscription($id: ID!) { offSessionPaymentChanged(id: $id) { id } }`, map[string]any{"id": cB})
		m, err := c.read()
		require.NoError(t, err)
		require.Equal(t, "4", m.ID)
		require.Contains(t, string(m.Payload), `"code":"NOT_FOUND"`)
		require.Contains(t, string(m.Payload), `"data":null`)

		// A payment's attempts as they finish, from its creation's event.
		third := pay(b.A)
		e3 := firstEvent(t, b, third)
		c5, ack := dialSocket(t, srv.URL, "Bearer "+b.A.Keys.Restricted)
		require.True(t, ack)
		c5.subscribe("5", `subscription($id: ID, $after: ID) { attemptFinished(paymentID: $id, after: $after) { number outcome paymentID } }`,
			map[string]any{"id": third, "after": e3})
		b.RunDue(t)
		att := c5.next("5")["attemptFinished"].(map[string]any)
		require.Equal(t, third, att["paymentID"])
		require.EqualValues(t, 1, att["number"])
		require.Equal(t, "approved", att["outcome"], "finished, not in flight")
	})
}

// TestSocketKeysAreThrottledAsHeaderKeys: invalid keys sent in
// connection_init count against the client address as invalid keys in
// the Authorization header do; past the burst the address is refused
// without a lookup, with a valid key too.
func TestSocketKeysAreThrottledAsHeaderKeys(t *testing.T) {
	t.Parallel()
	b := apitest.New(t, storagetest.Open(t, storagetest.Dialects()[0]))
	srv := httptest.NewServer(b.Handler)
	t.Cleanup(srv.Close)
	refusal := func(key string) string {
		c, ack := dialSocket(t, srv.URL, key)
		require.False(t, ack, key)
		return c.refused.Error()
	}
	for i := range httpapi.InvalidKeyBurstDefault {
		require.Contains(t, refusal("Bearer sk_test_wrong"), "invalid API key", "invalid key %d", i+1)
	}
	require.Contains(t, refusal("Bearer sk_test_wrong"), "too many invalid API keys")
	require.Contains(t, refusal("Bearer "+b.A.Keys.Restricted), "too many invalid API keys", "the address is throttled, whatever the key")
}

// TestSubscriptionsReachEveryReplica: a subscriber with account A's
// restricted key receives each of A's new payments within 1 s at the
// median of 15, and none of account B's, made in between. On PostgreSQL
// the subscriber is connected to a second replica (another process's
// worth of services and pool over the same database) and the payments are
// made through the first; on SQLite, one process serves both.
func TestSubscriptionsReachEveryReplica(t *testing.T) {
	t.Parallel()
	for _, d := range storagetest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			url := storagetest.URL(t, d)
			open := func() *storage.Store {
				st, err := storage.Open(context.Background(), url)
				require.NoError(t, err)
				t.Cleanup(func() { st.Close() })
				return st
			}
			st := open()
			_, err := st.Migrate(context.Background())
			require.NoError(t, err)
			b := apitest.New(t, st)
			writer := httptest.NewServer(b.Handler)
			t.Cleanup(writer.Close)
			reader := writer
			if d == dialect.Postgres {
				reader = httptest.NewServer(apitest.New(t, open()).Handler)
				t.Cleanup(reader.Close)
			}
			pay := payer(t, b)
			e0 := firstEvent(t, b, pay(b.A))
			c, ack := dialSocket(t, reader.URL, "Bearer "+b.A.Keys.Restricted)
			require.True(t, ack)
			c.subscribe("1", `subscription($after: ID) { events(types: ["off_session_payment.created"], after: $after) { objectID } }`, map[string]any{"after": e0})
			var took []time.Duration
			for range 15 {
				pay(b.B) // written first: were it sent, it would arrive first
				id := pay(b.A)
				made := time.Now()
				got := c.next("1")["events"].(map[string]any)["objectID"]
				took = append(took, time.Since(made))
				require.Equal(t, id, got, "A's payment, and never B's")
			}
			slices.Sort(took)
			t.Logf("from the create's answer to the subscriber: median %v, max %v", took[len(took)/2], took[len(took)-1])
			require.Less(t, took[len(took)/2], time.Second)
		})
	}
}
