package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsoc/vigil/internal/auth"
	"github.com/vigilsoc/vigil/internal/client"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/ingest"
	"github.com/vigilsoc/vigil/internal/pki"
)

const ingestSynopsis = "vigil ingest [--server URL] [--token T | --token-file F] [--ca-file F | --ca-sha256 FP] [--batch N] [--workers N] FILE|DIR..."

// ingestDataDir is where `vigil server` keeps its data by default; ingest
// looks there for the CA and admin token when run beside a local server.
const ingestDataDir = "vigil-data"

// ingestTokenEnv names the environment variable holding the API token.
const ingestTokenEnv = "VIGIL_TOKEN"

const ingestHelp = `Reads EVTX, JSON lines and Linux audit log files (or directories of them)
and sends their events to a Vigil server, in batches that are retried until
the server has stored them. Safe to re-run: the server stores each event once.

Authentication, in order of precedence:
  --token T            the API token (visible in the process list; prefer the others)
  --token-file F       a file holding the token
  $VIGIL_TOKEN         the token from the environment
  ./vigil-data/admin.token   when readable and nothing else is given (a local server's admin token)

Server certificate:
  --ca-file F          trust the CA in F (default ./vigil-data/ca.pem when it exists)
  --ca-sha256 FP       trust the CA with this SHA-256 fingerprint (as the server prints it)

Exit status: 0 when every event was accepted; 1 when an input could not be
read, a line was rejected, or a batch could not be delivered (the rest is
still sent); 2 for a wrong command line.

Examples:
  vigil ingest Security.evtx
  vigil ingest --server https://vigil.example:8443 --token-file ~/.vigil-token --ca-sha256 9f86d0... logs/
  VIGIL_TOKEN=vgl_... vigil ingest --batch 2000 --progress /var/log/audit/audit.log
`

type ingestOptions struct {
	server     string
	token      string
	tokenFile  string
	caFile     string
	caSHA256   string
	batch      int
	workers    int
	timeout    time.Duration
	maxRetries int
	progress   bool
	quiet      bool
	json       bool
}

