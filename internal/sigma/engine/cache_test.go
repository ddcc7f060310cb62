package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

// TestValueCacheAgreesWithFullEvaluation drives the prefilter's value
// cache through hits, misses, values with more hits than an entry holds,
// over-long values, the same value in different fields and log sources,
// and the pause after many distinct values, comparing every Match with a
// full evaluation.
func TestValueCacheAgreesWithFullEvaluation(t *testing.T) {
	var src strings.Builder
	for i := range 20 {
		fmt.Fprintf(&src, "title: lit%d\nlogsource: {product: windows}\ndetection:\n    sel:\n        A|contains: 'lit%02d'\n    other:\n        B|contains: 'lit%02d'\n    condition: sel or other\n---\n", i, i, i)
	}
	src.WriteString("title: cat\nlogsource: {product: windows, category: x}\ndetection:\n    sel:\n        A|endswith: 'lit05'\n    condition: sel\n")
	coll := sigma.ParseFile("cache.yml", []byte(src.String()))
	if len(coll.Errors) > 0 {
		t.Fatal(sigma.ErrorList(coll.Errors))
	}
	e, errs := New(Config{}, coll)
	if len(errs) > 0 {
		t.Fatal(sigma.ErrorList(errs))
	}
	var all strings.Builder
	for i := range 20 {
		fmt.Fprintf(&all, "lit%02d ", i)
	}
	values := []string{"lit01", "LIT02 lit03", all.String(), "x lit05", strings.Repeat("y", 200) + "lit07", "nothing"}
	for i := range 300 {
		values = append(values, fmt.Sprintf("distinct %d lit%02d", i, i%25))
	}
	values = append(values, values[:6]...)
	matched := 0
	for round := range 2 {
		for i, v := range values {
			for _, ls := range []event.Logsource{{Product: "windows"}, {Product: "windows", Category: "x"}} {
				ev := &event.Event{Logsource: ls, Fields: []event.Field{{Name: "A", Value: event.S(v)}, {Name: "B", Value: event.S(values[(i+1)%len(values)])}}}
				got, want := indexedMatch(e, ev), fullMatch(e, ev)
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("round %d, value %q, %v: index gave %v, full evaluation %v", round, v, ls, got, want)
				}
				matched += len(got)
			}
		}
	}
	if matched == 0 {
		t.Fatal("no event matched: the test checks nothing")
	}
}
