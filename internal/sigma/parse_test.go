package sigma

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

func readFixture(t *testing.T, name string) *Collection {
	t.Helper()
	path := filepath.Join("testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ParseFile(path, data)
}

func TestParseMultiDocument(t *testing.T) {
	coll := readFixture(t, "multi.yml")
	if len(coll.Errors) > 0 {
		t.Fatalf("errors: %v", ErrorList(coll.Errors))
	}
	if len(coll.Rules) != 1 || len(coll.Correlations) != 2 || len(coll.Filters) != 1 {
		t.Fatalf("got %d rules, %d correlations, %d filters; want 1, 2, 1", len(coll.Rules), len(coll.Correlations), len(coll.Filters))
	}
	top := coll.Correlations[0]
	if top.Type != TemporalOrdered || top.Timespan != 10*time.Minute || top.Level != "high" ||
		!reflect.DeepEqual(top.Rules, []string{"multiple_failed_login", "successful_login"}) ||
		!reflect.DeepEqual(top.GroupBy, []string{"User"}) || top.Line != 1 {
		t.Errorf("top correlation = %+v", top)
	}
	if got := top.Aliases["ip"]["successful_login"]; got != "SourceIp" {
		t.Errorf("alias ip/successful_login = %q, want SourceIp", got)
	}
	vc := coll.Correlations[1]
	want := &CorrelationCondition{Compares: []Compare{{OpGT, 10}, {OpLTE, 200}}, Field: []string{"TargetUserName"}}
	if !reflect.DeepEqual(vc.Condition, want) || vc.Name != "multiple_failed_login" || !reflect.DeepEqual(vc.Rules, []string{"failed_login"}) {
		t.Errorf("value_count correlation = %+v, condition %+v", vc, vc.Condition)
	}
	for x, holds := range map[float64]bool{10: false, 11: true, 200: true, 201: false} {
		if vc.Condition.Holds(x) != holds {
			t.Errorf("Holds(%v) = %v, want %v", x, !holds, holds)
		}
	}
	r := coll.Rules[0]
	if r.Name != "failed_login" || r.Logsource != (event.Logsource{Product: "windows", Service: "security"}) || r.Line != 31 {
		t.Errorf("rule = %+v", r)
	}
	if _, ok := r.Extra["custom_attribute"]; !ok {
		t.Errorf("unknown attribute not kept: %v", r.Extra)
	}
	vals := r.Detection.Selections["selection"].Alternatives[0][0].Values
	if len(vals) != 2 || vals[0].Kind != ValNumber || vals[0].Num != 529 || vals[1].Str != "4625" {
		t.Errorf("values = %v", vals)
	}
	f := coll.Filters[0]
	if !reflect.DeepEqual(f.Rules, []string{"failed_login"}) || f.Detection.Condition.String() != "selection" || len(f.Detection.Names) != 1 {
		t.Errorf("filter = %+v", f)
	}
}

func TestParseGlobalAction(t *testing.T) {
	coll := readFixture(t, "global.yml")
	if len(coll.Errors) > 0 {
		t.Fatalf("errors: %v", ErrorList(coll.Errors))
	}
	if len(coll.Rules) != 2 {
		t.Fatalf("got %d rules, want 2", len(coll.Rules))
	}
	for i, want := range []struct {
		ls    event.Logsource
		level string
	}{
		{event.Logsource{Product: "windows", Service: "security"}, "high"},
		{event.Logsource{Product: "windows", Service: "system"}, "low"},
	} {
		r := coll.Rules[i]
		if r.Title != "Shared title" || r.Logsource != want.ls || r.Level != want.level || r.Detection.Condition.String() != "selection" {
			t.Errorf("rule %d = title %q logsource %+v level %q", i, r.Title, r.Logsource, r.Level)
		}
	}
}

func TestParseErrorsCollected(t *testing.T) {
	coll := readFixture(t, "broken.yml")
	var got []string
	for _, e := range coll.Errors {
		got = append(got, fmt.Sprintf("%d:%d", e.Line, e.Col))
		if e.Path != filepath.Join("testdata", "broken.yml") {
			t.Errorf("error path %q", e.Path)
		}
	}
	// Nested map value, empty selection, unknown selection in the condition
	// (column of "filter"), missing detection, bad timespan, value_count
	// without condition.field.
	want := []string{"7:22", "8:12", "9:34", "11:1", "19:15", "17:5"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("error positions = %v, want %v\n%v", got, want, ErrorList(coll.Errors))
	}
	if len(coll.Rules) != 1 || coll.Rules[0].Title != "Fine" {
		t.Errorf("valid document after broken ones not kept: %d rules", len(coll.Rules))
	}
	if !errors.Is(ErrorList(coll.Errors), ErrCondition) || !errors.Is(ErrorList(coll.Errors), ErrTimespan) {
		t.Errorf("ErrorList does not expose its sentinels")
	}
	if s := coll.Errors[2].Error(); !strings.HasPrefix(s, "testdata/broken.yml:9:34: invalid condition") {
		t.Errorf("error text %q", s)
	}
}

func TestParseSyntaxError(t *testing.T) {
	coll := readFixture(t, "syntax.yml")
	if len(coll.Rules) != 1 {
		t.Errorf("documents before the syntax error: got %d rules, want 1", len(coll.Rules))
	}
	if len(coll.Errors) != 1 || !errors.Is(coll.Errors[0].Err, ErrSyntax) || coll.Errors[0].Line == 0 {
		t.Errorf("errors = %v, want one positioned syntax error", coll.Errors)
	}
}

func TestParseDetectionShapes(t *testing.T) {
	tests := []struct {
		name string
		det  string
		want string // selection "sel" rendered
	}{
		{"map", "sel: {a: x, b|contains|all: [y, z]}", "[[a=\"x\" b|contains|all=\"y\",\"z\"]]"},
		{"list of maps", "sel: [{a: 1}, {b: true}]", "[[a=1] [b=true]]"},
		{"keywords", "sel: [foo, 'bar']", "[[=\"foo\",\"bar\"]]"},
		{"keyword all", "sel: {'|all': [foo, bar]}", "[[|all=\"foo\",\"bar\"]]"},
		{"null and empty", "sel: {a: null, b: ''}", "[[a=null b=\"\"]]"},
		{"quoted number", "sel: {a: '007', b: 0x10}", "[[a=\"007\" b=0x10]]"},
		{"single scalar", "sel: foo", "[[=\"foo\"]]"},
		{"mixed list", "sel: [{a: 1}, foo]", "[[a=1] [=\"foo\"]]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "title: t\nlogsource: {product: p}\ndetection:\n  " + tt.det + "\n  condition: sel\n"
			coll := ParseFile("x.yml", []byte(src))
			if len(coll.Errors) > 0 {
				t.Fatalf("errors: %v", ErrorList(coll.Errors))
			}
			if got := renderSelection(coll.Rules[0].Detection.Selections["sel"]); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func renderSelection(s *Selection) string {
	var alts []string
	for _, alt := range s.Alternatives {
		var items []string
		for _, it := range alt {
			name := it.Field
			for _, m := range it.Modifiers {
				name += "|" + m
			}
			var vals []string
			for _, v := range it.Values {
				vals = append(vals, v.String())
			}
			items = append(items, name+"="+strings.Join(vals, ","))
		}
		alts = append(alts, "["+strings.Join(items, " ")+"]")
	}
	return "[" + strings.Join(alts, " ") + "]"
}

func TestParseConditionList(t *testing.T) {
	src := "title: t\nlogsource: {product: p}\ndetection:\n  a: {x: 1}\n  b: {y: 2}\n  condition:\n    - a\n    - b and not a\n"
	coll := ParseFile("x.yml", []byte(src))
	if len(coll.Errors) > 0 {
		t.Fatal(ErrorList(coll.Errors))
	}
	if got := coll.Rules[0].Detection.Condition.String(); got != "(a or (b and not a))" {
		t.Errorf("condition = %s", got)
	}
}

func TestPlaceholders(t *testing.T) {
	src := "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    User|expand: ['%Admins%', '\\%plain%', 'x%Servers%y']\n    Other: '%NotExpanded%'\n  condition: sel\n"
	coll := ParseFile("x.yml", []byte(src))
	if len(coll.Errors) > 0 {
		t.Fatal(ErrorList(coll.Errors))
	}
	if got := coll.Rules[0].Placeholders; !reflect.DeepEqual(got, []string{"Admins", "Servers"}) {
		t.Errorf("placeholders = %v", got)
	}
}

func TestParseTimespan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second}, {"5m", 5 * time.Minute}, {"2h", 2 * time.Hour}, {"1d", 24 * time.Hour},
		{"", -1}, {"m", -1}, {"10", -1}, {"0s", -1}, {"1.5h", -1}, {"-1h", -1}, {"10M", -1}, {"1hh", -1},
	}
	for _, tt := range tests {
		got, err := ParseTimespan(tt.in)
		if tt.want < 0 {
			if err == nil || !errors.Is(err, ErrTimespan) {
				t.Errorf("ParseTimespan(%q) = %v, %v; want ErrTimespan", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTimespan(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
