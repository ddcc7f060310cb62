package correlate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

// TestSpecificationRules compiles every correlation among the Sigma
// specification's own test rules, one file at a time (two of them share
// an id on purpose).
func TestSpecificationRules(t *testing.T) {
	dir := filepath.Join(vigiltest.SharedDir(t), "reference", "sigma-specification", "tests", "schema", "correlation")
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(files) == 0 {
		t.Skipf("no specification correlation tests under %s", dir)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			coll := sigma.ParseFile(path, data)
			if len(coll.Errors) > 0 || len(coll.Correlations) == 0 {
				t.Fatalf("parse: %v (%d correlations)", coll.Errors, len(coll.Correlations))
			}
			if _, err := New(Config{}, coll.Correlations); err != nil {
				t.Errorf("New: %v", err)
			}
		})
	}
}
