package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsoc/vigil/internal/detect"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/fieldmap"
	"github.com/vigilsoc/vigil/internal/ingest"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/engine"
)

const detectSynopsis = "vigil detect --rules PATH [--rules PATH ...] [--format jsonl|table|csv] [options] INPUT..."

type detectOptions struct {
	rules        stringList
	format       string
	minLevel     string
	from, to     string
	ruleIDs      stringList
	placeholders stringList
	stats        bool
	progress     bool
	workers      int
	quiet        bool
}

func runDetect(ctx context.Context, args []string, s Stdio) int {
	var o detectOptions
	fs := newFlagSet("detect", detectSynopsis, s)
	fs.Var(&o.rules, "rules", "Sigma rule file or directory (repeatable)")
	fs.StringVar(&o.format, "format", "", "output format: jsonl, table or csv (default: table on a terminal, jsonl otherwise)")
	fs.StringVar(&o.minLevel, "min-level", "", "only detections at or above this level: informational, low, medium, high, critical")
	fs.StringVar(&o.from, "from", "", "only events at or after this time (RFC 3339, or a duration ago such as 72h)")
	fs.StringVar(&o.to, "to", "", "only events before this time (RFC 3339, or a duration ago)")
	fs.Var(&o.ruleIDs, "rule-id", "only this rule id or name (repeatable)")
	fs.Var(&o.placeholders, "placeholder", "value list for an expand placeholder: name=v1,v2 (repeatable)")
	fs.BoolVar(&o.stats, "stats", false, "print per-rule hit counts and the costliest rules' evaluation time on stderr")
	fs.BoolVar(&o.progress, "progress", false, "print progress on stderr even when it is not a terminal")
	fs.BoolVar(&o.quiet, "quiet", false, "no summary or progress on stderr")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "files read and matched in parallel")
	inputs, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if err := o.validate(inputs); err != nil {
		fmt.Fprintf(s.Err, "vigil detect: %v\n", err)
		fs.Usage()
		return exitUsage
	}
	return detectMain(ctx, o, inputs, s)
}

func (o *detectOptions) validate(inputs []string) error {
	var errs []error
	if len(o.rules) == 0 {
		errs = append(errs, errors.New("--rules is required"))
	}
	if len(inputs) == 0 {
		errs = append(errs, errors.New("no input files or directories given"))
	}
	if o.minLevel != "" {
		if _, ok := detect.ParseLevel(o.minLevel); !ok {
			errs = append(errs, fmt.Errorf("--min-level %q: want informational, low, medium, high or critical", o.minLevel))
		}
	}
	switch o.format {
	case "", "jsonl", "json", "table", "csv":
	default:
		errs = append(errs, fmt.Errorf("--format %q: want jsonl, table or csv", o.format))
	}
	for _, p := range o.placeholders {
		if !strings.Contains(p, "=") {
			errs = append(errs, fmt.Errorf("--placeholder %q: want name=value[,value...]", p))
		}
	}
	if o.workers < 1 {
		errs = append(errs, errors.New("--workers must be at least 1"))
	}
	return errors.Join(errs...)
}

// timeBound reads an RFC 3339 time or a duration meaning that long ago.
func timeBound(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err == nil {
			return now.AddDate(0, 0, -days), nil
		}
	}
	return event.ParseTime(s)
}

// fileResult is one input's detections, held until the files before it are
// written so that output follows input order whatever the parallelism.
type fileResult struct {
	stats      ingest.FileStats
	detections []*detect.Detection
	err        error
}

