package httpapi_test

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/internal/apitest"
	"github.com/offsession/offsession/internal/storagetest"
)

// envAudit makes the audit test required: CI sets it, after npm ci in
// httpapi/audit.
const envAudit = "OFFSESSION_AUDIT_TESTS"

// TestGraphQLOverHTTPAudit runs graphql-http's server audit against the
// whole HTTP surface, with an API key: no MUST may fail and no SHOULD
// may warn.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node")
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "audit")
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql-http")); err != nil {
		missing = "graphql-http (npm ci in httpapi/audit)"
	}
	if missing != "" {
		if os.Getenv(envAudit) == "1" {
			t.Fatalf("%s=1 but %s is missing", envAudit, missing)
		}
		t.Skipf("%s is missing; set %s=1 to require this test", missing, envAudit)
	}
	t.Parallel()
	b := apitest.New(t, storagetest.Open(t, dialect.SQLite))
	srv := httptest.NewServer(b.Handler)
	t.Cleanup(srv.Close)
	cmd := exec.Command("node", "audit.mjs", srv.URL+"/graphql", b.A.Keys.Secret)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "MUST: 13 ok, 0 failed")
	require.Contains(t, string(out), "graphql-http audit ok")
}
