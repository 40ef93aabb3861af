package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// envBrowser makes the browser test required: CI sets it, after installing
// Chromium and the test's npm packages.
const envBrowser = "OFFSESSION_BROWSER_TESTS"

// TestPlaygroundInChromium loads the demo's GraphiQL page in headless
// Chromium and runs an example operation from it.
func TestPlaygroundInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a browser")
	}
	dir := needBrowser(t, filepath.Join("httpapi", "playground", "browsertest"))
	t.Parallel()
	base, _, _ := startDemo(t)
	shot := filepath.Join(t.TempDir(), "playground.png")
	cmd := exec.Command("node", "playground.mjs", base, shot)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "playground ok")
	info, err := os.Stat(shot)
	require.NoError(t, err)
	require.Positive(t, info.Size())
}

// needBrowser skips the test (fails it, under OFFSESSION_BROWSER_TESTS=1)
// unless node, Chromium and the npm packages of the test's directory (dir,
// from the repository's root) are installed; it returns the directory.
func needBrowser(t *testing.T, dir string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir = filepath.Join(filepath.Dir(file), "..", dir)
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node"
	} else if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing = "/usr/bin/chromium (apt-get install chromium)"
	} else if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing = "playwright-core (npm ci in " + dir + ")"
	}
	if missing != "" {
		if os.Getenv(envBrowser) == "1" {
			t.Fatalf("%s=1 but %s is missing", envBrowser, missing)
		}
		t.Skipf("%s is missing; set %s=1 to require this test", missing, envBrowser)
	}
	return dir
}
