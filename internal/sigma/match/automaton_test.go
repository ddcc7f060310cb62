package match

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func scanAll(a *Automaton, s string) []int {
	var got []int
	a.Scan(s, func(p int) { got = append(got, p) })
	slices.Sort(got)
	return got
}

// naiveScan counts every (overlapping) occurrence of every pattern.
func naiveScan(patterns []string, s string) []int {
	var got []int
	ls := foldASCII(s)
	for i, p := range patterns {
		lp := foldASCII(p)
		if lp == "" {
			got = append(got, i)
			continue
		}
		for j := 0; j+len(lp) <= len(ls); j++ {
			if ls[j:j+len(lp)] == lp {
				got = append(got, i)
			}
		}
	}
	slices.Sort(got)
	return got
}

func TestAutomaton(t *testing.T) {
	cases := []struct {
		name     string
		patterns []string
		text     string
		want     []int
	}{
		{"textbook overlap", []string{"he", "she", "his", "hers"}, "ushers", []int{0, 1, 3}},
		{"case folded both ways", []string{"CMD.exe", "powershell"}, "C:\\cmd.EXE /c POWERSHELL", []int{0, 1}},
		{"repeated occurrences", []string{"aa"}, "aaaa", []int{0, 0, 0}},
		{"duplicates each reported", []string{"x", "X"}, "x", []int{0, 1}},
		{"nested", []string{"a", "ab", "abc", "b", "bc", "c"}, "abc", []int{0, 1, 2, 3, 4, 5}},
		{"none", []string{"zzz"}, "abc", nil},
		{"empty pattern once", []string{"", "b"}, "abab", []int{0, 1, 1}},
		{"no patterns", nil, "abc", nil},
		{"non-ASCII bytes", []string{"–x", "\x00c\x00"}, "a –X \x00c\x00", []int{0, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAutomaton(tc.patterns)
			if got := scanAll(a, tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("Scan = %v, want %v", got, tc.want)
			}
			if got := naiveScan(tc.patterns, tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("naive = %v, want %v (test table wrong)", got, tc.want)
			}
		})
	}
}

func TestAutomatonRandomAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "abAB-\\\xe2\x80"
	rs := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for range 300 {
		pats := make([]string, 1+r.IntN(20))
		for i := range pats {
			pats[i] = rs(1 + r.IntN(5))
		}
		a := NewAutomaton(pats)
		for range 10 {
			text := rs(r.IntN(60))
			if got, want := scanAll(a, text), naiveScan(pats, text); !slices.Equal(got, want) {
				t.Fatalf("patterns %q text %q: Scan %v, naive %v", pats, text, got, want)
			}
		}
	}
}

func TestAutomatonScanDoesNotAllocate(t *testing.T) {
	pats, texts := benchPatterns(1500), benchCommandLines(16)
	a := NewAutomaton(pats)
	n := 0
	fn := func(int) { n++ }
	allocs := testing.AllocsPerRun(100, func() {
		for _, s := range texts {
			a.Scan(s, fn)
		}
	})
	if allocs != 0 {
		t.Errorf("Scan allocates %v times per run", allocs)
	}
	if n == 0 {
		t.Error("benchmark texts matched no pattern")
	}
}

// benchPatterns makes n distinct command-line-like literals, deterministic.
func benchPatterns(n int) []string {
	r := rand.New(rand.NewPCG(7, 7))
	words := []string{"powershell", "-enc", "cmd.exe", "\\windows\\", "system32", "rundll32", "invoke-",
		"downloadstring", "http://", ".ps1", "certutil", "-urlcache", "bypass", "hidden", "mshta",
		"regsvr32", "/s", "/i:", "scrobj.dll", "wmic", "process call create", "vssadmin", "delete shadows",
		"bitsadmin", "/transfer", "schtasks", "/create", "appdata\\", "\\temp\\", "frombase64string"}
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		w := words[r.IntN(len(words))]
		if r.IntN(3) > 0 {
			w += words[r.IntN(len(words))]
		}
		if r.IntN(2) == 0 {
			w += string(rune('a' + r.IntN(26)))
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// benchCommandLines makes n command lines of about 300 bytes.
func benchCommandLines(n int) []string {
	r := rand.New(rand.NewPCG(9, 9))
	parts := []string{`"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"`, "-NoProfile", "-ExecutionPolicy Bypass",
		"-Command", `"& {Get-ChildItem C:\Users\alice\AppData\Local\Temp | Remove-Item}"`, "/c", "echo",
		`C:\Program Files\Vendor\App\app.exe`, "--type=renderer", "--lang=en-US", "--field-trial-handle=1234,5678",
		"-w hidden", `\\server\share\file.txt`, "rundll32.exe", "shell32.dll,Control_RunDLL"}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for b.Len() < 300 {
			b.WriteString(parts[r.IntN(len(parts))])
			b.WriteByte(' ')
		}
		out[i] = b.String()[:300]
	}
	return out
}

func BenchmarkAutomatonScan(b *testing.B) {
	a := NewAutomaton(benchPatterns(1500))
	texts := benchCommandLines(64)
	hits := 0
	fn := func(int) { hits++ }
	b.ReportAllocs()
	b.SetBytes(300)
	i := 0
	for b.Loop() {
		a.Scan(texts[i%len(texts)], fn)
		i++
	}
	b.ReportMetric(float64(hits)/float64(i), "hits/op")
}

func BenchmarkNewAutomaton(b *testing.B) {
	pats := benchPatterns(1500)
	b.ReportAllocs()
	for b.Loop() {
		NewAutomaton(pats)
	}
}
