package rules

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/detect"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/store/sqlite"
)

const base = `title: Whoami
id: 33333333-3333-4333-8333-333333333333
logsource:
  category: process_creation
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
level: low
`

const corr = `title: Many Whoami
id: 44444444-4444-4444-8444-444444444444
correlation:
  type: event_count
  rules: [33333333-3333-4333-8333-333333333333]
  group-by: [Computer]
  timespan: 1h
  condition:
    gte: 3
level: high
`

func whoami(sec int) *event.Event {
	return &event.Event{
		Time: time.Date(2023, 3, 29, 10, 0, sec, 0, time.UTC), Host: "h1",
		Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
		Fields: []event.Field{{Name: "Image", Value: event.S(`C:\Windows\whoami.exe`)},
			{Name: "Computer", Value: event.S("h1")}},
	}
}

func detections(m *Manager, evs ...*event.Event) []*detect.Detection {
	var out []*detect.Detection
	r := m.Current()
	for _, ev := range evs {
		r.Match(ev, func(d *detect.Detection) { out = append(out, d) })
	}
	r.Flush(func(d *detect.Detection) { out = append(out, d) })
	return out
}

func TestReloadAndState(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	ruleDir := t.TempDir()
	os.WriteFile(filepath.Join(ruleDir, "base.yml"), []byte(base), 0o644)
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dataDir, "s.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := Config{Paths: []string{ruleDir}, UploadDir: filepath.Join(dataDir, "rules"), State: st, Poll: 10 * time.Millisecond}
	m, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := detections(m, whoami(1)); len(got) != 1 {
		t.Fatalf("base rule: %d detections", len(got))
	}

	// A new file in the watched directory is picked up by Run.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(runCtx); close(done) }()
	os.WriteFile(filepath.Join(ruleDir, "corr.yml"), []byte(corr), 0o644)
	deadline := time.Now().Add(10 * time.Second)
	for !hasRule(t, m, "44444444-4444-4444-8444-444444444444") {
		if time.Now().After(deadline) {
			t.Fatal("new rule file not loaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done

	// Two of three events now; the count must survive a restart.
	if got := detections(m, whoami(2), whoami(3)); len(got) != 0 {
		t.Fatalf("referenced rule without generate alerts on its own: %d", len(got))
	}
	if err := m.SaveState(ctx); err != nil {
		t.Fatal(err)
	}
	m2, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := detections(m2, whoami(4))
	if len(got) != 1 || got[0].Kind != detect.KindCorrelation || got[0].Count != 3 {
		t.Fatalf("after restart: %+v", got)
	}

	// Disabling a rule takes effect at once; an unknown id is an error.
	if err := m2.SetEnabled(ctx, "44444444-4444-4444-8444-444444444444", false); err != nil {
		t.Fatal(err)
	}
	if got := detections(m2, whoami(5)); len(got) != 1 || got[0].Kind != detect.KindSigma {
		t.Fatalf("with the correlation disabled the base rule alerts itself: %+v", got)
	}
	if err := m2.SetEnabled(ctx, "nosuch", false); err != ErrNotFound {
		t.Errorf("unknown rule: %v", err)
	}
}

func hasRule(t *testing.T, m *Manager, id string) bool {
	_, err := m.Get(context.Background(), id)
	return err == nil
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{"../../etc/passwd": "______etc_passwd", "abc-1_2": "abc-1_2", "": "rule"} {
		if got := safeFileName(in); got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
