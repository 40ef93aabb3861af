//go:build !unix

package storage

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked")

// lockFile takes no lock where flock is missing: offsession's servers run
// on Unix; elsewhere a second server on one SQLite file is not detected.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
