package engine

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/synth"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

func TestGramIndexFindsEveryLiteral(t *testing.T) {
	lits := []string{"-", "/c", "abc", "Mimikatz", "sekurlsa::", `\svchost.exe`, "sha256=0123456789abcdef", "Ѕ", "emoji😀", "aaaa", "aaab"}
	g := newGramIndex(lits)
	texts := []string{
		"", "a", "-", "cmd /C whoami", "MIMIKATZ sekurlsa::logonpasswords", `C:\Windows\System32\SVCHOST.exe -k`,
		"SHA256=0123456789ABCDEF,MD5=00", "Ѕ and s", "x emoji😀 y", "aaaaaab", "abcab", "ab", "mimikat", "sekurlsa:",
	}
	for _, s := range texts {
		found := map[int]bool{}
		g.scan(s, func(i int) { found[i] = true })
		for i, l := range lits {
			want := strings.Contains(asciiLower(s), asciiLower(l))
			if found[i] != want {
				t.Errorf("text %q, literal %q: found %v, want %v", s, l, found[i], want)
			}
		}
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}

// TestGramIndexRandom checks the prefilter against strings.Contains (or
// the anchored comparison) on random texts over a small alphabet, where
// literals overlap and repeat; literal lengths cover every stride tier.
func TestGramIndexRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abAB-\\. é"
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for round := range 400 {
		var lits []string
		var anchors []anchor
		for range 1 + rng.IntN(30) {
			lits = append(lits, word(1+rng.IntN(14)))
			anchors = append(anchors, anchor(rng.IntN(4)))
		}
		if round%2 == 0 {
			anchors = nil
		}
		g := newAnchoredGramIndex(lits, anchors)
		for range 20 {
			s := word(rng.IntN(60))
			if rng.IntN(3) == 0 {
				// Plant a literal so that long ones are found too.
				l := lits[rng.IntN(len(lits))]
				at := rng.IntN(len(s) + 1)
				s = s[:at] + l + s[at:]
			}
			found := map[int]bool{}
			g.scan(s, func(i int) { found[i] = true })
			ls := asciiLower(s)
			for i, l := range lits {
				l = asciiLower(l)
				want := strings.Contains(ls, l)
				if anchors != nil {
					switch anchors[i] {
					case anchorStart:
						want = strings.HasPrefix(ls, l)
					case anchorEnd:
						want = strings.HasSuffix(ls, l)
					case anchorStart | anchorEnd:
						want = ls == l
					}
					if len(l) == 1 && anchors[i] != 0 {
						want = false // not supported: never reported
					}
				}
				if found[i] != want {
					t.Fatalf("round %d: text %q, literal %d %q (anchors %v): found %v, want %v", round, s, i, l, anchors, found[i], want)
				}
			}
		}
	}
}

// fullMatch evaluates every rule that applies to the event's log source,
// bypassing the literal index: the reference the index must agree with.
func fullMatch(e *Engine, ev *event.Event) []string {
	var out []string
	ls := lowerLogsource(ev.Logsource)
	for _, r := range e.rules {
		if applies(r.ls, ls, e.catFn) && r.written.eval(ev, e.fields.fieldsOf(ev)) {
			out = append(out, r.rule.Title)
		}
	}
	return out
}

func indexedMatch(e *Engine, ev *event.Event) []string {
	var out []string
	e.Match(ev, func(r *sigma.Rule) { out = append(out, r.Title) })
	return out
}

// TestIndexAgreesWithFullEvaluation is the index's soundness check: the
// trigger sets must be necessary, so skipping non-candidates never loses a
// match.
func TestIndexAgreesWithFullEvaluation(t *testing.T) {
	check := func(t *testing.T, e *Engine, evs []*event.Event) int {
		matched := 0
		for i, ev := range evs {
			got, want := indexedMatch(e, ev), fullMatch(e, ev)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("event %d: index gave %v, full evaluation %v", i, got, want)
			}
			matched += len(want)
		}
		return matched
	}
	t.Run("cases", func(t *testing.T) {
		dirs, _ := filepath.Glob(filepath.Join("testdata", "cases", "*"))
		for _, dir := range dirs {
			e := newEngine(t, Config{}, filepath.Join(dir, "rule.yml"))
			check(t, e, readEvents(t, filepath.Join(dir, "events.jsonl")))
		}
	})
	t.Run("corpus", func(t *testing.T) {
		dir := vigiltest.Corpus(t, "sigma")
		coll := sigma.LoadPaths(filepath.Join(dir, "rules", "windows", "process_creation"))
		e, _ := New(Config{}, coll)
		n := 1000
		if testing.Short() {
			n = 300
		}
		matched := check(t, e, synth.ProcessCreation(n, 3))
		if matched == 0 {
			t.Error("no synthetic event matched any corpus rule; the check proves nothing")
		}
	})
}

// TestMatchDoesNotAllocate: events that match nothing cost no allocation
// once their log source has been seen.
func TestMatchDoesNotAllocate(t *testing.T) {
	dir := filepath.Join("testdata", "cases", "fields")
	e := newEngine(t, Config{}, filepath.Join(dir, "rule.yml"))
	ev := &event.Event{
		Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
		Fields: []event.Field{
			{Name: "Image", Value: event.S(`C:\Windows\System32\certutil.exe`)},
			{Name: "CommandLine", Value: event.S("certutil -decode a b")},
			{Name: "OriginalFileName", Value: event.S("CertUtil.exe")},
			{Name: "ParentImage", Value: event.S(`C:\Windows\explorer.exe`)},
		},
	}
	n := 0
	fn := func(*sigma.Rule) { n++ }
	e.Match(ev, fn)
	if n != 0 {
		t.Fatalf("event matched %d rules; the test needs a non-matching one", n)
	}
	if allocs := testing.AllocsPerRun(100, func() { e.Match(ev, fn) }); allocs != 0 {
		t.Errorf("Match allocated %.1f times per non-matching event", allocs)
	}
}

func TestLowerInto(t *testing.T) {
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	texts := []string{"", "A", "Hello, World! @[`{", string(all), "ÀÉ Z@[ az AZ \xff\x80\xc0\xdaQ", strings.Repeat("MiXeD@Zz[", 7)}
	var buf []byte
	for _, s := range texts {
		buf = lowerInto(buf, s)
		if got, want := string(buf), asciiLower(s); got != want {
			t.Errorf("lowerInto(%q) = %q, want %q", s, got, want)
		}
	}
}
