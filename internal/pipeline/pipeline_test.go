package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/detect"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/store"
	"github.com/vigilsoc/vigil/internal/store/duckdb"
	"github.com/vigilsoc/vigil/internal/store/sqlite"
)

const rule = `title: Whoami
id: 33333333-3333-4333-8333-333333333333
logsource:
  category: process_creation
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
level: low
`

type fixedDetector struct{ r *detect.Runner }

func (f fixedDetector) Current() *detect.Runner { return f.r }

func newPipeline(t *testing.T, cfg Config) (*Pipeline, store.EventStore, store.StateStore) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "s.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ev, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, "e.duckdb"), Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close() })
	runner, errs, err := detect.New(detect.Config{Rules: sigma.ParseFile("r.yml", []byte(rule)), Explain: true})
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	cfg.Events, cfg.State, cfg.Detector = ev, st, fixedDetector{runner}
	return New(cfg), ev, st
}

func proc(host, image string, sec int) *event.Event {
	return &event.Event{
		Time: time.Date(2023, 3, 29, 10, 0, sec, 0, time.UTC), Host: host,
		Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
		Fields:    []event.Field{{Name: "Image", Value: event.S(image)}},
	}
}

func TestContentID(t *testing.T) {
	a, b := proc("h", `C:\a.exe`, 1), proc("h", `C:\a.exe`, 1)
	if ContentID(a) != ContentID(b) {
		t.Fatal("same content, different ids")
	}
	for name, other := range map[string]*event.Event{
		"time":  proc("h", `C:\a.exe`, 2),
		"host":  proc("h2", `C:\a.exe`, 1),
		"field": proc("h", `C:\b.exe`, 1),
	} {
		if ContentID(other) == ContentID(a) {
			t.Errorf("%s differs but the id is the same", name)
		}
	}
	// Length-prefixing keeps field boundaries: "ab"+"c" is not "a"+"bc".
	x := &event.Event{Fields: []event.Field{{Name: "ab", Value: event.S("c")}}}
	y := &event.Event{Fields: []event.Field{{Name: "a", Value: event.S("bc")}}}
	if ContentID(x) == ContentID(y) {
		t.Error("field boundaries are not part of the id")
	}
}

