package sigma

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseRule(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("title: x\nlogsource: {product: p}\ndetection:\n  s: {a|contains|all: [b, c]}\n  condition: 1 of s*\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		coll := ParseFile("fuzz.yml", data)
		for _, r := range coll.Rules {
			if r.Detection == nil || r.Detection.Condition == nil {
				t.Fatalf("rule kept without a condition: %+v", r)
			}
			checkRefs(t, r.Detection.Condition, r.Detection)
		}
		for _, e := range coll.Errors {
			if e.Err == nil {
				t.Fatal("FileError without an error")
			}
			_ = e.Error()
		}
	})
}

// checkRefs fails when a parsed condition refers to a selection that does
// not exist: the engine relies on every reference resolving.
func checkRefs(t *testing.T, c *Cond, d *Detection) {
	if c.Kind == CondRef {
		if _, ok := d.Selections[c.Name]; !ok {
			t.Fatalf("condition refers to missing selection %q", c.Name)
		}
	}
	for _, a := range c.Args {
		checkRefs(t, a, d)
	}
}

func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"sel", "sel and not filter", "1 of sel_* or all of them", "(a or b) and not (c)",
		"sel | count() > 5", "not not not a", "all of filter* and 1 of them", "((((a))))",
	} {
		f.Add(s)
	}
	names := []string{"sel", "sel_a", "a", "b", "c", "filter", "filter_x", "_x"}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCondition(s, names)
		if err != nil {
			if c != nil {
				t.Fatal("both a condition and an error")
			}
			return
		}
		d := &Detection{Selections: map[string]*Selection{}}
		for _, n := range names {
			d.Selections[n] = &Selection{Name: n}
		}
		checkRefs(t, c, d)
		// The rendering must parse back to the same tree.
		again, err := ParseCondition(c.String(), names)
		if err != nil {
			t.Fatalf("rendering %q of %q does not parse: %v", c.String(), s, err)
		}
		if again.String() != c.String() {
			t.Fatalf("round trip %q -> %q -> %q", s, c.String(), again.String())
		}
	})
}
