package engine

import (
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

var corpusFolders = []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder", "rules-compliance", "rules-dfir"}

// TestCorpusCompiles requires every rule of the six corpus folders to parse
// and compile, and lists the failures with their reasons.
func TestCorpusCompiles(t *testing.T) {
	dir := vigiltest.Corpus(t, "sigma")
	for _, folder := range corpusFolders {
		t.Run(folder, func(t *testing.T) {
			coll := sigma.LoadPaths(filepath.Join(dir, folder))
			for _, e := range coll.Errors {
				t.Errorf("parse: %v", e)
			}
			e, errs := New(Config{}, coll)
			for _, err := range errs {
				t.Errorf("compile: %v", err)
			}
			placeholders := map[string]int{}
			for _, r := range e.Rules() {
				for _, p := range e.Unresolved(r) {
					placeholders[p]++
				}
			}
			st := e.Stats()
			t.Logf("%s: %d rules parsed, %d compiled (%d indexed, %d always evaluated), %d failed",
				folder, len(coll.Rules), st.Rules, st.Indexed, st.Always, len(errs)+len(coll.Errors))
			if len(placeholders) > 0 {
				var names []string
				for p, n := range placeholders {
					names = append(names, p+"×"+strconv.Itoa(n))
				}
				sort.Strings(names)
				t.Logf("%s: rules needing placeholder values: %s", folder, strings.Join(names, ", "))
			}
			if st.Rules != len(coll.Rules) {
				t.Errorf("%d of %d rules compiled", st.Rules, len(coll.Rules))
			}
		})
	}
}

// TestSpecificationTests compiles the rules shipped in the specification's
// tests folder.
func TestSpecificationTests(t *testing.T) {
	dir := filepath.Join(vigiltest.SharedDir(t), "reference", "sigma-specification", "tests")
	coll := sigma.LoadPaths(dir)
	for _, e := range coll.Errors {
		t.Errorf("parse: %v", e)
	}
	_, errs := New(Config{}, coll)
	for _, err := range errs {
		t.Errorf("compile: %v", err)
	}
	if len(coll.Rules) == 0 {
		t.Error("no rules found in the specification's tests")
	}
}
