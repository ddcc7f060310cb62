package match

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

func TestSufficient(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want []string // "lit/anchor"
	}{
		{"equals", spec("", str(`C:\Windows\X.exe`)), []string{`c:\windows\x.exe/3`}},
		{"startswith", spec("startswith", str(`C:\Windows\`)), []string{`c:\windows\/1`}},
		{"endswith", spec("endswith", str(`\X.EXE`), str(`\y.exe`)), []string{`\x.exe/2`, `\y.exe/2`}},
		{"contains", spec("contains", str("Benign")), []string{"benign/0"}},
		{"contains merged", spec("contains", str("a1"), str("b2"), str("c3"), str("d4")), []string{"a1/0", "b2/0", "c3/0", "d4/0"}},
		{"wildcard gives none", spec("", str("a*b")), nil},
		{"empty value gives none", spec("", str("")), nil},
		{"cased", spec("contains|cased", str("Quiet")), nil},
		{"all", spec("contains|all", str("a"), str("b")), nil},
		{"neq", spec("neq", str("a")), nil},
		{"regex", spec("re", str("abc")), nil},
		{"exists", spec("exists", RuleValue{Kind: event.Bool, Str: "true", Num: 1}), nil},
		{"number", spec("", RuleValue{Kind: event.Number, Str: "4688", Num: 4688}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustCompile(t, tc.spec)
			var got []string
			for _, s := range m.Sufficient() {
				got = append(got, fmt.Sprintf("%s/%d", s.Lit, s.Anchor))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Sufficient() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSufficientImpliesMatch: any text holding a sufficient literal where
// its anchor says makes Match true, whatever surrounds it.
func TestSufficientImpliesMatch(t *testing.T) {
	specs := []Spec{
		spec("", str("Abc")), spec("startswith", str("AB")), spec("endswith", str("bC")),
		spec("contains", str("b"), str("XY"), str("zz"), str("q!")), spec("windash|contains", str("-x")),
	}
	for _, sp := range specs {
		m := mustCompile(t, sp)
		for _, s := range m.Sufficient() {
			for _, around := range []string{"", "x", "Q-Q"} {
				text := strings.ToUpper(s.Lit)
				if s.Anchor&AnchorStart == 0 {
					text = around + text
				}
				if s.Anchor&AnchorEnd == 0 {
					text += around
				}
				if !m.Match(event.S(text), &event.Event{}) {
					t.Errorf("%+v: %q holds sufficient %q (anchor %d) but does not match", sp, text, s.Lit, s.Anchor)
				}
			}
		}
	}
}
