// Command offsession is a self-hosted engine for off-session payments. See
// README.md, and `offsession` without arguments for its commands.
package main

import (
	"os"

	"github.com/offsession/offsession/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr))
}
