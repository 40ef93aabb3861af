package app_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/offsession/offsession/app"
	"github.com/offsession/offsession/storage"
)

// runCommand runs `offsession CMD` in a child process with env added, and
// returns its exit code and standard error. A command still running after
// 20 seconds (a server that started when it should have stopped) is
// killed and fails the test.
func runCommand(t *testing.T, cmd string, env ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	c.Env = append(append(os.Environ(), envCommand+"="+cmd, "OFFSESSION_LISTEN_ADDR=127.0.0.1:0"), env...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	err := c.Run()
	require.NoError(t, ctx.Err(), "offsession %s did not stop: %s", cmd, stderr.String())
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stderr.String()
}

// TestBadEnvironmentValueIsAnError: a variable whose value its flag would
// refuse stops the command with an error naming the variable, before any
// database is opened, as the same value given as a flag does.
func TestBadEnvironmentValueIsAnError(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	tests := []struct {
		give, flag string
		want       string
	}{
		{give: "OFFSESSION_WORKERS=abc", flag: "-workers=abc", want: `OFFSESSION_WORKERS="abc" is not a valid int`},
		{give: "OFFSESSION_POLL_INTERVAL=5", flag: "-poll-interval=5", want: `OFFSESSION_POLL_INTERVAL="5" is not a valid duration`},
		{give: "OFFSESSION_ATTEMPT_LEASE=soon", flag: "-attempt-lease=soon", want: `OFFSESSION_ATTEMPT_LEASE="soon" is not a valid duration`},
		{give: "OFFSESSION_RATE_LIMIT=fast", flag: "-rate-limit=fast", want: `OFFSESSION_RATE_LIMIT="fast" is not a valid float`},
		{give: "OFFSESSION_ALLOW_PRIVATE_URLS=yes please", flag: "-allow-private-urls=yes please", want: `OFFSESSION_ALLOW_PRIVATE_URLS="yes please" is not a valid bool`},
		{give: "OFFSESSION_MAX_PAGE_SIZE=1e3", flag: "-max-page-size=1e3", want: `OFFSESSION_MAX_PAGE_SIZE="1e3" is not a valid int`},
		// A value that parses reaches the configuration and its checks.
		{give: "OFFSESSION_WORKERS=0", flag: "-workers=0", want: "workers must be 1 to 1024, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "offsession.db")
			code, stderr := runCommand(t, "serve", tt.give, "OFFSESSION_DATABASE_URL=sqlite://"+db)
			require.Equal(t, 2, code, stderr)
			require.Contains(t, stderr, tt.want)
			_, err := os.Stat(db)
			require.True(t, os.IsNotExist(err), "nothing is opened or created")

			// The same value as a flag is refused too.
			var out, flagErr bytes.Buffer
			require.Equal(t, 2, app.Main([]string{"serve", "-database-url", "sqlite://" + db, tt.flag}, &out, &flagErr))
			_, err = os.Stat(db)
			require.True(t, os.IsNotExist(err))
		})
	}
}

// TestSecondServerOnOneSQLiteFileFails: while `offsession serve` runs on an
// SQLite file, a second serve on it stops at once with an error that says
// why, before touching the database; the first keeps the file. The lock
// goes with the first process, even killed with SIGKILL.
func TestSecondServerOnOneSQLiteFileFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	t.Parallel()
	db := filepath.Join(t.TempDir(), "offsession.db")
	first := startServer(t, "sqlite://"+db)
	pid := strconv.Itoa(first.Process.Pid)
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(db + ".lock")
		return strings.TrimSpace(string(b)) == pid
	}, time.Minute, 50*time.Millisecond, "the first server holds the lock")

	start := time.Now()
	code, stderr := runCommand(t, "serve", "OFFSESSION_DATABASE_URL=sqlite://"+db)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "in use by another offsession process")
	require.Contains(t, stderr, "process "+pid)
	require.Less(t, time.Since(start), 30*time.Second, "it stops at once, it does not wait for the lock")
	b, _ := os.ReadFile(db + ".lock")
	require.Equal(t, pid, strings.TrimSpace(string(b)), "the first server keeps the lock")

	require.NoError(t, first.Process.Kill())
	_, _ = first.Process.Wait()
	release, err := storage.LockSQLite("sqlite://" + db)
	require.NoError(t, err, "a killed server's lock is released")
	require.NoError(t, release())
}