func detectMain(ctx context.Context, o detectOptions, inputs []string, s Stdio) int {
	start := time.Now()
	from, err := timeBound(o.from, start)
	if err != nil {
		fmt.Fprintf(s.Err, "vigil detect: --from: %v\n", err)
		return exitUsage
	}
	to, err := timeBound(o.to, start)
	if err != nil {
		fmt.Fprintf(s.Err, "vigil detect: --to: %v\n", err)
		return exitUsage
	}
	minLevel, _ := detect.ParseLevel(o.minLevel)

	maps, err := fieldmap.New(fieldmap.Config{})
	if err != nil {
		fmt.Fprintf(s.Err, "vigil detect: %v\n", err)
		return exitFail
	}
	coll := sigma.LoadPaths(o.rules...)
	runner, compileErrs, err := detect.New(detect.Config{
		Rules: coll, Placeholders: parsePlaceholders(o.placeholders), MinLevel: minLevel,
		RuleIDs: o.ruleIDs, Explain: true, CategoryMatches: maps.CategoryMatches, Profile: o.stats,
	})
	if err != nil {
		fmt.Fprintf(s.Err, "vigil detect: %v\n", err)
		return exitFail
	}
	ruleErrs := len(coll.Errors) + len(compileErrs)
	nRules := len(runner.Engine().Rules())
	if nRules == 0 {
		fmt.Fprintf(s.Err, "vigil detect: no usable rules under %s (%d rule errors; run 'vigil rules check' for details)\n", strings.Join(o.rules, ", "), ruleErrs)
		return exitFail
	}
	if ruleErrs > 0 && !o.quiet {
		fmt.Fprintf(s.Err, "vigil detect: %d rule files have errors and were skipped; 'vigil rules check' lists them\n", ruleErrs)
	}

	files, pathErrs := ingest.ExpandPaths(inputs)
	failed := len(pathErrs)
	for _, e := range pathErrs {
		fmt.Fprintf(s.Err, "vigil detect: %v\n", e)
	}

	format := o.format
	if format == "" {
		format = "jsonl"
		if isTerminal(s.Out) {
			format = "table"
		}
	}
	out, err := newDetectionWriter(format, s.Out, isTerminal(s.Out), terminalWidth())
	if err != nil {
		fmt.Fprintf(s.Err, "vigil detect: %v\n", err)
		return exitUsage
	}

	var (
		recordErrs atomic.Int64
		errMu      sync.Mutex
		errShown   int
	)
	reader, err := ingest.New(ingest.Config{
		Mappings:    maps,
		EVTXWorkers: evtxWorkers(o.workers, len(files)),
		OnError: func(e error) {
			recordErrs.Add(1)
			errMu.Lock()
			defer errMu.Unlock()
			if errShown < 20 && !o.quiet {
				fmt.Fprintf(s.Err, "vigil detect: %v\n", e)
			}
			errShown++
		},
	})
	if err != nil {
		fmt.Fprintf(s.Err, "vigil detect: %v\n", err)
		return exitFail
	}

	var eventsRead, bytesRead atomic.Int64
	progress := newProgress(s.Err, !o.quiet && (o.progress || isTerminal(s.Err)), len(files), &eventsRead, &bytesRead)
	progress.start()

	// Workers take files in order; results are written in the same order.
	results := make([]chan fileResult, len(files))
	for i := range results {
		results[i] = make(chan fileResult, 1)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < o.workers && w < len(files); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) || ctx.Err() != nil {
					return
				}
				var res fileResult
				res.stats, res.err = reader.ReadFile(ctx, files[i].Path, func(ev *event.Event) error {
					eventsRead.Add(1)
					if (!from.IsZero() && ev.Time.Before(from)) || (!to.IsZero() && !ev.Time.Before(to)) {
						return nil
					}
					runner.Match(ev, func(d *detect.Detection) { res.detections = append(res.detections, d) })
					return nil
				})
				bytesRead.Add(res.stats.Bytes)
				progress.fileDone()
				results[i] <- res
			}
		}()
	}

	sum := summary{byLevel: map[detect.Level]int{}, byRule: map[string]*ruleHits{}}
	write := func(d *detect.Detection) {
		sum.add(d)
		if err := out.Write(d); err != nil && sum.writeErr == nil {
			sum.writeErr = err
		}
	}
	for i := range files {
		var res fileResult
		select {
		case res = <-results[i]:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		sum.files++
		sum.events += res.stats.Events
		switch {
		case res.err == nil:
		case files[i].Found && errors.Is(res.err, ingest.ErrUnknownFormat):
			sum.skipped = append(sum.skipped, files[i].Path)
		default:
			failed++
			fmt.Fprintf(s.Err, "vigil detect: %s: %v\n", files[i].Path, res.err)
		}
		for _, d := range res.detections {
			write(d)
		}
	}
	wg.Wait()
	runner.Flush(write)
	// End of input: close every correlation window still open.
	runner.Advance(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), write)
	progress.stop()
	if err := out.Close(); err != nil && sum.writeErr == nil {
		sum.writeErr = err
	}
	elapsed := time.Since(start)

	if ctx.Err() != nil {
		fmt.Fprintln(s.Err, "vigil detect: interrupted")
		return exitFail
	}
	if !o.quiet {
		sum.print(s.Err, nRules, len(files), bytesRead.Load(), recordErrs.Load(), elapsed)
		if o.stats {
			sum.printRules(s.Err)
			printProfile(s.Err, runner.Engine().Profile())
		}
	}
	if sum.writeErr != nil {
		fmt.Fprintf(s.Err, "vigil detect: writing output: %v\n", sum.writeErr)
		return exitFail
	}
	if failed > 0 {
		fmt.Fprintf(s.Err, "vigil detect: %d inputs could not be read\n", failed)
		return exitFail
	}
	return exitOK
}

// evtxWorkers shares the cores between files and, when there are fewer files
// than cores, the chunks inside each file.
func evtxWorkers(workers, files int) int {
	if files >= workers || files == 0 {
		return 1
	}
	return max(1, workers/files)
}

func parsePlaceholders(specs []string) map[string][]string {
	if len(specs) == 0 {
		return nil
	}
	m := map[string][]string{}
	for _, s := range specs {
		name, vals, _ := strings.Cut(s, "=")
		name = strings.Trim(name, "%")
		m[name] = append(m[name], strings.Split(vals, ",")...)
	}
	return m
}

