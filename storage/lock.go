package storage

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// ErrSQLiteInUse is returned by LockSQLite when another process holds the
// database.
var ErrSQLiteInUse = errors.New("the SQLite database is in use by another offsession process")

// LockSQLite makes the calling process the only server on the SQLite
// database rawURL names: it takes an exclusive lock on a file beside it
// (PATH.lock, holding the process ID) and returns the function that
// releases it. The operating system releases it too when the process
// ends, however it ends. A second process gets ErrSQLiteInUse, naming the
// holder. PostgreSQL, which several replicas may share, and in-memory
// SQLite take no lock. Only servers call it: one-off commands (migrate,
// model, account) may run beside a server, and tests may open a file twice.
func LockSQLite(rawURL string) (release func() error, err error) {
	path := sqliteFile(rawURL)
	if path == "" {
		return func() error { return nil }, nil
	}
	lockPath := path + ".lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock SQLite database %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		holder, _ := os.ReadFile(lockPath)
		f.Close()
		if errors.Is(err, errLocked) {
			pid := strings.TrimSpace(string(holder))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%w (process %s holds %s): an SQLite file serves one process; stop the other, or use PostgreSQL for several replicas", ErrSQLiteInUse, pid, lockPath)
		}
		return nil, fmt.Errorf("lock SQLite database %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() error {
		_ = f.Truncate(0)
		unlockFile(f)
		return f.Close()
	}, nil
}

// sqliteFile is the file of an SQLite URL, or "" for PostgreSQL, an
// in-memory database or a URL Open would refuse.
func sqliteFile(rawURL string) string {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	driver, dsn, _, err := parseURL(rawURL)
	if err != nil || driver != "sqlite" {
		return ""
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	q, _ := url.ParseQuery(query)
	if path == "" || path == ":memory:" || q.Get("mode") == "memory" {
		return ""
	}
	return path
}
