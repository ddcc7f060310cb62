package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/store"
)

// benchEvents makes n realistic Sysmon-like events starting at start, one
// millisecond apart, with ids prefixed by prefix.
func benchEvents(prefix string, start time.Time, n int, rng *rand.Rand) []*event.Event {
	images := []string{`C:\Windows\System32\svchost.exe`, `C:\Program Files\3CXDesktopApp\3CXDesktopApp.exe`,
		`C:\Windows\explorer.exe`, `C:\Program Files\Google\Chrome\Application\chrome.exe`, `C:\Windows\System32\cmd.exe`}
	out := make([]*event.Event, n)
	for i := range out {
		img := images[rng.IntN(len(images))]
		host := fmt.Sprintf("ws-%03d", rng.IntN(200))
		e := &event.Event{
			ID:        fmt.Sprintf("%s-%08d", prefix, i),
			Time:      start.Add(time.Duration(i) * time.Millisecond),
			Host:      host,
			Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
			Source:    "bench",
			Fields: []event.Field{
				{Name: "EventID", Value: event.NumText("1", 1)},
				{Name: "UtcTime", Value: event.S(start.Format("2006-01-02 15:04:05.000"))},
				{Name: "ProcessGuid", Value: event.S(fmt.Sprintf("{%08x-1234-5678-9abc-def012345678}", rng.Uint32()))},
				{Name: "ProcessId", Value: event.N(float64(rng.IntN(60000)))},
				{Name: "Image", Value: event.S(img)},
				{Name: "CommandLine", Value: event.S(fmt.Sprintf(`"%s" --type=renderer --field-trial-handle=%d`, img, rng.IntN(1<<20)))},
				{Name: "CurrentDirectory", Value: event.S(`C:\Users\alice\`)},
				{Name: "User", Value: event.S(`CORP\alice`)},
				{Name: "IntegrityLevel", Value: event.S("Medium")},
				{Name: "Hashes", Value: event.S(fmt.Sprintf("SHA256=%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64()))},
				{Name: "ParentImage", Value: event.S(`C:\Windows\explorer.exe`)},
				{Name: "ParentCommandLine", Value: event.S(`C:\Windows\Explorer.EXE`)},
			},
		}
		out[i] = e
	}
	return out
}

// BenchmarkAppendEvents stores batches of fresh events at the sizes the
// server passes: single ingest calls (1,000) and group commits (up to
// 20,000). Besides wall time it reports the process's CPU time (user+system,
// DuckDB's threads included) per stored event, measured around each
// AppendEvents call only, because on a shared machine wall time says little.
//
// The late variant sends each batch an hour before everything stored, as a
// sender catching up on its spool does: the recent-id filter cannot vouch
// for such events, so every id goes through the stored-id query.
func BenchmarkAppendEvents(b *testing.B) {
	for _, batch := range []int{1000, 5000, 20000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchAppend(b, batch, false) })
	}
	b.Run("batch=5000-late", func(b *testing.B) { benchAppend(b, 5000, true) })
}

func benchAppend(b *testing.B, batch int, late bool) {
	dir := b.TempDir()
	s := openTest(b, dir)
	defer func() { s.Close() }()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	// Pre-build a few batches outside the timer; each iteration stores one
	// of them under fresh ids, so every iteration really stores.
	batches := make([][]*event.Event, 0, 4)
	for i := range cap(batches) {
		batches = append(batches, benchEvents(fmt.Sprintf("b%d", i), start.Add(time.Duration(i)*time.Second), batch, rng))
	}
	var size int64
	for _, e := range batches[0] {
		js, _ := e.MarshalJSON()
		size += int64(len(js))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	i := 0
	if late {
		// Store the batches once and reopen: the filter then starts past
		// them, and every later (earlier-dated) batch is below its cutoff.
		for _, evs := range batches {
			if _, err := s.AppendEvents(ctx, evs); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		s = openTest(b, dir)
		i = len(batches)
	}
	var cpu time.Duration
	for b.Loop() {
		evs := batches[i%len(batches)]
		if i >= len(batches) {
			b.StopTimer()
			for j, e := range evs {
				e.ID = "r" + strconv.Itoa(i) + "-" + strconv.Itoa(j)
				if late {
					e.Time = e.Time.Add(-time.Hour)
				} else {
					e.Time = e.Time.Add(time.Duration(batch) * time.Millisecond)
				}
			}
			b.StartTimer()
		}
		before := processCPU(b)
		n, err := s.AppendEvents(ctx, evs)
		cpu += processCPU(b) - before
		if err != nil {
			b.Fatal(err)
		}
		if n != batch {
			b.Fatalf("stored %d, want %d", n, batch)
		}
		i++
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*batch), "cpu-us/event")
}

// processCPU is the process's user plus system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadMillion fills a store with 1,000,000 events spread over 10 days.
func loadMillion(b *testing.B, s *DB) time.Time {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	start := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	const total, batch = 1_000_000, 10_000
	for i := 0; i < total; i += batch {
		evs := benchEvents(fmt.Sprintf("m%d", i), start.Add(time.Duration(i)*864*time.Millisecond), batch, rng)
		// Spread each batch's 10k events over its share of ten days.
		for j, e := range evs {
			e.Time = start.Add(time.Duration(i+j) * 864 * time.Millisecond)
		}
		if _, err := s.AppendEvents(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	return start
}

func BenchmarkSearchEvents(b *testing.B) {
	if testing.Short() {
		b.Skip("loads 1,000,000 events")
	}
	s := openTest(b, b.TempDir())
	defer s.Close()
	start := loadMillion(b, s)
	ctx := context.Background()
	cases := []struct {
		name string
		q    store.EventQuery
	}{
		{"range1h+hot", store.EventQuery{Range: store.TimeRange{From: start.Add(100 * time.Hour), To: start.Add(101 * time.Hour)},
			Where: store.Compare{Field: "Image", Op: store.OpWildcard, Value: `*\3CXDesktopApp.exe`}}},
		{"range1d+json", store.EventQuery{Range: store.TimeRange{From: start.Add(48 * time.Hour), To: start.Add(72 * time.Hour)},
			Where: store.Compare{Field: "IntegrityLevel", Op: store.OpEq, Value: "high"}}},
		{"all+hot+host", store.EventQuery{Where: store.And{store.Compare{Field: "host", Op: store.OpEq, Value: "ws-007"},
			store.Compare{Field: "CommandLine", Op: store.OpContains, Value: "renderer"}}}},
		{"all+freetext", store.EventQuery{Where: store.Compare{Op: store.OpContains, Value: "deadbeef"}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SearchEvents(ctx, c.q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
		})
	}
	b.Run("histogram10d", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Histogram(ctx, store.EventQuery{}, 100); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	})
}