type ruleHits struct {
	id, title string
	level     detect.Level
	hits      int
}

type summary struct {
	files, events int
	skipped       []string
	detections    int
	byLevel       map[detect.Level]int
	byRule        map[string]*ruleHits
	writeErr      error
}

func (s *summary) add(d *detect.Detection) {
	s.detections++
	s.byLevel[d.Level]++
	h := s.byRule[d.RuleID]
	if h == nil {
		h = &ruleHits{id: d.RuleID, title: d.RuleTitle, level: d.Level}
		s.byRule[d.RuleID] = h
	}
	h.hits++
}

func (s *summary) print(w io.Writer, rules, files int, bytes, recordErrs int64, elapsed time.Duration) {
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "\n%d rules, %d files, %d events, %.1f MB in %s: %.0f events/s, %.1f MB/s\n",
		rules, files, s.events, float64(bytes)/1e6, elapsed.Round(time.Millisecond),
		float64(s.events)/secs, float64(bytes)/1e6/secs)
	var parts []string
	for l := detect.LevelCritical; l >= detect.LevelUnknown; l-- {
		if n := s.byLevel[l]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", l, n))
		}
	}
	fmt.Fprintf(w, "%d detections by %d rules", s.detections, len(s.byRule))
	if len(parts) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if recordErrs > 0 {
		fmt.Fprintf(w, "%d corrupt records or bad lines were skipped\n", recordErrs)
	}
	if len(s.skipped) > 0 {
		fmt.Fprintf(w, "%d files in no known format were skipped: %s\n", len(s.skipped), strings.Join(s.skipped, ", "))
	}
}

func (s *summary) printRules(w io.Writer) {
	hits := make([]*ruleHits, 0, len(s.byRule))
	for _, h := range s.byRule {
		hits = append(hits, h)
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].hits != hits[j].hits {
			return hits[i].hits > hits[j].hits
		}
		return hits[i].id < hits[j].id
	})
	fmt.Fprintf(w, "\n%8s  %-13s  %-36s  %s\n", "HITS", "LEVEL", "RULE ID", "TITLE")
	for _, h := range hits {
		fmt.Fprintf(w, "%8d  %-13s  %-36s  %s\n", h.hits, h.level, h.id, h.title)
	}
}

// printProfile lists the rules that cost the most evaluation time: how often
// each was evaluated in full (after the literal prefilter), how often it
// matched, and the time spent.
func printProfile(w io.Writer, prof []engine.RuleProfile) {
	sort.Slice(prof, func(i, j int) bool { return prof[i].Time > prof[j].Time })
	var total time.Duration
	var evals int64
	for _, p := range prof {
		total += p.Time
		evals += p.Evaluations
	}
	fmt.Fprintf(w, "\nrule evaluation: %d full evaluations, %s in all; the costliest rules:\n", evals, total.Round(time.Microsecond))
	fmt.Fprintf(w, "%12s  %10s  %8s  %-36s  %s\n", "TIME", "EVALUATED", "MATCHED", "RULE ID", "TITLE")
	for i, p := range prof {
		if i == 20 || p.Evaluations == 0 {
			break
		}
		fmt.Fprintf(w, "%12s  %10d  %8d  %-36s  %s\n", p.Time.Round(time.Microsecond), p.Evaluations, p.Matches, p.Rule.ID, p.Rule.Title)
	}
}

// progress prints a status line on stderr every second while files are read.
type progress struct {
	w             io.Writer
	on            bool
	total         int
	done          atomic.Int64
	events, bytes *atomic.Int64
	quit          chan struct{}
	wg            sync.WaitGroup
	began         time.Time
}

func newProgress(w io.Writer, on bool, total int, events, bytes *atomic.Int64) *progress {
	return &progress{w: w, on: on, total: total, events: events, bytes: bytes, quit: make(chan struct{})}
}

func (p *progress) start() {
	p.began = time.Now()
	if !p.on {
		return
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				fmt.Fprint(p.w, "\r\x1b[K")
				return
			case <-t.C:
				secs := time.Since(p.began).Seconds()
				fmt.Fprintf(p.w, "\r\x1b[Kfiles %d/%d, %d events, %.0f events/s",
					p.done.Load(), p.total, p.events.Load(), float64(p.events.Load())/secs)
			}
		}
	}()
}

func (p *progress) fileDone() { p.done.Add(1) }

func (p *progress) stop() {
	if p.on {
		close(p.quit)
		p.wg.Wait()
	}
}

// terminalWidth reads $COLUMNS; 0 means no limit (not a terminal, or unknown).
func terminalWidth() int {
	var n int
	if _, err := fmt.Sscanf(os.Getenv("COLUMNS"), "%d", &n); err == nil && n > 40 {
		return n
	}
	return 160
}
