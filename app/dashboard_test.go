package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// envScreenshots names a directory for the dashboard test's screenshots
// (`make screenshots` sets it to docs/screenshots, which the README shows);
// without it they go to a temporary directory.
const envScreenshots = "OFFSESSION_SCREENSHOTS"

// TestDashboardInChromium signs in to the demo's dashboard in headless
// Chromium, filters the payments, watches a payment's timeline gain a retry
// through the subscription when the test advances its test clock, pauses,
// resumes and cancels it, sees the recovery and model charts drawn from the
// demo's data, trains and activates a model with the admin key, and finds
// no actions for a restricted key (dashboard/web/test/dashboard.mjs).
func TestDashboardInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and a browser")
	}
	dir := needBrowser(t, filepath.Join("dashboard", "web"))
	t.Parallel()
	d := runDemo(t)
	shots := os.Getenv(envScreenshots)
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))
	cmd := exec.Command("node", "test/dashboard.mjs", d.base, d.keys["secret"], d.keys["restricted"], d.keys["admin"], shots)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("%s", out)
	require.Contains(t, string(out), "dashboard ok")
	for _, name := range []string{"payment.png", "recovery.png", "models.png"} {
		info, err := os.Stat(filepath.Join(shots, name))
		require.NoError(t, err)
		require.Positive(t, info.Size())
	}
}
