package query

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/store"
)

// roundTrip checks that String(e) parses back to e. A parser without a
// length limit reads it: canonical text may be longer than what was typed.
func roundTrip(t testing.TB, e store.Expr) string {
	t.Helper()
	s := String(e)
	p := testParser()
	p.MaxLength = 1 << 30
	back, err := p.Parse(s)
	if err != nil {
		t.Fatalf("String(%#v) = %q does not parse: %v", e, s, err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Fatalf("String(%#v) = %q parses to %#v", e, s, back)
	}
	return s
}

func TestStringRoundTrip(t *testing.T) {
	p := testParser()
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := p.Parse(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, e)
		})
	}
}

func TestStringCanonical(t *testing.T) {
	tests := []struct {
		query, want string
	}{
		{"", "*"},
		{`Image:*\\powershell.exe and CommandLine:*-enc*`, `Image:*\powershell.exe AND CommandLine:*-enc*`},
		{`TargetFilename:C:\Users\\*`, `TargetFilename:C:\Users\\*`},
		{`TargetFilename:C:\Users\*`, `TargetFilename:C:\Users\*`},
		{`x:C:\dir\`, `x:C:\dir\\`},
		{`host:ws-01 || host:"ws 02"`, `host:ws-01 OR host:"ws 02"`},
		{"-User:SYSTEM", "NOT User:SYSTEM"},
		{"a b OR c", "a AND b OR c"},
		{"(a OR b) c", "(a OR b) AND c"},
		{"NOT (a b)", "NOT (a AND b)"},
		{"has:ParentImage", "_exists_:ParentImage"},
		{"ParentImage:*", "_exists_:ParentImage"},
		{`"Process Name":"a b"`, `"Process Name":"a b"`},
		{`QueryName:"*.3cx.com"`, `QueryName:*.3cx.com`},
		{`"-enc"`, `"-enc"`},
		{`"a:b"`, `"a:b"`},
		{`x:"and"`, `x:"and"`},
		{`x:""`, `x:""`},
		{`x:"(a"`, `x:"(a"`},
		{`x:"{abc TO def}"`, `x:"{abc TO def}"`},
		{`CommandLine:"*\"C:\\x\"*"`, `CommandLine:"*\"C:\x\"*"`},
		{"User!=SYS*", "NOT User:SYS*"},
		{"EventID:[1 TO 2]", "EventID:>=1 AND EventID:<=2"},
		{"time:>now-1h", "time:>2026-11-25T08:45:30Z"},
		{"product:windows", "logsource.product:windows"},
		{"host:(a OR b) c", "(host:a OR host:b) AND c"},
	}
	p := testParser()
	for _, tc := range tests {
		e, err := p.Parse(tc.query)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.query, err)
		}
		if got := roundTrip(t, e); got != tc.want {
			t.Errorf("String(Parse(%q)) = %q, want %q", tc.query, got, tc.want)
		}
	}
}

// TestStringHandBuilt covers trees Parse does not make: String still writes
// something that parses, to an equivalent tree.
func TestStringHandBuilt(t *testing.T) {
	tests := []struct {
		e    store.Expr
		want string
	}{
		{nil, "*"},
		{store.And{}, "*"},
		{store.Or{}, "NOT *"},
		{store.And{text("a")}, "a"},
		{store.Compare{Field: "CommandLine", Op: store.OpContains, Value: "-enc *x"}, `CommandLine:"*-enc \*x*"`},
		{wc("x", "*"), "x:*"},
		{&store.Not{X: &store.Compare{Field: "a", Op: store.OpEq, Value: "b"}}, "NOT a:b"},
		{store.Not{X: store.And{text("a"), store.Or{text("b"), text("c")}}}, "NOT (a AND (b OR c))"},
		{eq("has", "x"), `"has":x`},
		{eq("a b", `x"y`), `"a b":"x\"y"`},
		{eq("-x", "y"), `"-x":y`},
		{eq("x", `a\`), `x:a\\`},
		{eq("x", `a\:`), `x:a\\:`},
		{text(`a\"`), `"a\\\""`},
	}
	for _, tc := range tests {
		if got := String(tc.e); got != tc.want {
			t.Errorf("String(%#v) = %q, want %q", tc.e, got, tc.want)
		}
		if _, err := testParser().Parse(String(tc.e)); err != nil {
			t.Errorf("String(%#v) = %q does not parse: %v", tc.e, String(tc.e), err)
		}
	}
	// Not a number, so it will not parse, but it must not read as >=5.
	if got := String(cmp("x", store.OpGt, "=5")); got != `x:>"=5"` {
		t.Errorf(`String(x > "=5") = %q`, got)
	}
	// Literal values full of special characters survive String and Parse.
	for _, v := range []string{`\`, `\\`, `*`, `?`, `\*`, `"`, `( )`, `a:b`, `!=`, `-`, `[1 TO 2]`, `>5`, "tab\there", `C:\Program Files\`, "OR", "&&"} {
		roundTrip(t, eq("x", v))
		roundTrip(t, ne("x", v))
		roundTrip(t, text(v))
		roundTrip(t, eq("f"+v, "y"))
	}
}

// TestStringRandomValues round-trips values drawn from the characters the
// escaping rules care about, in every position a value can take. The seed
// is fixed so a failure reproduces.
func TestStringRandomValues(t *testing.T) {
	const alphabet = "ab\\*?\"():!=-<>[]{} \tÄ'"
	rng := rand.New(rand.NewPCG(1, 2))
	randText := func() string {
		n := rng.IntN(7)
		var sb strings.Builder
		for range n {
			sb.WriteString(string([]rune(alphabet)[rng.IntN(len([]rune(alphabet)))]))
		}
		return sb.String()
	}
	for range 5000 {
		v := randText()
		roundTrip(t, eq("x", v))
		if v != "" {
			roundTrip(t, text(v))
			roundTrip(t, exists("f"+v))
			roundTrip(t, eq(v, "y"))
		}
		// Patterns: parse a random pattern written as a quoted value.
		u := decodePattern(v)
		if !u.isStar() && len(u) > 0 && u.hasWild() {
			roundTrip(t, wc("x", u.pattern()))
			roundTrip(t, wc("", u.pattern()))
		}
	}
}
