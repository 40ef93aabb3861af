package app_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/scoring"
)

// TestDataTeamLoop is the data team's loop from a clean start: the demo's
// history is exported, a model is trained on it and listed with its
// metrics, activating it makes new retries record its version, a second
// version takes over, and activating the first again rolls back. The CLI
// runs beside the demo server, on its database, as the data team would.
func TestDataTeamLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	t.Parallel()
	base, key, dir := startDemo(t)
	dbURL := "sqlite://" + filepath.Join(dir, "offsession.db")
	cli := func(sub string, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := app.Main(append([]string{"model", sub, "-database-url", dbURL}, args...), &stdout, &stderr)
		require.Equal(t, 0, code, "offsession model %s %s: %s", sub, strings.Join(args, " "), stderr.String())
		return stdout.String()
	}

	// Export: one row per retry, with every feature and the label.
	csvPath := filepath.Join(dir, "history.csv")
	cli("export", "-o", csvPath)
	f, err := os.Open(csvPath)
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Greater(t, len(rows), 250, "the demo's history has retries to learn from")
	for _, name := range append([]string{"approved"}, scoring.FeatureNames...) {
		require.Contains(t, rows[0], name)
	}

	trained := regexp.MustCompile(`trained v(\d+)`)
	require.Equal(t, "1", trained.FindStringSubmatch(cli("train", "-seed", "1"))[1])
	list := cli("list")
	require.Regexp(t, `(?m)^v1\s+candidate\s+\d+\s+\d+\s+0\.\d{3}\s+0\.\d{4}\s+0\.\d{4}\s+0\.\d{3} / 0\.\d{3}`, list, "v1 is listed with its metrics")

	// A payment whose card is declined for a lack of funds, retried by the
	// smart strategy: its next attempt names the model that planned it.
	gql := func(query string, vars map[string]any) map[string]any {
		t.Helper()
		var data map[string]any
		postGraphQL(t, base, key, query, vars, &data)
		return data
	}
	r := gql(`{ customers(where: {externalRef: "demo-alan"}) { edges { node { id mandates(first: 100) { edges { node { id paymentMethodID status } } } } } } }`, nil)
	node := r["customers"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
	var mandateID, pmID string
	for _, e := range node["mandates"].(map[string]any)["edges"].([]any) {
		if m := e.(map[string]any)["node"].(map[string]any); m["status"] == "active" {
			mandateID, pmID = m["id"].(string), m["paymentMethodID"].(string)
		}
	}
	require.NotEmpty(t, mandateID)
	plannedBy := func() string {
		t.Helper()
		r := gql(`mutation($in: CreateOffSessionPaymentInput!) { createOffSessionPayment(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"customerID": node["id"], "paymentMethodID": pmID, "mandateID": mandateID,
			"amount": 1500, "currency": "usd", "cadence": "recurring", "retryStrategy": "smart",
		}})
		id := r["createOffSessionPayment"].(map[string]any)["id"].(string)
		var next map[string]any
		require.Eventually(t, func() bool {
			p := gql(`query($id: ID!) { node(id: $id) { ... on OffSessionPayment { status nextAttempt { at strategy modelVersion score reason alternatives { at score } } } } }`,
				map[string]any{"id": id})["node"].(map[string]any)
			next, _ = p["nextAttempt"].(map[string]any)
			return p["status"] == "pending_retry"
		}, 30*time.Second, 100*time.Millisecond)
		require.Equal(t, "smart", next["strategy"])
		v, _ := next["modelVersion"].(string)
		if v != "" {
			require.NotNil(t, next["score"], "a model's plan has its score")
			require.NotEmpty(t, next["alternatives"], "and the times it passed over")
			require.Contains(t, next["reason"], "model "+v)
		}
		return v
	}
	// The server rereads the active model every few seconds.
	activate := func(v string) {
		t.Helper()
		require.Contains(t, cli("activate", v), "v"+v+" is active")
		time.Sleep(6 * time.Second)
	}

	require.Empty(t, plannedBy(), "no model is active yet: the heuristic plans")
	activate("1")
	require.Equal(t, "v1", plannedBy())

	require.Equal(t, "2", trained.FindStringSubmatch(cli("train", "-seed", "2", "-min-leaf", "50"))[1])
	activate("2")
	require.Equal(t, "v2", plannedBy())
	require.Regexp(t, `(?m)^v2\s+active\b`, cli("list"))
	require.Regexp(t, `(?m)^v1\s+retired\b`, cli("list"))

	activate("1") // roll back
	require.Equal(t, "v1", plannedBy())
	require.Regexp(t, `(?m)^v1\s+active\b`, cli("list"))
}
