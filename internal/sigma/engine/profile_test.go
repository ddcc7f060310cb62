package engine

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

const profileRules = `
title: Whoami
logsource: {product: windows}
detection:
    sel:
        Image|endswith: '\whoami.exe'
    condition: sel
---
title: Never woken
logsource: {product: windows}
detection:
    sel:
        Image|endswith: '\nothing-has-this.exe'
    condition: sel
---
title: Every event
logsource: {product: windows}
detection:
    sel:
        CommandLine|re: '.'
    condition: sel
`

func TestProfile(t *testing.T) {
	evs := []*event.Event{
		{Logsource: event.Logsource{Product: "windows"}, Fields: []event.Field{{Name: "Image", Value: event.S(`C:\x\whoami.exe`)}, {Name: "CommandLine", Value: event.S("whoami")}}},
		{Logsource: event.Logsource{Product: "windows"}, Fields: []event.Field{{Name: "Image", Value: event.S(`C:\x\cmd.exe`)}, {Name: "CommandLine", Value: event.S("")}}},
		{Logsource: event.Logsource{Product: "windows"}, Fields: []event.Field{{Name: "Image", Value: event.S(`C:\x\whoami.exe`)}}},
	}
	tests := []struct {
		name    string
		profile bool
		// want holds "title evaluations matches" per rule; nil: Profile
		// returns nil.
		want []string
	}{
		{"off", false, nil},
		{"on", true, []string{"Whoami 2 2", "Never woken 0 0", "Every event 3 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			coll := sigma.ParseFile("p.yml", []byte(profileRules))
			e, errs := New(Config{Profile: tc.profile}, coll)
			if len(errs) > 0 || len(coll.Errors) > 0 {
				t.Fatal(sigma.ErrorList(append(coll.Errors, errs...)))
			}
			for _, ev := range evs {
				e.Match(ev, func(*sigma.Rule) {})
			}
			prof := e.Profile()
			if tc.want == nil {
				if prof != nil {
					t.Fatalf("Profile() = %v, want nil when not enabled", prof)
				}
				return
			}
			var got []string
			for _, p := range prof {
				got = append(got, fmt.Sprintf("%s %d %d", p.Rule.Title, p.Evaluations, p.Matches))
				if (p.Evaluations == 0) != (p.Time == 0) {
					t.Errorf("%s: %d evaluations took %v", p.Rule.Title, p.Evaluations, p.Time)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("profile = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestProfileConcurrent checks that counts from concurrent Match calls add
// up (run with -race).
func TestProfileConcurrent(t *testing.T) {
	coll := sigma.ParseFile("p.yml", []byte(profileRules))
	e, _ := New(Config{Profile: true}, coll)
	ev := &event.Event{Logsource: event.Logsource{Product: "windows"}, Fields: []event.Field{{Name: "Image", Value: event.S(`C:\x\whoami.exe`)}}}
	const goroutines, rounds = 4, 200
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				e.Match(ev, func(*sigma.Rule) {})
			}
		})
	}
	wg.Wait()
	if p := e.Profile()[0]; p.Evaluations != goroutines*rounds || p.Matches != goroutines*rounds {
		t.Errorf("Whoami: %d evaluations, %d matches; want %d each", p.Evaluations, p.Matches, goroutines*rounds)
	}
}

// TestNewIsDeterministic: rules compile concurrently, but the rule order,
// the errors and the field ids must be those of a sequential compile
// (load order), whatever the scheduling.
func TestNewIsDeterministic(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		switch i % 7 {
		case 3:
			fmt.Fprintf(&b, "title: Bad %d\nlogsource: {product: windows}\ndetection:\n    sel:\n        F%d|nosuchmodifier: x\n    condition: sel\n---\n", i, i)
		default:
			fmt.Fprintf(&b, "title: Rule %d\nid: r%d\nlogsource: {product: windows}\ndetection:\n    sel:\n        F%d|contains: 'v%d'\n        G%d: 'w'\n    condition: sel\n---\n", i, i, i%13, i, i%5)
		}
	}
	b.WriteString("title: Filter\nfilter:\n    rules: [r1, r2]\n    selection:\n        H: x\n    condition: not selection\nlogsource: {product: windows}\n")
	type snapshot struct {
		titles []string
		errs   []string
		ids    map[string]int32
	}
	snap := func() snapshot {
		coll := sigma.ParseFile(filepath.Join("gen", "rules.yml"), []byte(b.String()))
		if len(coll.Errors) > 0 {
			t.Fatal(sigma.ErrorList(coll.Errors))
		}
		e, errs := New(Config{}, coll)
		var s snapshot
		for _, r := range e.Rules() {
			s.titles = append(s.titles, r.Title)
		}
		for _, err := range errs {
			s.errs = append(s.errs, err.Error())
		}
		s.ids = e.fields.ids
		return s
	}
	first := snap()
	if len(first.titles) != 171 || len(first.errs) != 29 {
		t.Fatalf("%d rules and %d errors, want 171 and 29", len(first.titles), len(first.errs))
	}
	// Sequential compile assigns ids in the order items appear: the
	// filter's field first, then F0, G0, F1, G1, ...
	if first.ids["H"] != 0 || first.ids["F0"] != 1 || first.ids["G0"] != 2 || first.ids["F1"] != 3 {
		t.Errorf("field ids %v are not in load order", first.ids)
	}
	for range 5 {
		if again := snap(); !reflect.DeepEqual(again, first) {
			t.Fatalf("second compile differs:\n%+v\n%+v", again, first)
		}
	}
}
