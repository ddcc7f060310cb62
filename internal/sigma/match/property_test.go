package match

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

// The alphabet mixes case variants, wildcards, escapes, dashes and the
// non-ASCII characters that fold specially (Kelvin sign, long s, É/é).
var propAlphabet = []string{"a", "A", "b", "B", "k", "K", "s", "S", "-", "/", " ", "\\", "*", "?",
	"é", "É", "\u212a", "\u017f", "\u2013", "x"}

func randText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(propAlphabet[r.IntN(len(propAlphabet))])
	}
	return b.String()
}

// instantiate turns a rule value into a text likely to match it: wildcards
// become random text, letters change case, and sometimes a character is
// dropped or inserted.
func instantiate(r *rand.Rand, v string) string {
	var b strings.Builder
	for _, c := range v {
		switch {
		case c == '*':
			b.WriteString(randText(r, r.IntN(3)))
		case c == '?':
			b.WriteString(randText(r, 1))
		case r.IntN(4) == 0:
			b.WriteString(strings.ToUpper(string(c)))
		default:
			b.WriteRune(c)
		}
		if r.IntN(20) == 0 {
			b.WriteString(randText(r, 1))
		}
	}
	if r.IntN(3) == 0 {
		return randText(r, 2) + b.String() + randText(r, 2)
	}
	return b.String()
}

var propModifiers = [][]string{
	nil, {"contains"}, {"startswith"}, {"endswith"}, {"cased"}, {"contains", "cased"},
	{"contains", "windash"}, {"windash"}, {"contains", "all"}, {"re"}, {"re", "i"},
	{"utf16le", "contains"}, {"base64offset", "contains"},
}

// TestLiteralsAreNecessary: whenever Match is true, some literal from
// Literals occurs in the ASCII-folded text. The engine skips matchers whose
// literals it does not see, so a violation would be a missed detection.
func TestLiteralsAreNecessary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	matched, checked := 0, 0
	for range 4000 {
		mods := propModifiers[r.IntN(len(propModifiers))]
		nvals := 1 + r.IntN(2)
		if r.IntN(4) == 0 {
			nvals = 4 + r.IntN(3) // enough contains values to share an automaton
		}
		if len(mods) > 1 && mods[1] == "all" {
			nvals = 2
		}
		vals := make([]RuleValue, nvals)
		for i := range vals {
			v := randText(r, 1+r.IntN(6))
			if len(mods) > 0 && mods[0] == "re" {
				v = regexp.QuoteMeta(v)
				if r.IntN(2) == 0 {
					v = "(" + v + "|" + regexp.QuoteMeta(randText(r, 2)) + ")x?"
				}
			}
			if len(mods) > 0 && mods[0] == "base64offset" || len(mods) > 0 && mods[0] == "utf16le" {
				v = strings.NewReplacer("*", "", "?", "").Replace(v)
				if v == "" {
					v = "a"
				}
			}
			vals[i] = str(v)
		}
		m, err := Compile(Spec{Field: "F", Values: vals, Modifiers: mods})
		if err != nil {
			t.Fatalf("Compile(%+v, %v): %v", vals, mods, err)
		}
		lits, ok := m.Literals()
		if !ok {
			continue
		}
		checked++
		for range 20 {
			text := instantiate(r, vals[r.IntN(len(vals))].Str)
			if r.IntN(4) == 0 {
				text = randText(r, r.IntN(8))
			}
			if !m.Match(event.S(text), nil) {
				continue
			}
			matched++
			folded := foldASCII(text)
			found := false
			for _, l := range lits {
				if strings.Contains(folded, l) {
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("values %+v mods %v: %q matches but holds none of %q", vals, mods, text, lits)
			}
		}
	}
	if checked < 1000 || matched < 1000 {
		t.Fatalf("property barely exercised: %d matchers with literals, %d matches", checked, matched)
	}
}

// TestGlobAgainstRegexp checks the hand-written wildcard matcher against Go
// regexp on ASCII patterns (where ASCII folding and (?i) agree, so k and s
// are left out of the alphabet).
func TestGlobAgainstRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alpha := []string{"a", "B", "c", "*", "?", "\\", "-", "é"}
	gen := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alpha[r.IntN(len(alpha))])
		}
		return b.String()
	}
	for range 6000 {
		raw := gen(1 + r.IntN(7))
		p := parsePattern(raw)
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for _, tok := range p {
			switch tok.wild {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(tok.lit))
			}
		}
		re.WriteString(`\z`)
		cased := regexp.MustCompile(re.String())
		folded := regexp.MustCompile("(?i)" + re.String())
		mc := compileText(p, false)
		mf := compileText(p, true)
		for range 10 {
			text := gen(r.IntN(9))
			if r.IntN(2) == 0 {
				text = strings.ReplaceAll(strings.ReplaceAll(raw, "*", gen(r.IntN(3))), "?", gen(1))
			}
			if got, want := mc.matchText(text), cased.MatchString(text); got != want {
				t.Fatalf("cased %q (%T) on %q: got %v want %v", raw, mc, text, got, want)
			}
			if got, want := mf.matchText(text), folded.MatchString(text); got != want {
				t.Fatalf("folded %q (%T) on %q: got %v want %v", raw, mf, text, got, want)
			}
		}
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	ev := &event.Event{Fields: []event.Field{{Name: "ParentImage", Value: event.S(`C:\x\cmd.exe`)}}}
	specs := []Spec{
		spec("", str("cmd.exe")), spec("contains", str("mimikatz")), spec("endswith", str(`\cmd.exe`)),
		spec("startswith", str(`C:\`)), spec("", str(`C:\\*\\cmd?.exe`)), spec("re", str(`c.d\.exe`)),
		spec("", num(4688)), spec("gt", num(5)), spec("cidr", str("10.0.0.0/8")), spec("hour", num(3)),
		spec("fieldref|endswith", str("ParentImage")), spec("contains|windash", str("-enc")),
		spec("contains", str("ärger")), spec("neq", str("x")), spec("exists", boolean(true)),
	}
	values := []event.Value{event.S(`C:\x\cmd.exe /c whoami`), event.S("not a number at all"), event.S("10.1.1.1"),
		event.S("fe80::1%eth0"), event.S("2024-05-06T03:04:05Z"), event.N(4688), event.L(event.S("a"), event.S("b")),
		event.NullValue()}
	for _, s := range specs {
		m := mustCompile(t, s)
		allocs := testing.AllocsPerRun(50, func() {
			for _, v := range values {
				m.Match(v, ev)
			}
		})
		if allocs != 0 {
			t.Errorf("%v %q: %v allocs per run", s.Modifiers, s.Values[0].Str, allocs)
		}
	}
}
