package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

// FuzzMatchAgreesWithFullEvaluation compiles a fuzzed rule file and
// matches a fuzzed event: nothing may panic, and the indexed Match must
// report exactly the rules a full evaluation does.
func FuzzMatchAgreesWithFullEvaluation(f *testing.F) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	for _, dir := range dirs {
		rule, err1 := os.ReadFile(filepath.Join(dir, "rule.yml"))
		events, err2 := os.ReadFile(filepath.Join(dir, "events.jsonl"))
		if err1 != nil || err2 != nil {
			continue
		}
		for _, line := range slices.Collect(splitLines(events)) {
			f.Add(rule, line)
		}
	}
	f.Fuzz(func(t *testing.T, rule, evJSON []byte) {
		var ev event.Event
		if json.Unmarshal(evJSON, &ev) != nil {
			return
		}
		coll := sigma.ParseFile("fuzz.yml", rule)
		e, _ := New(Config{Placeholders: map[string][]string{"Admins": {"root"}}}, coll)
		got, want := indexedMatch(e, &ev), fullMatch(e, &ev)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("index gave %v, full evaluation %v", got, want)
		}
		for _, r := range e.Rules() {
			_ = e.Explain(r, &ev)
		}
	})
}

func splitLines(b []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			i := 0
			for i < len(b) && b[i] != '\n' {
				i++
			}
			if i > 0 && !yield(b[:i]) {
				return
			}
			if i < len(b) {
				i++
			}
			b = b[i:]
		}
	}
}