func TestSubmitStoresAndAlerts(t *testing.T) {
	p, evs, st := newPipeline(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	batch := []*event.Event{proc("h1", `C:\Windows\whoami.exe`, 1), proc("h1", `C:\Windows\whoami.exe`, 2), proc("h2", `C:\x.exe`, 3)}
	res, err := p.Submit(ctx, batch)
	if err != nil || res.Accepted != 3 || res.Alerts != 1 {
		t.Fatalf("Submit = %+v, %v", res, err)
	}
	page, err := st.ListAlerts(ctx, store.AlertFilter{})
	if err != nil || len(page.Alerts) != 1 {
		t.Fatalf("alerts %+v %v", page, err)
	}
	a := page.Alerts[0]
	if a.Count != 2 || a.Host != "h1" || len(a.EventIDs) != 2 || !a.Time.Equal(batch[0].Time) || a.Level != "low" {
		t.Errorf("merged alert = %+v", a)
	}
	stats, _ := evs.Stats(ctx)
	if stats.Events != 3 {
		t.Errorf("stored %d events", stats.Events)
	}
}

func TestBackpressure(t *testing.T) {
	// Run is not started, so the first batch waits in the queue holding its
	// share of the in-flight budget.
	p, _, _ := newPipeline(t, Config{MaxInFlight: 5})
	first := make(chan error, 1)
	go func() {
		_, err := p.Submit(context.Background(), []*event.Event{proc("h", "a", 1), proc("h", "b", 2), proc("h", "c", 3)})
		first <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for p.InFlight() != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("first batch never became in flight (%d)", p.InFlight())
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := p.Submit(context.Background(), []*event.Event{proc("h", "d", 4), proc("h", "e", 5), proc("h", "f", 6)}); !errors.Is(err, ErrBusy) {
		t.Fatalf("over budget: err = %v, want ErrBusy", err)
	}
	p.Close()
	if err := <-first; err == nil {
		t.Fatal("queued batch acknowledged although nothing wrote it")
	}
	if _, err := p.Submit(context.Background(), []*event.Event{proc("h", "g", 7)}); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// TestGroupCommitMergesAlerts queues batches before the writer runs, so
// one group commit takes them all: their alerts are recorded together,
// repeats across batches merged, and each batch still learns its own count.
func TestGroupCommitMergesAlerts(t *testing.T) {
	p, evs, st := newPipeline(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One batch large enough to be matched on several goroutines: its
	// detections must still come out in event order.
	var big []*event.Event
	for i := range 2 * parallelMatchMin {
		img := `C:\x.exe`
		if i%10 == 3 {
			img = `C:\Windows\whoami.exe`
		}
		big = append(big, proc("h1", img, i))
	}
	batches := [][]*event.Event{
		big,
		{proc("h1", `C:\Windows\whoami.exe`, 9999), proc("h2", `C:\Windows\whoami.exe`, 9999)},
		{proc("h3", `C:\y.exe`, 1)},
	}
	type result struct {
		res Result
		err error
	}
	results := make([]chan result, len(batches))
	total := 0
	deadline := time.Now().Add(10 * time.Second)
	for i, b := range batches {
		total += len(b)
		results[i] = make(chan result, 1)
		go func() {
			res, err := p.Submit(ctx, b)
			results[i] <- result{res, err}
		}()
		// Queue the batches in order: the group keeps queue order, and the
		// assertions below name the first batch's events first.
		for p.InFlight() != total || len(p.queue) != i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("batch %d never queued (%d of %d in flight)", i, p.InFlight(), total)
			}
			time.Sleep(time.Millisecond)
		}
	}
	go p.Run(ctx)
	wantAlerts := []int{1, 2, 0}
	for i, ch := range results {
		r := <-ch
		if r.err != nil || r.res.Accepted != len(batches[i]) || r.res.Alerts != wantAlerts[i] {
			t.Errorf("batch %d: %+v, %v; want %d accepted, %d alerts", i, r.res, r.err, len(batches[i]), wantAlerts[i])
		}
	}
	page, err := st.ListAlerts(ctx, store.AlertFilter{Host: "h1"})
	if err != nil || len(page.Alerts) != 1 {
		t.Fatalf("h1 alerts %+v %v", page, err)
	}
	a := page.Alerts[0]
	wantCount := int64(2*parallelMatchMin/10 + 1)
	if a.Count != wantCount || len(a.EventIDs) == 0 || a.EventIDs[0] != big[3].ID || !a.Time.Equal(big[3].Time) {
		t.Errorf("h1 alert count %d (want %d), first event %v (want %s), time %v", a.Count, wantCount, a.EventIDs[:min(1, len(a.EventIDs))], big[3].ID, a.Time)
	}
	if stats, _ := evs.Stats(ctx); stats.Events != int64(total) {
		t.Errorf("stored %d events, want %d", stats.Events, total)
	}
}

// failingAlerts is a state store whose alert writes fail.
type failingAlerts struct{ store.StateStore }

var errAlertsDown = errors.New("alerts down")

func (failingAlerts) UpsertAlerts(context.Context, []store.Alert, time.Duration) (int, error) {
	return 0, errAlertsDown
}

func TestAlertFailureIsNotAcknowledged(t *testing.T) {
	p, _, st := newPipeline(t, Config{})
	p.cfg.State = failingAlerts{st}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	if _, err := p.Submit(ctx, []*event.Event{proc("h1", `C:\Windows\whoami.exe`, 1)}); !errors.Is(err, errAlertsDown) {
		t.Fatalf("Submit with failing alerts: err = %v, want it to fail", err)
	}
	// A batch without detections needs no alert write and is acknowledged.
	if _, err := p.Submit(ctx, []*event.Event{proc("h1", `C:\x.exe`, 2)}); err != nil {
		t.Fatalf("Submit without detections: %v", err)
	}
}
