package sigma

import (
	"path/filepath"
	"testing"

	"github.com/vigilsoc/vigil/internal/vigiltest"
)

// corpusFolders are the rule folders of the shared corpus that must all parse.
var corpusFolders = []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder", "rules-compliance", "rules-dfir"}

func TestCorpusParses(t *testing.T) {
	dir := vigiltest.Corpus(t, "sigma")
	total := 0
	for _, f := range corpusFolders {
		coll := LoadPaths(filepath.Join(dir, f))
		total += len(coll.Rules) + len(coll.Correlations) + len(coll.Filters)
		for _, e := range coll.Errors {
			t.Errorf("%v", e)
		}
	}
	t.Logf("%d documents parsed", total)
	if total < 3000 {
		t.Errorf("only %d documents parsed; expected the ~3,780 corpus rules", total)
	}
}

func TestSpecTestsParse(t *testing.T) {
	dir := filepath.Join(vigiltest.SharedDir(t), "reference", "sigma-specification", "tests")
	coll := LoadPaths(dir)
	for _, e := range coll.Errors {
		t.Errorf("%v", e)
	}
	if len(coll.Rules) == 0 || len(coll.Correlations) == 0 || len(coll.Filters) == 0 {
		t.Errorf("got %d rules, %d correlations, %d filters; want some of each", len(coll.Rules), len(coll.Correlations), len(coll.Filters))
	}
}
