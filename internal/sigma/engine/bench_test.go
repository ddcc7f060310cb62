package engine

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/synth"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

func processCreationEngine(b *testing.B) *Engine {
	return processCreationEngineConfig(b, Config{})
}

func processCreationEngineConfig(b *testing.B, cfg Config) *Engine {
	b.Helper()
	dir := vigiltest.Corpus(b, "sigma")
	coll := sigma.LoadPaths(filepath.Join(dir, "rules", "windows", "process_creation"))
	e, errs := New(cfg, coll)
	if len(errs) > 0 || len(coll.Errors) > 0 {
		b.Logf("%d parse and %d compile errors", len(coll.Errors), len(errs))
	}
	return e
}

// BenchmarkProcessCreation feeds synthetic Sysmon process-creation events
// (about 90% benign) through every corpus rule for that log source.
func BenchmarkProcessCreation(b *testing.B) {
	benchmarkProcessCreation(b, processCreationEngine(b))
}

// BenchmarkProcessCreationProfile is BenchmarkProcessCreation with
// Config.Profile on: the cost of per-rule accounting.
func BenchmarkProcessCreationProfile(b *testing.B) {
	benchmarkProcessCreation(b, processCreationEngineConfig(b, Config{Profile: true}))
}

func benchmarkProcessCreation(b *testing.B, e *Engine) {
	evs := synth.ProcessCreation(10000, 1)
	var bytes int64
	for _, ev := range evs {
		for _, f := range ev.Fields {
			bytes += int64(len(f.Value.Str))
		}
	}
	matched, hits := 0, 0
	for _, ev := range evs {
		n := 0
		e.Match(ev, func(*sigma.Rule) { n++ })
		hits += n
		if n > 0 {
			matched++
		}
	}
	st := e.Stats()
	b.Logf("%d rules (%d indexed, %d always evaluated); %d of %d events match (%d matches)", st.Rules, st.Indexed, st.Always, matched, len(evs), hits)
	count := 0
	fn := func(*sigma.Rule) { count++ }
	b.SetBytes(bytes / int64(len(evs)))
	b.ReportAllocs()
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		e.Match(evs[i], fn)
		i++
		if i == len(evs) {
			i = 0
		}
	}
	reportRates(b, cpu0)
}

// BenchmarkProcessCreationNoMatch measures events that match nothing, the
// common case, which must not allocate.
func BenchmarkProcessCreationNoMatch(b *testing.B) {
	e := processCreationEngine(b)
	var quiet []*event.Event
	for _, ev := range synth.ProcessCreation(5000, 2) {
		n := 0
		e.Match(ev, func(*sigma.Rule) { n++ })
		if n == 0 {
			quiet = append(quiet, ev)
		}
	}
	fn := func(*sigma.Rule) {}
	b.ReportAllocs()
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		e.Match(quiet[i], fn)
		i++
		if i == len(quiet) {
			i = 0
		}
	}
	reportRates(b, cpu0)
}

// cpuTime is the process's user+system CPU time. On a shared machine the
// wall-clock rate understates what a dedicated core does, so the
// benchmarks also report events per CPU-second (with -cpu 1 the process
// runs one goroutine; GC work is included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportRates(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	}
}

// BenchmarkProcessCreationPrefilter measures the literal index alone: the
// field table and the scan that marks candidate rules, without evaluating
// them.
func BenchmarkProcessCreationPrefilter(b *testing.B) {
	e := processCreationEngine(b)
	evs := synth.ProcessCreation(10000, 1)
	rt := e.route(evs[0].Logsource)
	bits := make([]uint64, bitSections*rt.words)
	var tab fieldTable
	var sc scanScratch
	b.ReportAllocs()
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		ev := evs[i]
		rt.mark(ev, tab.resolve(e.fields, ev), bits, &sc)
		i++
		if i == len(evs) {
			i = 0
		}
	}
	reportRates(b, cpu0)
}

// BenchmarkNewWindowsRules compiles every corpus rule for Windows, the
// start-up cost of `vigil detect`. Loading the YAML is outside the loop.
func BenchmarkNewWindowsRules(b *testing.B) {
	dir := vigiltest.Corpus(b, "sigma")
	coll := sigma.LoadPaths(filepath.Join(dir, "rules", "windows"))
	b.ReportAllocs()
	var e *Engine
	cpu0 := cpuTime()
	for b.Loop() {
		e, _ = New(Config{}, coll)
	}
	b.ReportMetric(float64(len(e.rules)), "rules")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	}
}
