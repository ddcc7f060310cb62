package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

var update = flag.Bool("update", false, "rewrite testdata/cases/*/want.txt from the engine's output")

func readEvents(t testing.TB, path string) []*event.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []*event.Event
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		evs = append(evs, &ev)
	}
	return evs
}

func newEngine(t testing.TB, cfg Config, paths ...string) *Engine {
	t.Helper()
	coll := sigma.LoadPaths(paths...)
	if len(coll.Errors) > 0 {
		t.Fatalf("parse errors: %v", sigma.ErrorList(coll.Errors))
	}
	e, errs := New(cfg, coll)
	if len(errs) > 0 {
		t.Fatalf("compile errors: %v", sigma.ErrorList(errs))
	}
	return e
}

// TestCases runs testdata/cases/<name>/{rule.yml,events.jsonl} and compares
// "event-number rule-title" lines with want.txt.
func TestCases(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if len(dirs) == 0 {
		t.Fatal("no cases")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			e := newEngine(t, Config{}, filepath.Join(dir, "rule.yml"))
			var got strings.Builder
			for i, ev := range readEvents(t, filepath.Join(dir, "events.jsonl")) {
				e.Match(ev, func(r *sigma.Rule) {
					fmt.Fprintf(&got, "%d %s\n", i+1, r.Title)
					if len(e.Explain(r, ev)) == 0 && !strings.Contains(r.Title, "Null") {
						t.Errorf("event %d, %q: Explain gave no fields", i+1, r.Title)
					}
				})
			}
			wantPath := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(wantPath, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("matches differ\ngot:\n%s\nwant:\n%s", got.String(), want)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	e := newEngine(t, Config{}, filepath.Join("testdata", "cases", "fields", "rule.yml"))
	ev := &event.Event{
		Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
		Fields: []event.Field{
			{Name: "Image", Value: event.S(`C:\x\certutil.exe`)},
			{Name: "CommandLine", Value: event.S("certutil http://x")},
		},
	}
	var matched []*sigma.Rule
	e.Match(ev, func(r *sigma.Rule) { matched = append(matched, r) })
	if len(matched) != 1 {
		t.Fatalf("matched %d rules, want 1", len(matched))
	}
	if got := e.Explain(matched[0], ev); !reflect.DeepEqual(got, []string{"Image", "CommandLine"}) {
		t.Errorf("Explain = %v", got)
	}
	for _, r := range e.Rules()[1:] {
		if got := e.Explain(r, ev); got != nil {
			t.Errorf("Explain of non-matching %q = %v, want nil", r.Title, got)
		}
	}
}

const placeholderRule = `
title: Admin logon
logsource:
    product: windows
detection:
    sel:
        User|expand: '%Admins%'
    condition: sel
`

func TestPlaceholders(t *testing.T) {
	coll := sigma.ParseFile("p.yml", []byte(placeholderRule))
	if len(coll.Errors) > 0 {
		t.Fatal(sigma.ErrorList(coll.Errors))
	}
	if !reflect.DeepEqual(coll.Rules[0].Placeholders, []string{"Admins"}) {
		t.Fatalf("rule placeholders = %v", coll.Rules[0].Placeholders)
	}
	ev := func(user string) *event.Event {
		return &event.Event{Logsource: event.Logsource{Product: "windows"}, Fields: []event.Field{{Name: "User", Value: event.S(user)}}}
	}
	count := func(e *Engine, ev *event.Event) int {
		n := 0
		e.Match(ev, func(*sigma.Rule) { n++ })
		return n
	}

	unset, errs := New(Config{}, coll)
	if len(errs) > 0 || len(unset.Rules()) != 1 {
		t.Fatalf("rule with an unset placeholder must compile: %v", errs)
	}
	if got := unset.Unresolved(coll.Rules[0]); !reflect.DeepEqual(got, []string{"Admins"}) {
		t.Errorf("Unresolved = %v, want [Admins]", got)
	}
	if n := count(unset, ev("%Admins%")); n != 0 {
		t.Errorf("unset placeholder matched its own name")
	}

	set, _ := New(Config{Placeholders: map[string][]string{"Admins": {"root", "adm_*"}}}, coll)
	if got := set.Unresolved(coll.Rules[0]); len(got) != 0 {
		t.Errorf("Unresolved = %v, want none", got)
	}
	for user, want := range map[string]int{"root": 1, "adm_bob": 1, "bob": 0} {
		if n := count(set, ev(user)); n != want {
			t.Errorf("user %q: %d matches, want %d", user, n, want)
		}
	}
}

func TestCompileErrorsReported(t *testing.T) {
	src := `
title: Bad modifier
logsource: {product: windows}
detection:
    sel:
        Image|nosuchmodifier: x
    condition: sel
---
title: Bad regexp
logsource: {product: windows}
detection:
    sel:
        Image|re: '(unclosed'
    condition: sel
---
title: Good
logsource: {product: windows}
detection:
    sel:
        Image: x
    condition: sel
`
	coll := sigma.ParseFile("bad.yml", []byte(src))
	if len(coll.Errors) > 0 {
		t.Fatal(sigma.ErrorList(coll.Errors))
	}
	e, errs := New(Config{}, coll)
	if len(errs) != 2 {
		t.Fatalf("got %d errors, want 2: %v", len(errs), sigma.ErrorList(errs))
	}
	for i, want := range []int{6, 13} {
		if errs[i].Line != want || errs[i].Path != "bad.yml" || !errors.Is(errs[i], ErrCompile) {
			t.Errorf("error %d = %v (line %d), want bad.yml line %d wrapping ErrCompile", i, errs[i], errs[i].Line, want)
		}
	}
	if rules := e.Rules(); len(rules) != 1 || rules[0].Title != "Good" {
		t.Errorf("compiled rules = %v, want only Good", rules)
	}
}

// TestConcurrentMatch runs the engine from several goroutines; run with
// -race to check the scratch and route cache.
func TestConcurrentMatch(t *testing.T) {
	dir := filepath.Join("testdata", "cases", "routing")
	e := newEngine(t, Config{}, filepath.Join(dir, "rule.yml"))
	evs := readEvents(t, filepath.Join(dir, "events.jsonl"))
	want := 0
	for _, ev := range evs {
		e.Match(ev, func(*sigma.Rule) { want++ })
	}
	var wg sync.WaitGroup
	got := make([]int, 8)
	for g := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				for _, ev := range evs {
					e.Match(ev, func(*sigma.Rule) { got[g]++ })
				}
			}
		}()
	}
	wg.Wait()
	for g, n := range got {
		if n != 50*want {
			t.Errorf("goroutine %d: %d matches, want %d", g, n, 50*want)
		}
	}
}

