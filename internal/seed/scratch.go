package seed

import (
	"fmt"
	"os"
)

// ScratchDir makes a fresh directory for a benchmark's SQLite files in
// base, or, when base is empty, in /dev/shm if the machine has one (memory
// is faster than disk for throwaway databases), else the system's
// temporary directory.
func ScratchDir(base, prefix string) (string, error) {
	if base == "" {
		base = os.TempDir()
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", fmt.Errorf("make a scratch directory: %w", err)
	}
	return dir, nil
}
