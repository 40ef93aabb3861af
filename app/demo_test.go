package app_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startDemo runs `offsession demo` as `make run` does, in a fresh working
// directory, and returns its base URL, printed secret key and directory.
func startDemo(t *testing.T) (base, key, dir string) {
	t.Helper()
	d := runDemo(t)
	return d.base, d.keys["secret"], d.dir
}

// demoServer is a running `offsession demo`: its base URL, the keys it
// printed by role, and its working directory.
type demoServer struct {
	base, dir string
	keys      map[string]string
}

func runDemo(t *testing.T) demoServer {
	t.Helper()
	dir := t.TempDir()
	keys := map[string]string{}
	var base string
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envCommand+"=demo", "OFFSESSION_LISTEN_ADDR=127.0.0.1:0", "OFFSESSION_DATABASE_URL=")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })

	lines := bufio.NewScanner(stdout)
	keyRE := regexp.MustCompile(`(secret|restricted|admin) key:\s+(\S+)`)
	urlRE := regexp.MustCompile(`playground at (http://\S+)/`)
	found := make(chan struct{})
	go func() {
		for lines.Scan() {
			if m := keyRE.FindStringSubmatch(lines.Text()); m != nil {
				keys[m[1]] = m[2]
			}
			if m := urlRE.FindStringSubmatch(lines.Text()); m != nil {
				base = m[1]
				close(found)
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
	}()
	select {
	case <-found:
	// Seeding the demo takes 10-15 s on a quiet machine; beside the
	// rest of the suite on two cores it has taken over two minutes.
	case <-time.After(5 * time.Minute):
		t.Fatalf("demo did not start: %s", stderr.String())
	}
	require.Len(t, keys, 3, "the demo prints a key of each role")
	return demoServer{base: base, dir: dir, keys: keys}
}

// TestDemoServesThePlaygroundWithDemoData: on a fresh SQLite file, the demo
// prints keys, serves GraphiQL at /, is healthy and ready, and the printed
// secret key reads payments in each status.
func TestDemoServesThePlaygroundWithDemoData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	t.Parallel()
	base, key, dir := startDemo(t)
	_, err := os.Stat(filepath.Join(dir, "offsession.db"))
	require.NoError(t, err, "the demo creates offsession.db in the working directory")
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, page := get("/")
	require.Equal(t, 200, code)
	require.Contains(t, page, "graphiql.min.js")
	require.Contains(t, page, key, "the playground starts with the demo key")
	code, _ = get("/playground/assets/graphiql.min.js")
	require.Equal(t, 200, code)
	code, _ = get("/healthz")
	require.Equal(t, 200, code)
	require.Eventually(t, func() bool { c, _ := get("/readyz"); return c == 200 }, 10*time.Second, 50*time.Millisecond)

	var out struct {
		OffSessionPayments struct {
			Edges []struct{ Node struct{ Status string } }
		}
	}
	postGraphQL(t, base, key, `{ offSessionPayments(first: 50) { edges { node { status } } } }`, nil, &out)
	seen := map[string]int{}
	for _, e := range out.OffSessionPayments.Edges {
		seen[e.Node.Status]++
	}
	for _, s := range []string{"pending", "pending_retry", "paused", "succeeded", "failed", "requires_capture", "canceled"} {
		require.Positive(t, seen[s], "the demo has a %s payment: %v", s, seen)
	}
}

// postGraphQL posts a query to the server at base with the key, requires
// that it answers without errors, and decodes its data into out.
func postGraphQL(t *testing.T, base, key, query string, vars map[string]any, out any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	require.Empty(t, r.Errors)
	require.NoError(t, json.Unmarshal(r.Data, out))
}
