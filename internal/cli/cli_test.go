package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run calls Main in-process, as the binary would, and returns its outputs.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

const (
	fixtureRules  = "testdata/detect/rules"
	fixtureEvents = "testdata/detect/events"
)

type jsonHit struct {
	RuleID    string         `json:"rule_id"`
	RuleTitle string         `json:"rule_title"`
	Level     string         `json:"level"`
	Kind      string         `json:"kind"`
	Source    string         `json:"source"`
	Host      string         `json:"host"`
	Matched   []string       `json:"matched"`
	Event     map[string]any `json:"event"`
	Count     int            `json:"count"`
}

func parseHits(t *testing.T, out string) []jsonHit {
	t.Helper()
	var hits []jsonHit
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var h jsonHit
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("output line is not JSON: %v\n%s", err, line)
		}
		hits = append(hits, h)
	}
	return hits
}

func TestDetectJSONL(t *testing.T) {
	code, out, errOut := run(t, "detect", "--rules", fixtureRules, "--format", "jsonl", fixtureEvents)
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (a bad line is not an unreadable input)\nstderr:\n%s", code, errOut)
	}
	hits := parseHits(t, out)
	got := map[string]int{}
	for _, h := range hits {
		got[h.RuleTitle]++
		if h.RuleID == "" || h.Level == "" || h.Source == "" || len(h.Event) == 0 {
			t.Errorf("detection lacks a contract field: %+v", h)
		}
	}
	want := map[string]int{
		"3CX Desktop App Spawns Shell": 1, // only the cmd.exe child of 3CX
		"3CX C2 Domain Queried":        2, // normalised event + the good line around a bad one
		// "Whoami Execution" is referenced by a correlation without
		// generate: true, so its own matches are evidence only.
		"Many Whoami Executions": 1, // fires once for three in 5m
	}
	for title, n := range want {
		if got[title] != n {
			t.Errorf("%q: %d detections, want %d (all: %v)", title, got[title], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("unexpected rules matched: %v", got)
	}
	for _, h := range hits {
		if h.RuleTitle == "3CX Desktop App Spawns Shell" {
			if h.Host != "WS-01" || h.Event["Image"] != `C:\Windows\System32\cmd.exe` {
				t.Errorf("3CX shell hit has wrong event: %+v", h)
			}
			if !contains(h.Matched, "ParentImage") || !contains(h.Matched, "Image") {
				t.Errorf("matched fields = %v, want Image and ParentImage", h.Matched)
			}
		}
		if h.Kind == "correlation" && h.Count != 3 {
			t.Errorf("correlation count = %d, want 3", h.Count)
		}
	}
	for _, want := range []string{"mixed.jsonl", "line 2", "3 rules", "9 events", "4 detections by 3 rules", "bad lines were skipped"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestDetectFiltersAndFormats(t *testing.T) {
	t.Run("min-level", func(t *testing.T) {
		_, out, _ := run(t, "detect", "--rules", fixtureRules, "--format", "jsonl", "--min-level", "high", fixtureEvents)
		for _, h := range parseHits(t, out) {
			if h.Level != "high" && h.Level != "critical" {
				t.Errorf("level %s passed --min-level high", h.Level)
			}
		}
	})
	t.Run("rule-id", func(t *testing.T) {
		_, out, _ := run(t, "detect", "--rules", fixtureRules, "--format", "jsonl", "--rule-id", "22222222-2222-4222-8222-222222222222", fixtureEvents)
		hits := parseHits(t, out)
		if len(hits) != 2 {
			t.Fatalf("got %d hits, want 2", len(hits))
		}
	})
	t.Run("time window", func(t *testing.T) {
		_, out, _ := run(t, "detect", "--rules", fixtureRules, "--format", "jsonl", "--from", "2023-03-29T08:30:00Z", "--to", "2023-03-30T00:00:00Z", fixtureEvents)
		hits := parseHits(t, out)
		if len(hits) != 1 || hits[0].Host != "ws-03" {
			t.Fatalf("hits in window = %+v, want the one at 09:00", hits)
		}
	})
	t.Run("csv", func(t *testing.T) {
		code, out, _ := run(t, "detect", "--rules", fixtureRules, "--format", "csv", fixtureEvents)
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if code != exitOK || err != nil {
			t.Fatalf("exit %d, csv error %v", code, err)
		}
		if len(recs) != 5 || recs[0][0] != "time" || recs[0][3] != "rule_title" {
			t.Fatalf("csv has %d records, header %v", len(recs), recs[0])
		}
	})
	t.Run("table", func(t *testing.T) {
		_, out, _ := run(t, "detect", "--rules", fixtureRules, "--format", "table", "--stats", fixtureEvents)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[0], "TIME") || len(lines) != 5 {
			t.Fatalf("table:\n%s", out)
		}
		if !strings.Contains(out, "3CX C2 Domain Queried") {
			t.Errorf("table lacks a rule title:\n%s", out)
		}
	})
	t.Run("stats", func(t *testing.T) {
		_, _, errOut := run(t, "detect", "--rules", fixtureRules, "--format", "csv", "--stats", fixtureEvents)
		if !strings.Contains(errOut, "HITS") || !strings.Contains(errOut, "44444444-4444-4444-8444-444444444444") ||
			!strings.Contains(errOut, "full evaluations") || !strings.Contains(errOut, "EVALUATED") {
			t.Errorf("--stats output missing:\n%s", errOut)
		}
	})
}

func TestDetectUnreadableInput(t *testing.T) {
	code, out, errOut := run(t, "detect", "--rules", fixtureRules, "--format", "jsonl",
		filepath.Join(fixtureEvents, "normalised.jsonl"), "testdata/no/such/file.evtx")
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	if n := len(parseHits(t, out)); n != 1 {
		t.Errorf("the readable input gave %d hits, want 1", n)
	}
	if !strings.Contains(errOut, "no/such/file.evtx") {
		t.Errorf("stderr does not name the missing file:\n%s", errOut)
	}
	// A file named directly in no known format is an error too.
	junk := filepath.Join(t.TempDir(), "junk.log")
	os.WriteFile(junk, []byte("GET / HTTP/1.1\n"), 0o644)
	if code, _, errOut := run(t, "detect", "--rules", fixtureRules, junk); code != exitFail || !strings.Contains(errOut, "unrecognised file format") {
		t.Errorf("junk file: exit %d, stderr %s", code, errOut)
	}
}

func TestDetectUsage(t *testing.T) {
	for _, args := range [][]string{
		{"detect", fixtureEvents},
		{"detect", "--rules", fixtureRules},
		{"detect", "--rules", fixtureRules, "--format", "xml", fixtureEvents},
		{"detect", "--rules", fixtureRules, "--min-level", "severe", fixtureEvents},
		{"nosuchcommand"},
	} {
		if code, _, errOut := run(t, args...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want usage error", args, code, errOut)
		}
	}
}

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"proc_3cx.yml", "whoami.yml"} {
		data, _ := os.ReadFile(filepath.Join(fixtureRules, name))
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	broken, _ := os.ReadFile(filepath.Join(fixtureRules, "broken.yml.txt"))
	os.WriteFile(filepath.Join(dir, "broken.yml"), broken, 0o644)

	code, out, _ := run(t, "rules", "check", "--json", dir)
	if code != exitFail {
		t.Fatalf("exit %d, want 1 with a broken rule", code)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Total != 3 || rep.OK != 2 || rep.Failed != 1 || rep.Correlations != 1 || len(rep.Errors) != 2 {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Errors) == 0 || filepath.Base(rep.Errors[0].Path) != "broken.yml" {
		t.Fatalf("errors = %+v", rep.Errors)
	}
	var msgs []string
	for _, e := range rep.Errors {
		msgs = append(msgs, e.Error)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"nosuchmodifier", "missing"} {
		if !strings.Contains(all, want) {
			t.Errorf("errors do not mention %q:\n%s", want, all)
		}
	}

	os.Remove(filepath.Join(dir, "broken.yml"))
	code, out, _ = run(t, "rules", "check", dir)
	if code != exitOK || !strings.Contains(out, "2 files: 2 ok, 0 failed") {
		t.Errorf("exit %d, output %q", code, out)
	}
}
