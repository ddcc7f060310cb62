// Command detect prints the figures the "Sigma detection engine" issue asks
// for: the engine's single-core throughput on synthetic process-creation
// events against every SigmaHQ process_creation rule (with a naive
// no-index baseline measured in the same run), and the end-to-end
// `vigil detect` throughput over the shared EVTX corpus with every SigmaHQ
// Windows rule on all cores.
//
// It is a program rather than a `go test -bench` because the EVTX figure
// runs the real command in-process and needs the median of several runs;
// it prints plain aligned text meant to be pasted into a note.
package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigilsoc/vigil/internal/cli"
	"github.com/vigilsoc/vigil/internal/detect"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/evtx"
	"github.com/vigilsoc/vigil/internal/ingest"
	"github.com/vigilsoc/vigil/internal/ingest/winevent"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/engine"
	"github.com/vigilsoc/vigil/internal/sigma/synth"
)

// Targets from the issue.
const (
	targetEventsPerSec = 300_000
	targetEVTXMBps     = 20
)

type options struct {
	corpus         string
	passes         int
	events         int
	baselineEvents int
	runs           int
	only           string
	cpuProfile     string
}

func main() {
	var o options
	defCorpus := os.Getenv("VIGIL_CORPUS")
	if defCorpus == "" {
		defCorpus = filepath.Join("..", "shared", "corpus")
	}
	flag.StringVar(&o.corpus, "corpus", defCorpus, "shared corpus directory (sigma/, evtx/); default $VIGIL_CORPUS or ../shared/corpus")
	flag.IntVar(&o.passes, "passes", 5, "engine: passes over the synthetic events")
	flag.IntVar(&o.events, "events", 200_000, "engine: synthetic events per pass")
	flag.IntVar(&o.baselineEvents, "baseline-events", 5_000, "engine: events fed to the naive baselines (they are slow)")
	flag.IntVar(&o.runs, "runs", 3, "evtx: runs; the median is printed")
	flag.StringVar(&o.only, "only", "", "run only one part: engine or evtx")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	flag.Parse()
	if o.only != "" && o.only != "engine" && o.only != "evtx" {
		fmt.Fprintf(os.Stderr, "bench/detect: -only %q: want engine or evtx\n", o.only)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench/detect: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("%-40s %s\n", "corpus", o.corpus)
	fmt.Printf("%-40s %s, %d CPUs, %s/%s\n", "go", runtime.Version(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	if o.only == "" || o.only == "engine" {
		if err := benchEngine(o); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
	}
	if o.only == "" || o.only == "evtx" {
		if err := benchEVTX(ctx, o); err != nil {
			return fmt.Errorf("evtx: %w", err)
		}
	}
	return nil
}

// row prints one figure: a label padded so that values line up.
func row(label, format string, args ...any) {
	fmt.Printf("%-40s %s\n", label, fmt.Sprintf(format, args...))
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

// loadavg is the 1/5/15-minute load average; the machine is shared, so
// every section records how busy it was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuTime is the process's user+system CPU time. On a loaded machine the
// wall-clock rate understates what a dedicated core does; the CPU-time rate
// is printed beside it (with GOMAXPROCS 1 it includes the GC's work).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchEngine(o options) error {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)

	fmt.Printf("\n== engine: one core, windows/process_creation rules, synthetic Sysmon events (load %s)\n", loadavg())
	dir := filepath.Join(o.corpus, "sigma", "rules", "windows", "process_creation")
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("rules: %w (set -corpus or VIGIL_CORPUS)", err)
	}
	t0 := time.Now()
	coll := sigma.LoadPaths(dir)
	eng, compileErrs := engine.New(engine.Config{}, coll)
	loadTime := time.Since(t0)
	st := eng.Stats()
	row("rules loaded", "%d (%d parse errors, %d compile errors, %s to load and compile)", st.Rules, len(coll.Errors), len(compileErrs), loadTime.Round(time.Millisecond))
	row("rules indexed / always evaluated", "%d / %d", st.Indexed, st.Always)

	evs := synth.ProcessCreation(o.events, 1)
	// One untimed pass builds the log source's route and tells how much
	// of the traffic matches.
	matchedEvents, matchesPerPass := 0, 0
	for _, ev := range evs {
		n := 0
		eng.Match(ev, func(*sigma.Rule) { n++ })
		matchesPerPass += n
		if n > 0 {
			matchedEvents++
		}
	}
	row("events per pass x passes", "%d x %d (synth.ProcessCreation seed 1)", len(evs), o.passes)
	row("matches per 1,000 events", "%.1f (%.1f%% of events match at least one rule)", 1000*float64(matchesPerPass)/float64(len(evs)), 100*float64(matchedEvents)/float64(len(evs)))

	count := 0
	fn := func(*sigma.Rule) { count++ }
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	start := time.Now()
	for range o.passes {
		for _, ev := range evs {
			eng.Match(ev, fn)
		}
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	total := float64(o.passes * len(evs))
	if count != o.passes*matchesPerPass {
		return fmt.Errorf("timed passes found %d matches, want %d: the engine is not deterministic", count, o.passes*matchesPerPass)
	}
	rate := total / wall.Seconds()
	row("engine events/s (wall)", "%.0f  target >= %d: %s", rate, targetEventsPerSec, verdict(rate >= targetEventsPerSec))
	row("engine events/s (CPU time)", "%.0f  (%.2fs CPU over %.2fs wall)", total/cpu.Seconds(), cpu.Seconds(), wall.Seconds())
	row("engine ns/event (wall)", "%.0f", float64(wall.Nanoseconds())/total)
	row("engine allocs/event", "%.3f  (%.1f B/event)", float64(ms1.Mallocs-ms0.Mallocs)/total, float64(ms1.TotalAlloc-ms0.TotalAlloc)/total)

	return engineBaselines(o, coll, eng, evs, rate)
}

// engineBaselines measures what the literal index saves, on the first
// baselineEvents events. The engine has no switch to turn its index off, so
// two honest stand-ins bracket "every rule on every event":
//
//   - explain: (*Engine).Explain for every rule on every event. It walks each
//     rule's full condition tree with the same compiled matchers and no
//     index, but as written (not cheapest-first) and without short-circuit
//     in OR, so it overstates the naive cost somewhat.
//   - per-rule engines: one Engine per rule, every engine's Match called on
//     every event. Each still runs its own rule's literal prefilter (an
//     automaton scan per rule and event) before evaluating, so it understates
//     the naive cost; what it does not have is one index shared by all rules.
//
// Both must find exactly the engine's matches; the bench fails otherwise.
func engineBaselines(o options, coll *sigma.Collection, eng *engine.Engine, evs []*event.Event, engineRate float64) error {
	n := min(o.baselineEvents, len(evs))
	if n == 0 {
		return nil
	}
	sample := evs[:n]
	want := 0
	for _, ev := range sample {
		eng.Match(ev, func(*sigma.Rule) { want++ })
	}
	rules := eng.Rules()

	got := 0
	cpu0 := cpuTime()
	start := time.Now()
	for _, ev := range sample {
		for _, r := range rules {
			if eng.Explain(r, ev) != nil {
				got++
			}
		}
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	rate := float64(n) / wall.Seconds()
	row("baseline explain events/s (wall)", "%.0f  (%.0f per CPU-s; %d events; speed-up %.1fx)", rate, float64(n)/cpu.Seconds(), n, engineRate/rate)
	if got != want {
		return fmt.Errorf("explain baseline found %d matches over %d events, the engine %d", got, n, want)
	}

	t0 := time.Now()
	single := make([]*engine.Engine, 0, len(rules))
	for _, r := range rules {
		e, errs := engine.New(engine.Config{}, &sigma.Collection{Rules: []*sigma.Rule{r}, Filters: coll.Filters})
		if len(errs) > 0 {
			return fmt.Errorf("rule %s compiles alone with errors: %v", r.Path, errs[0])
		}
		single = append(single, e)
	}
	build := time.Since(t0)
	got = 0
	fn := func(*sigma.Rule) { got++ }
	for _, e := range single { // build every route outside the timing
		e.Match(sample[0], func(*sigma.Rule) {})
	}
	cpu0 = cpuTime()
	start = time.Now()
	for _, ev := range sample {
		for _, e := range single {
			e.Match(ev, fn)
		}
	}
	wall, cpu = time.Since(start), cpuTime()-cpu0
	rate = float64(n) / wall.Seconds()
	row("baseline per-rule engines events/s", "%.0f  (%.0f per CPU-s; %d engines built in %s; speed-up %.1fx)", rate, float64(n)/cpu.Seconds(), len(single), build.Round(time.Millisecond), engineRate/rate)
	if got != want {
		return fmt.Errorf("per-rule baseline found %d matches over %d events, the engine %d", got, n, want)
	}
	row("baselines agree with engine", "yes (%d matches over %d events)", want, n)
	return nil
}

// evtxRun is one run's figures: wall and CPU time of each part.
type evtxRun struct {
	total, load, readMatch, reader             time.Duration
	totalCPU, loadCPU, readMatchCPU, readerCPU time.Duration
	detections, matchEvents, matches           int
	readerRecords, corrupt                     int
}

func benchEVTX(ctx context.Context, o options) error {
	runtime.GOMAXPROCS(runtime.NumCPU())
	fmt.Printf("\n== evtx: vigil detect --format jsonl over the EVTX corpus, every windows rule, %d cores (load %s)\n", runtime.GOMAXPROCS(0), loadavg())
	rulesDir := filepath.Join(o.corpus, "sigma", "rules", "windows")
	evtxDir := filepath.Join(o.corpus, "evtx")
	var files []string
	var size int64
	err := filepath.WalkDir(evtxDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".evtx") {
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, p)
			size += info.Size()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing %s: %w (set -corpus or VIGIL_CORPUS)", evtxDir, err)
	}
	if len(files) == 0 {
		return fmt.Errorf("no .evtx files under %s", evtxDir)
	}
	row("input", "%d .evtx files, %.2f MB (%d bytes)", len(files), float64(size)/1e6, size)

	var runs []evtxRun
	for i := range o.runs {
		r, err := evtxOnce(ctx, rulesDir, evtxDir, files)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		row(fmt.Sprintf("run %d", i+1), "total %s, rules %s, read+match %s, reader %s (load %s)",
			r.total.Round(time.Millisecond), r.load.Round(time.Millisecond), r.readMatch.Round(time.Millisecond), r.reader.Round(time.Millisecond), loadavg())
	}
	med := func(get func(evtxRun) time.Duration) time.Duration {
		d := make([]time.Duration, len(runs))
		for i, r := range runs {
			d[i] = get(r)
		}
		slices.Sort(d)
		return d[len(d)/2]
	}
	mb := float64(size) / 1e6
	records := runs[0].readerRecords
	// figure prints a wall time with its throughput, and the CPU time it
	// took: on a loaded machine the CPU time is the steadier figure.
	figure := func(label string, wall, cpu time.Duration, target float64) {
		rate := mb / wall.Seconds()
		text := fmt.Sprintf("%-8s %6.1f MB/s %8.0f events/s   CPU %s (%.1f MB per CPU-s)",
			wall.Round(time.Millisecond), rate, float64(records)/wall.Seconds(), cpu.Round(time.Millisecond), mb/cpu.Seconds())
		if target > 0 {
			text += fmt.Sprintf("  target >= %.0f MB/s: %s", target, verdict(rate >= target))
		}
		row(label, "%s", text)
	}
	fmt.Printf("-- median of %d runs\n", len(runs))
	row("events (records read)", "%d (%d corrupt records/chunks reported)", records, runs[0].corrupt)
	row("detections (vigil detect output lines)", "%d (read+match found %d matches on %d events)", runs[0].detections, runs[0].matches, runs[0].matchEvents)
	row("rules load+compile", "%-8s CPU %s (sigma.LoadPaths + detect.New)", med(func(r evtxRun) time.Duration { return r.load }).Round(time.Millisecond), med(func(r evtxRun) time.Duration { return r.loadCPU }).Round(time.Millisecond))
	figure("vigil detect total", med(func(r evtxRun) time.Duration { return r.total }), med(func(r evtxRun) time.Duration { return r.totalCPU }), targetEVTXMBps)
	figure("read+match (rules compiled)", med(func(r evtxRun) time.Duration { return r.readMatch }), med(func(r evtxRun) time.Duration { return r.readMatchCPU }), targetEVTXMBps)
	figure("evtx reader alone", med(func(r evtxRun) time.Duration { return r.reader }), med(func(r evtxRun) time.Duration { return r.readerCPU }), 0)
	return nil
}

// lineCounter counts the JSON lines `vigil detect` writes: one per detection.
type lineCounter struct{ n int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// evtxOnce measures, one after the other: the whole command in-process;
// loading and compiling the rules alone; reading and matching with those
// rules (the command's own building blocks, ingest.Reader and
// detect.Runner, files shared among GOMAXPROCS workers as the command does,
// output not written); and the EVTX decoder alone.
func evtxOnce(ctx context.Context, rulesDir, evtxDir string, files []string) (evtxRun, error) {
	var r evtxRun
	runtime.GC()
	var out lineCounter
	var stderr bytes.Buffer
	cpu0, t0 := cpuTime(), time.Now()
	code := cli.Main(ctx, []string{"detect", "--format", "jsonl", "--rules", rulesDir, evtxDir}, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &stderr})
	r.total, r.totalCPU = time.Since(t0), cpuTime()-cpu0
	if code != 0 {
		return r, fmt.Errorf("vigil detect exited %d:\n%s", code, tail(stderr.String(), 2000))
	}
	r.detections = out.n

	runtime.GC()
	cpu0, t0 = cpuTime(), time.Now()
	coll := sigma.LoadPaths(rulesDir)
	runner, _, err := detect.New(detect.Config{Rules: coll, Explain: true})
	if err != nil {
		return r, fmt.Errorf("compiling %s: %w", rulesDir, err)
	}
	r.load, r.loadCPU = time.Since(t0), cpuTime()-cpu0
	if len(runner.Engine().Rules()) == 0 {
		return r, fmt.Errorf("no rules under %s", rulesDir)
	}

	runtime.GC()
	cpu0, t0 = cpuTime(), time.Now()
	if err := readAndMatch(ctx, runner, files, &r); err != nil {
		return r, err
	}
	r.readMatch, r.readMatchCPU = time.Since(t0), cpuTime()-cpu0

	runtime.GC()
	dc := evtx.NewDecoder(evtx.Options{})
	cpu0, t0 = cpuTime(), time.Now()
	for _, f := range files {
		st, err := dc.DecodeFile(ctx, f, func(*winevent.Record) error { return nil })
		if err != nil && !errors.Is(err, evtx.ErrNotEVTX) {
			return r, err
		}
		r.readerRecords += st.Records
		r.corrupt += st.Corrupt
	}
	r.reader, r.readerCPU = time.Since(t0), cpuTime()-cpu0
	return r, nil
}

// readAndMatch reads every file and matches its events the way `vigil
// detect` does: workers take whole files, and with fewer files than cores
// an EVTX file's chunks are decoded in parallel.
func readAndMatch(ctx context.Context, runner *detect.Runner, files []string, r *evtxRun) error {
	workers := runtime.GOMAXPROCS(0)
	reader, err := ingest.New(ingest.Config{EVTXWorkers: max(1, workers/len(files))})
	if err != nil {
		return err
	}
	var (
		next            atomic.Int64
		events, matches atomic.Int64
		wg              sync.WaitGroup
		errMu           sync.Mutex
		firstErr        error
	)
	for range min(workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				_, err := reader.ReadFile(ctx, files[i], func(ev *event.Event) error {
					events.Add(1)
					runner.Match(ev, func(*detect.Detection) { matches.Add(1) })
					return nil
				})
				if err != nil {
					errMu.Lock()
					firstErr = cmp.Or(firstErr, err)
					errMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	runner.Flush(func(*detect.Detection) { matches.Add(1) })
	r.matchEvents, r.matches = int(events.Load()), int(matches.Load())
	return firstErr
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
