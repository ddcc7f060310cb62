// Package cli turns command lines into calls: one file per subcommand, flags
// parsed into an options struct, and explicit wiring of the packages that do
// the work. It holds no logic of its own beyond presentation.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Version is the build's version; the Makefile sets it with -ldflags.
var Version = "dev"

// Stdio is where a command reads and writes.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Exit codes shared by all commands.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and found a failure (a rule failed, an input unreadable)
	exitUsage = 2 // the command line was wrong
)

// errUsage marks an error caused by the command line; it exits 2.
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, io Stdio) int
}

func commands() []command {
	return []command{
		{"detect", "run Sigma rules over EVTX and JSON-lines files", runDetect},
		{"ingest", "send EVTX, JSON-lines and audit log files to a Vigil server", runIngest},
		{"rules", "work with Sigma rules (check)", runRules},
		{"server", "run the Vigil server: ingest, detection, storage, API", runServer},
		{"version", "print the version", func(_ context.Context, _ []string, s Stdio) int {
			fmt.Fprintln(s.Out, "vigil", Version)
			return exitOK
		}},
	}
}

// Main runs the command named by args[0] and returns the process exit code.
func Main(ctx context.Context, args []string, s Stdio) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(s.Out)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], s)
		}
	}
	fmt.Fprintf(s.Err, "vigil: unknown command %q\n\n", args[0])
	usage(s.Err)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Vigil — a security operations platform in one binary.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: vigil COMMAND [options]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'vigil COMMAND --help' for a command's options.")
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, as people type them ("vigil detect logs/ --format csv").
// A lone "--" ends flag parsing.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// newFlagSet returns a FlagSet that reports errors instead of exiting and
// prints usage with the command's synopsis.
func newFlagSet(name, synopsis string, s Stdio) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.Err)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "Usage: %s\n\nOptions:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// isTerminal reports whether w is a character device (a terminal), to decide
// on colour and progress output.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
