package query

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/sigma")

// parseRule checks that out is YAML and a Sigma rule our own parser accepts,
// and returns the rule.
func parseRule(t *testing.T, out []byte) *sigma.Rule {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, out)
	}
	coll := sigma.ParseFile("draft.yml", out)
	if len(coll.Errors) > 0 || len(coll.Rules) != 1 {
		t.Fatalf("output is not one valid Sigma rule: %v\n%s", coll.Errors, out)
	}
	return coll.Rules[0]
}

func TestToSigma(t *testing.T) {
	tests := []struct {
		name, query string
		condition   string
		selections  map[string]string // name -> YAML of the selection, when checked
	}{
		{"brief example", `Image:*\\powershell.exe AND CommandLine:*-enc*`, "selection",
			map[string]string{"selection": "Image|endswith: \\powershell.exe\nCommandLine|contains: -enc"}},
		{"logsource hoisted", `product:windows category:process_creation ParentImage:*\3CXDesktopApp.exe`, "selection", nil},
		{"not becomes filter", "Image:*\\cmd.exe NOT User:SYSTEM", "selection and not filter",
			map[string]string{"filter": "User: SYSTEM"}},
		{"ne becomes filter", "Image:x User!=SYSTEM", "selection and not filter", nil},
		{"or same field is a list", "QueryName:a.com OR QueryName:b.com", "selection",
			map[string]string{"selection": "QueryName:\n    - a.com\n    - b.com"}},
		{"or of ands is a list of maps", "(Image:a EventID:1) OR (Image:b EventID:3)", "selection",
			map[string]string{"selection": "- Image: a\n  EventID: 1\n- Image: b\n  EventID: 3"}},
		{"same key anded uses all", "CommandLine:*a* CommandLine:*b*", "selection",
			map[string]string{"selection": "CommandLine|contains|all:\n    - a\n    - b"}},
		{"repeat numeric key splits", "x:>1 x:>2", "selection_1 and selection_2", nil},
		{"keywords", "mimikatz OR \"event::clear\"", "keywords",
			map[string]string{"keywords": "- mimikatz\n- event::clear"}},
		{"keywords anded", "a b", "keywords_1 and keywords_2", nil},
		{"exists and comparisons", "_exists_:ParentImage DestinationPort:<1024 DestinationPort:>=80", "selection",
			map[string]string{"selection": "ParentImage|exists: true\nDestinationPort|lt: 1024\nDestinationPort|gte: 80"}},
		{"startswith and literal star", `Image:C:\Temp\\* x:a\*b`, "selection",
			map[string]string{"selection": "Image|startswith: C:\\Temp\\\nx: a\\*b"}},
		{"plain pattern", "Image:prog?.exe", "selection", map[string]string{"selection": "Image: prog?.exe"}},
		{"time left out", "Image:*x time:>2023-03-29T00:00:00Z", "selection", nil},
		{"nested", "a:1 (b:2 OR NOT (c:3 d:4))", "selection_1 and (selection_2 or not filter)", nil},
		{"value group first", "Image:(a OR b) User:x", "selection",
			map[string]string{"selection": "Image:\n    - a\n    - b\nUser: x"}},
		{"value group then same key", "Image:(a OR b) Image:c", "selection_1 and selection_2",
			map[string]string{"selection_2": "Image: c"}},
		{"mixed or", "a:1 OR kw OR NOT b:2", "selection or keywords or not filter", nil},
	}
	p := testParser()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := p.Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			out, err := ToSigma(e, "Test "+tc.name)
			if err != nil {
				t.Fatalf("ToSigma: %v", err)
			}
			rule := parseRule(t, out)
			var doc struct {
				Detection map[string]yaml.Node `yaml:"detection"`
			}
			if err := yaml.Unmarshal(out, &doc); err != nil {
				t.Fatal(err)
			}
			var cond string
			if n := doc.Detection["condition"]; n.Decode(&cond) != nil || cond != tc.condition {
				t.Errorf("condition %q, want %q\n%s", cond, tc.condition, out)
			}
			for name, want := range tc.selections {
				n, ok := doc.Detection[name]
				if !ok {
					t.Errorf("no selection %q\n%s", name, out)
					continue
				}
				got, _ := yaml.Marshal(&n)
				if strings.TrimSpace(string(got)) != want {
					t.Errorf("selection %s:\n%s\nwant:\n%s", name, got, want)
				}
			}
			if rule.Title != "Test "+tc.name {
				t.Errorf("title %q", rule.Title)
			}
		})
	}
}

func TestToSigmaGolden(t *testing.T) {
	tests := []struct{ name, query string }{
		{"3cx", `product:windows category:process_creation ParentImage:*\3CXDesktopApp.exe (Image:*\cmd.exe OR Image:*\powershell.exe) -CommandLine:*update* time:[2023-03-01 TO 2023-03-31]`},
		{"dns", `category:dns QueryName:("*.3cx.com" OR akamaicontainer.com OR azureonlinestorage.com)`},
		{"no logsource", `mimikatz OR CommandLine:*sekurlsa*`},
	}
	p := testParser()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := p.Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			out, err := ToSigma(e, "Golden "+tc.name)
			if err != nil {
				t.Fatal(err)
			}
			parseRule(t, out)
			path := filepath.Join("testdata", "sigma", tc.name+".yml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if string(out) != string(want) {
				t.Errorf("ToSigma output differs from %s (run with -update to accept):\n%s", path, out)
			}
		})
	}
}

func TestToSigmaErrors(t *testing.T) {
	tests := []struct{ query, msg string }{
		{"", "empty query"},
		{"host:ws-01 Image:x", `"host" is a Vigil column`},
		{"time:>now-1h", "only bounds time"},
		{"product:windows", "only bounds time or logsource"},
		{"Image:x OR time:>now-1h", "time comparisons can only be ANDed"},
		{"Image:x NOT product:windows", "logsource.product can only"},
		{"product:windows product:linux Image:x", "a rule has one logsource"},
	}
	p := testParser()
	for _, tc := range tests {
		e, err := p.Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ToSigma(e, "x")
		if !errors.Is(err, ErrNotExpressible) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ToSigma(%q) = %s, %v; want ErrNotExpressible with %q", tc.query, out, err, tc.msg)
		}
	}
}

func TestToSigmaHandBuilt(t *testing.T) {
	for _, e := range []store.Expr{
		store.And{eq("Image", "x"), cmp("", store.OpGt, "5")},
		store.Or{eq("Image", "x"), store.And{}},
		cmp("x", store.OpGt, "abc"),
		eq("a|b", "x"),
	} {
		if out, err := ToSigma(e, "x"); !errors.Is(err, ErrNotExpressible) {
			t.Errorf("ToSigma(%#v) = %s, %v; want ErrNotExpressible", e, out, err)
		}
	}
}

// TestToSigmaAllCases runs every parse case through ToSigma: each gives a
// valid rule or says clearly why not.
func TestToSigmaAllCases(t *testing.T) {
	p := testParser()
	for _, tc := range parseCases {
		e, err := p.Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ToSigma(e, tc.name)
		if err != nil {
			if !errors.Is(err, ErrNotExpressible) {
				t.Errorf("%s: %v does not wrap ErrNotExpressible", tc.name, err)
			}
			continue
		}
		parseRule(t, out)
	}
}
