package query

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/sigma"
)

// FuzzParse checks that Parse never panics, that String of any tree it
// returns parses back to the same tree, and that ToSigma of it is a valid
// rule or a clear ErrNotExpressible.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.query)
	}
	seeds, _ := filepath.Glob(filepath.Join("testdata", "queries", "*.txt"))
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				f.Add(line)
			}
		}
	}
	p := testParser()
	f.Fuzz(func(t *testing.T, q string) {
		e, err := p.Parse(q)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("Parse(%q) error %T %v, want *SyntaxError", q, err, err)
			}
			return
		}
		s := String(e)
		long := p
		long.MaxLength = 1 << 30
		back, err := long.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v; String = %q does not parse: %v", q, e, s, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("Parse(%q) = %#v; String = %q parses to %#v", q, e, s, back)
		}
		out, err := ToSigma(e, "fuzz")
		if err != nil {
			if !errors.Is(err, ErrNotExpressible) {
				t.Fatalf("ToSigma(Parse(%q)): %v does not wrap ErrNotExpressible", q, err)
			}
			return
		}
		if coll := sigma.ParseFile("fuzz.yml", out); len(coll.Errors) > 0 || len(coll.Rules) != 1 {
			t.Fatalf("ToSigma(Parse(%q)) is not a valid rule: %v\n%s", q, coll.Errors, out)
		}
	})
}