// TestUnknownLogsourcesShareAnIndex: log source values no rule names all
// select the same rules, so a flood of them builds one index, not one each.
func TestUnknownLogsourcesShareAnIndex(t *testing.T) {
	e := newEngine(t, Config{}, filepath.Join("testdata", "cases", "routing", "rule.yml"))
	for i := range 10000 {
		ev := &event.Event{
			Logsource: event.Logsource{Product: fmt.Sprintf("weird-%d", i), Category: "process_creation"},
			Fields:    []event.Field{{Name: "marker", Value: event.S("x")}},
		}
		var got []string
		e.Match(ev, func(r *sigma.Rule) { got = append(got, r.Title) })
		if !reflect.DeepEqual(got, []string{"Any product, process creation"}) {
			t.Fatalf("event %d matched %v", i, got)
		}
	}
	if n := len(e.canon); n != 1 {
		t.Errorf("%d indexes built for one canonical log source", n)
	}
	if n := len(e.routes); n > maxRoutes {
		t.Errorf("route cache grew to %d entries, past its bound %d", n, maxRoutes)
	}
}

const registryRules = `
title: Run key (registry_event)
logsource: {product: windows, category: registry_event}
detection:
    sel:
        TargetObject|contains: '\CurrentVersion\Run\'
    condition: sel
---
title: Run key (registry_set)
logsource: {product: windows, category: registry_set}
detection:
    sel:
        TargetObject|contains: '\CurrentVersion\Run\'
    condition: sel
---
title: Run key (any category)
logsource: {product: windows}
detection:
    sel:
        TargetObject|contains: '\CurrentVersion\Run\'
    condition: sel
`

// registryParents is what fieldmap.Mappings.CategoryMatches says for the
// Sysmon registry categories; the engine only sees the function.
func registryParents(ruleCat, eventCat string) bool {
	if ruleCat == eventCat {
		return true
	}
	switch eventCat {
	case "registry_add", "registry_delete", "registry_set", "registry_rename":
		return ruleCat == "registry_event"
	}
	return false
}

func TestCategoryMatches(t *testing.T) {
	coll := sigma.ParseFile("reg.yml", []byte(registryRules))
	if len(coll.Errors) > 0 {
		t.Fatal(sigma.ErrorList(coll.Errors))
	}
	ev := func(cat string) *event.Event {
		return &event.Event{
			Logsource: event.Logsource{Product: "windows", Category: cat},
			Fields:    []event.Field{{Name: "TargetObject", Value: event.S(`HKLM\Software\Microsoft\Windows\CurrentVersion\Run\upd`)}},
		}
	}
	titles := func(e *Engine, ev *event.Event) []string {
		var out []string
		e.Match(ev, func(r *sigma.Rule) { out = append(out, r.Title) })
		return out
	}
	exact, errs := New(Config{}, coll)
	if len(errs) > 0 {
		t.Fatal(sigma.ErrorList(errs))
	}
	related, _ := New(Config{CategoryMatches: registryParents}, coll)
	tests := []struct {
		name string
		e    *Engine
		cat  string
		want []string
	}{
		{"exact/registry_set", exact, "registry_set", []string{"Run key (registry_set)", "Run key (any category)"}},
		{"exact/registry_event", exact, "registry_event", []string{"Run key (registry_event)", "Run key (any category)"}},
		{"exact/registry_add", exact, "registry_add", []string{"Run key (any category)"}},
		{"func/registry_set", related, "registry_set", []string{"Run key (registry_event)", "Run key (registry_set)", "Run key (any category)"}},
		// registry_add is named by no rule: it must not fall into the
		// shared index for unknown categories, which registry_event
		// rules do not see.
		{"func/registry_add", related, "Registry_Add", []string{"Run key (registry_event)", "Run key (any category)"}},
		{"func/registry_event", related, "registry_event", []string{"Run key (registry_event)", "Run key (any category)"}},
		{"func/process_creation", related, "process_creation", []string{"Run key (any category)"}},
		{"func/unknown", related, "no_such_category", []string{"Run key (any category)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the second call takes the cached route
				if got := titles(tc.e, ev(tc.cat)); !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("matched %q, want %q", got, tc.want)
				}
			}
			got, want := indexedMatch(tc.e, ev(tc.cat)), fullMatch(tc.e, ev(tc.cat))
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("index gave %v, full evaluation %v", got, want)
			}
		})
	}
}
