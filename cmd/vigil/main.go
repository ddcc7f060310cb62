// Command vigil is the Vigil SOC platform: server, agent, sensor and the
// offline tools, as subcommands of one binary. All logic lives in internal/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigilsoc/vigil/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