func runIngest(ctx context.Context, args []string, s Stdio) int {
	var o ingestOptions
	fs := newFlagSet("ingest", ingestSynopsis, s)
	fs.Usage = func() {
		fmt.Fprintf(s.Err, "Usage: %s\n\n%s\nOptions:\n", ingestSynopsis, ingestHelp)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.server, "server", "https://127.0.0.1:8443", "Vigil server URL")
	fs.StringVar(&o.token, "token", "", "API token with events:write (see above for other ways to give it)")
	fs.StringVar(&o.tokenFile, "token-file", "", "file holding the API token")
	fs.StringVar(&o.caFile, "ca-file", "", "CA certificate (PEM) that signed the server's certificate (default ./vigil-data/ca.pem when it exists)")
	fs.StringVar(&o.caSHA256, "ca-sha256", "", "SHA-256 fingerprint of the server's CA, instead of --ca-file")
	fs.IntVar(&o.batch, "batch", 5000, "events per request")
	fs.IntVar(&o.workers, "workers", 2, "requests in flight at once")
	fs.DurationVar(&o.timeout, "timeout", client.DefaultTimeout, "time limit of one request (retries are not limited by it)")
	fs.IntVar(&o.maxRetries, "max-retries", 0, "give up on a batch after this many retries (0 retries until delivered or interrupted)")
	fs.BoolVar(&o.progress, "progress", false, "print progress on stderr even when it is not a terminal")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress and no per-line messages on stderr")
	fs.BoolVar(&o.json, "json", false, "print the final counts as one JSON object on stdout")
	inputs, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if err := o.validate(inputs); err != nil {
		fmt.Fprintf(s.Err, "vigil ingest: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	cfg, err := o.clientConfig(os.Getenv, fileExists)
	if err != nil {
		fmt.Fprintf(s.Err, "vigil ingest: %v\n", err)
		return exitUsage
	}
	cfg.Logger = slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if o.quiet {
		cfg.Logger = nil
	}
	c, err := client.New(cfg)
	if err != nil {
		fmt.Fprintf(s.Err, "vigil ingest: %v\n", err)
		return exitUsage
	}
	return ingestMain(ctx, o, c, inputs, s)
}

func (o *ingestOptions) validate(inputs []string) error {
	var errs []error
	if len(inputs) == 0 {
		errs = append(errs, errors.New("no input files or directories given"))
	}
	if o.batch < 1 {
		errs = append(errs, errors.New("--batch must be at least 1"))
	}
	if o.workers < 1 {
		errs = append(errs, errors.New("--workers must be at least 1"))
	}
	if o.token != "" && o.tokenFile != "" {
		errs = append(errs, errors.New("give --token or --token-file, not both"))
	}
	if o.caFile != "" && o.caSHA256 != "" {
		errs = append(errs, errors.New("give --ca-file or --ca-sha256, not both"))
	}
	return errors.Join(errs...)
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// clientConfig resolves the token and the CA from the flags, the
// environment and the local data directory, in the documented order.
func (o *ingestOptions) clientConfig(getenv func(string) string, exists func(string) bool) (client.Config, error) {
	cfg := client.Config{BaseURL: o.server, CAFile: o.caFile, CASHA256: o.caSHA256, Timeout: o.timeout, MaxRetries: o.maxRetries}
	switch {
	case o.token != "":
		cfg.Token = o.token
	case o.tokenFile != "":
		tok, err := readToken(o.tokenFile)
		if err != nil {
			return cfg, fmt.Errorf("--token-file: %w", err)
		}
		cfg.Token = tok
	case getenv(ingestTokenEnv) != "":
		cfg.Token = strings.TrimSpace(getenv(ingestTokenEnv))
	default:
		// Beside a local server with default settings, its admin token
		// works without being copied anywhere.
		if p := filepath.Join(ingestDataDir, auth.AdminTokenFile); exists(p) {
			if tok, err := readToken(p); err == nil {
				cfg.Token = tok
			}
		}
	}
	if cfg.Token == "" {
		return cfg, fmt.Errorf("no API token: give --token, --token-file or $%s", ingestTokenEnv)
	}
	if cfg.CAFile == "" && cfg.CASHA256 == "" && strings.HasPrefix(o.server, "https:") {
		if p := filepath.Join(ingestDataDir, pki.CACertFile); exists(p) {
			cfg.CAFile = p
		}
	}
	return cfg, nil
}

func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(data))
	if err := auth.ValidToken(tok); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return tok, nil
}

// ingestBatch is a batch on its way to the server; each event's Source
// names its file, to report a rejected line by where it came from.
type ingestBatch struct {
	events []*event.Event
}

// ingestCounts are the final figures; -json prints them.
type ingestCounts struct {
	Files          int     `json:"files"`
	Unreadable     int     `json:"unreadable"`
	Skipped        int     `json:"skipped"`
	Events         int64   `json:"events"`
	BadLines       int64   `json:"bad_lines"`
	Accepted       int64   `json:"accepted"`
	Rejected       int64   `json:"rejected"`
	Undelivered    int64   `json:"undelivered"`
	Alerts         int64   `json:"alerts"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	EventsPerSec   float64 `json:"events_per_second"`
}

func ingestMain(parent context.Context, o ingestOptions, c *client.Client, inputs []string, s Stdio) int {
	start := time.Now()
	// A batch that cannot be delivered stops the run (see the workers).
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)

	var errMu sync.Mutex
	printErr := func(format string, args ...any) {
		if o.quiet {
			return
		}
		errMu.Lock()
		defer errMu.Unlock()
		fmt.Fprintf(s.Err, "vigil ingest: "+format+"\n", args...)
	}

	var n ingestCounts
	var badLines, accepted, rejected, alerts, read atomic.Int64
	files, expandErrs := ingest.ExpandPaths(inputs)
	for _, err := range expandErrs {
		n.Unreadable++
		fmt.Fprintf(s.Err, "vigil ingest: %v\n", err)
	}
	reader, err := ingest.New(ingest.Config{OnError: func(err error) {
		badLines.Add(1)
		printErr("%v", err)
	}})
	if err != nil {
		fmt.Fprintf(s.Err, "vigil ingest: %v\n", err)
		return exitFail
	}

	prog := newIngestProgress(s.Err, !o.quiet && (o.progress || isTerminal(s.Err)), isTerminal(s.Err), len(files), &read, &accepted)
	prog.start()

	batches := make(chan ingestBatch, o.workers)
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(func() {
			for b := range batches {
				res, err := c.PostEvents(ctx, b.events)
				if err != nil {
					// The client retried what a retry could fix; what is
					// left (a refused token, a certificate that does not
					// verify, --max-retries spent) would fail every batch.
					if ctx.Err() == nil {
						cancel(fmt.Errorf("a batch of %d events was not delivered: %w", len(b.events), err))
					}
					continue
				}
				accepted.Add(int64(res.Accepted))
				alerts.Add(int64(res.Alerts))
				for _, r := range res.Rejected {
					if r.Line < 1 || r.Line > len(b.events) {
						printErr("server: %s", r.Error)
						continue
					}
					rejected.Add(1)
					printErr("%s: event rejected by the server: %s", b.events[r.Line-1].Source, r.Error)
				}
				if extra := len(b.events) - res.Accepted - countListed(res.Rejected, len(b.events)); extra > 0 {
					// Lines counted but not listed (the server lists at most
					// a thousand per batch).
					rejected.Add(int64(extra))
				}
			}
		})
	}

	cur := make([]*event.Event, 0, o.batch)
	send := func() bool {
		if len(cur) == 0 {
			return true
		}
		select {
		case batches <- ingestBatch{events: cur}:
			cur = make([]*event.Event, 0, o.batch)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, in := range files {
		if ctx.Err() != nil {
			break
		}
		_, err := reader.ReadFile(ctx, in.Path, func(ev *event.Event) error {
			read.Add(1)
			cur = append(cur, ev)
			if len(cur) >= o.batch && !send() {
				return context.Cause(ctx)
			}
			return nil
		})
		prog.fileDone()
		switch {
		case err == nil:
			n.Files++
		case ctx.Err() != nil:
		case in.Found && errors.Is(err, ingest.ErrUnknownFormat):
			n.Skipped++
			printErr("%s: skipped: %v", in.Path, err)
		default:
			n.Files++
			n.Unreadable++
			fmt.Fprintf(s.Err, "vigil ingest: %s: %v\n", in.Path, err)
		}
	}
	send()
	close(batches)
	wg.Wait()
	prog.stop()

	elapsed := time.Since(start)
	n.Events, n.BadLines = read.Load(), badLines.Load()
	n.Accepted, n.Rejected, n.Alerts = accepted.Load(), rejected.Load(), alerts.Load()
	// Whatever was read and neither stored nor rejected was not delivered:
	// batches that failed, and events never sent after a stop.
	n.Undelivered = max(0, n.Events-n.Accepted-n.Rejected)
	n.ElapsedSeconds = elapsed.Seconds()
	if secs := elapsed.Seconds(); secs > 0 {
		n.EventsPerSec = float64(n.Accepted) / secs
	}
	if o.json {
		enc := json.NewEncoder(s.Out)
		enc.Encode(n)
	} else {
		fmt.Fprintf(s.Out, "%d files, %d events read; %d accepted, %d rejected, %d bad lines, %d not delivered; %d alerts; %s, %.0f events/s\n",
			n.Files, n.Events, n.Accepted, n.Rejected, n.BadLines, n.Undelivered, n.Alerts, elapsed.Round(time.Millisecond), n.EventsPerSec)
	}
	if parent.Err() != nil {
		fmt.Fprintf(s.Err, "vigil ingest: interrupted; %d events not delivered (running again sends them, and nothing twice)\n", n.Undelivered)
		return exitFail
	}
	if cause := context.Cause(ctx); cause != nil {
		fmt.Fprintf(s.Err, "vigil ingest: stopped: %v\n", cause)
		return exitFail
	}
	switch {
	case n.Unreadable > 0:
		fmt.Fprintf(s.Err, "vigil ingest: %d inputs could not be read\n", n.Unreadable)
		return exitFail
	case n.Undelivered > 0:
		fmt.Fprintf(s.Err, "vigil ingest: %d events were not delivered\n", n.Undelivered)
		return exitFail
	case n.Rejected > 0 || n.BadLines > 0:
		return exitFail
	}
	return exitOK
}

// countListed counts the listed rejections that name a line of the batch.
func countListed(rs []client.Rejected, n int) int {
	c := 0
	for _, r := range rs {
		if r.Line >= 1 && r.Line <= n {
			c++
		}
	}
	return c
}

// ingestProgress prints files done, events acknowledged and the rate on
// stderr every second: overwriting one line on a terminal, a line each
// otherwise (--progress into a log).
type ingestProgress struct {
	w        io.Writer
	on, tty  bool
	total    int
	done     atomic.Int64
	read     *atomic.Int64
	accepted *atomic.Int64
	quit     chan struct{}
	wg       sync.WaitGroup
	began    time.Time
}

func newIngestProgress(w io.Writer, on, tty bool, total int, read, accepted *atomic.Int64) *ingestProgress {
	return &ingestProgress{w: w, on: on, tty: tty, total: total, read: read, accepted: accepted, quit: make(chan struct{})}
}

func (p *ingestProgress) start() {
	p.began = time.Now()
	if !p.on {
		return
	}
	p.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				if p.tty {
					fmt.Fprint(p.w, "\r\x1b[K")
				}
				return
			case <-t.C:
				n := p.accepted.Load()
				line := fmt.Sprintf("files %d/%d, %d events read, %d acknowledged, %.0f events/s",
					p.done.Load(), p.total, p.read.Load(), n, float64(n)/time.Since(p.began).Seconds())
				if p.tty {
					fmt.Fprint(p.w, "\r\x1b[K"+line)
				} else {
					fmt.Fprintln(p.w, line)
				}
			}
		}
	})
}

func (p *ingestProgress) fileDone() { p.done.Add(1) }

func (p *ingestProgress) stop() {
	if p.on {
		close(p.quit)
		p.wg.Wait()
	}
}
