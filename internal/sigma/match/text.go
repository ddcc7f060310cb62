package match

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Case-insensitive matching folds ASCII only, on both sides: patterns are
// lower-cased once at compile time and event text is compared byte by byte
// through lowerASCII, so nothing is allocated per match. A pattern holding a
// non-ASCII letter that has case variants (É, Ж, ...) instead goes through a
// (?i) regular expression, which folds like strings.EqualFold; such patterns
// are rare in practice. Consequence, documented rather than hidden: an ASCII
// pattern "k" does not match the Kelvin sign U+212A, which EqualFold would
// treat as equal.

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// foldASCII lower-cases the ASCII letters of s.
func foldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerASCII(b[j])
			}
			return string(b)
		}
	}
	return s
}

// equalLower reports whether s equals the lower-case pattern p ignoring
// ASCII case; len checks are the caller's.
func equalLower(s, p string) bool {
	if len(s) != len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lowerASCII(s[i]) != p[i] {
			return false
		}
	}
	return true
}

func hasPrefixLower(s, p string) bool {
	return len(s) >= len(p) && equalLower(s[:len(p)], p)
}

func hasSuffixLower(s, p string) bool {
	return len(s) >= len(p) && equalLower(s[len(s)-len(p):], p)
}

// substr is a compiled substring search for one literal, case-folded or not.
// Folded search anchors on the pattern's rarest byte (by a fixed ranking of
// how common bytes are in command lines and paths) and jumps between its
// occurrences with strings.IndexByte (vectorised in the runtime), looking for
// both cases of a letter; only at those positions is the whole literal
// compared.
type substr struct {
	p      string // lower-cased when fold
	fold   bool
	anchor int // index in p of the byte searched for
}

// byteCommonness ranks bytes from most to least common in command lines,
// paths and English text; bytes not listed are rarer than all of these.
const byteCommonness = " \\e-t.a/oinsrlcd:hmupfgwy_b\"v0k1x2=3,4j5q6789z"

func byteRank(c byte) int {
	if i := strings.IndexByte(byteCommonness, lowerASCII(c)); i >= 0 {
		return i
	}
	return len(byteCommonness)
}

func newSubstr(p string, fold bool) substr {
	s := substr{p: p, fold: fold}
	for i := 1; i < len(p); i++ {
		if byteRank(p[i]) > byteRank(p[s.anchor]) {
			s.anchor = i
		}
	}
	return s
}

// index returns the first offset of the literal in s at or after from, or -1.
func (m *substr) index(s string, from int) int {
	p := m.p
	if !m.fold {
		i := strings.Index(s[from:], p)
		if i < 0 {
			return -1
		}
		return from + i
	}
	n := len(p)
	if n == 0 {
		return from
	}
	a := m.anchor
	// Anchor positions must leave room for the rest of the literal.
	end := len(s) - (n - a - 1)
	lo, up := p[a], upperASCII(p[a])
	if lo == up {
		for pos := from + a; pos < end; {
			j := strings.IndexByte(s[pos:end], lo)
			if j < 0 {
				return -1
			}
			start := pos + j - a
			if equalLower(s[start:start+n], p) {
				return start
			}
			pos += j + 1
		}
		return -1
	}
	// Next known occurrence of each case at or after pos: -2 unknown, -1 none.
	nextLo, nextUp := -2, -2
	for pos := from + a; pos < end; {
		if nextLo != -1 && nextLo < pos {
			if j := strings.IndexByte(s[pos:end], lo); j < 0 {
				nextLo = -1
			} else {
				nextLo = pos + j
			}
		}
		if nextUp != -1 && nextUp < pos {
			if j := strings.IndexByte(s[pos:end], up); j < 0 {
				nextUp = -1
			} else {
				nextUp = pos + j
			}
		}
		var c int
		switch {
		case nextLo < 0 && nextUp < 0:
			return -1
		case nextLo < 0:
			c = nextUp
		case nextUp < 0:
			c = nextLo
		default:
			c = min(nextLo, nextUp)
		}
		start := c - a
		if equalLower(s[start:start+n], p) {
			return start
		}
		pos = c + 1
	}
	return -1
}

// textMatcher matches text against one Sigma pattern. Compile picks the
// cheapest shape that expresses the pattern.
type textMatcher interface {
	matchText(s string) bool
	// literal returns a (lower-cased) substring every matching text
	// contains, "" when there is none.
	literal() string
}

type anyText struct{}

func (anyText) matchText(string) bool { return true }
func (anyText) literal() string       { return "" }

type equalText struct {
	p    string
	fold bool
}

func (m *equalText) matchText(s string) bool {
	if m.fold {
		return equalLower(s, m.p)
	}
	return s == m.p
}
func (m *equalText) literal() string { return foldASCII(m.p) }

type prefixText struct {
	p    string
	fold bool
}

func (m *prefixText) matchText(s string) bool {
	if m.fold {
		return hasPrefixLower(s, m.p)
	}
	return strings.HasPrefix(s, m.p)
}
func (m *prefixText) literal() string { return foldASCII(m.p) }

type suffixText struct {
	p    string
	fold bool
}

func (m *suffixText) matchText(s string) bool {
	if m.fold {
		return hasSuffixLower(s, m.p)
	}
	return strings.HasSuffix(s, m.p)
}
func (m *suffixText) literal() string { return foldASCII(m.p) }

type containsText struct{ sub substr }

func (m *containsText) matchText(s string) bool { return m.sub.index(s, 0) >= 0 }
func (m *containsText) literal() string         { return foldASCII(m.sub.p) }

// segment is a run of pattern text between '*' wildcards; it may hold '?'
// wildcards, each matching exactly one character (one UTF-8 sequence).
type segment struct {
	text  string // lower-cased when folding; '?' positions hold a zero byte
	quest []bool // nil when the segment has no '?'
	sub   substr // for searching a '?'-free segment
}

// matchAt matches the segment at s[i:], returning the end offset.
func (g *segment) matchAt(s string, i int, fold bool) (int, bool) {
	for j := 0; j < len(g.text); j++ {
		if i >= len(s) {
			return 0, false
		}
		if g.quest != nil && g.quest[j] {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		c := s[i]
		if fold {
			c = lowerASCII(c)
		}
		if c != g.text[j] {
			return 0, false
		}
		i++
	}
	return i, true
}

// find returns the leftmost match of the segment in s at or after from.
func (g *segment) find(s string, from int, fold bool) (start, end int) {
	if g.quest == nil {
		i := g.sub.index(s, from)
		if i < 0 {
			return -1, -1
		}
		return i, i + len(g.text)
	}
	for i := from; i <= len(s); i++ {
		if e, ok := g.matchAt(s, i, fold); ok {
			return i, e
		}
	}
	return -1, -1
}

// globText is the general wildcard shape: segments separated by '*'. The
// first segment is anchored at the start unless the pattern starts with '*',
// the last at the end unless it ends with '*'. Taking the leftmost match of
// each middle segment is optimal because a segment matched at a given
// offset always has the same length.
type globText struct {
	segs       []segment
	openStart  bool
	openEnd    bool
	fold       bool
	longestLit string
}

func (m *globText) matchText(s string) bool {
	segs := m.segs
	pos := 0
	if !m.openStart {
		end, ok := segs[0].matchAt(s, 0, m.fold)
		if !ok {
			return false
		}
		if len(segs) == 1 && !m.openEnd {
			return end == len(s)
		}
		pos = end
		segs = segs[1:]
	}
	var last *segment
	if !m.openEnd {
		last = &segs[len(segs)-1]
		segs = segs[:len(segs)-1]
	}
	for i := range segs {
		_, end := segs[i].find(s, pos, m.fold)
		if end < 0 {
			return false
		}
		pos = end
	}
	if last == nil {
		return true
	}
	if last.quest == nil {
		n := len(last.text)
		if len(s)-pos < n {
			return false
		}
		if m.fold {
			return equalLower(s[len(s)-n:], last.text)
		}
		return s[len(s)-n:] == last.text
	}
	for i := pos; i <= len(s); i++ {
		if e, ok := last.matchAt(s, i, m.fold); ok && e == len(s) {
			return true
		}
	}
	return false
}

func (m *globText) literal() string { return m.longestLit }

// regexText is the fallback for case-insensitive patterns with non-ASCII
// letters; see the note at the top of this file.
type regexText struct {
	re  *regexp.Regexp
	lit string
	// nonASCII is set when the pattern holds a rune none of whose case
	// variants is ASCII (Cyrillic а, the Ä of Järjestelmänvalvoja, but not
	// the Kelvin sign, which folds to k): pure-ASCII text, nearly all
	// telemetry, then cannot match, and is rejected without the regexp.
	nonASCII bool
}

func (m *regexText) matchText(s string) bool {
	if m.nonASCII && isASCII(s) {
		return false
	}
	return m.re.MatchString(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// needsNonASCII reports whether s holds a rune that only non-ASCII text
// can match under Unicode case folding.
func needsNonASCII(s string) bool {
	for _, r := range s {
		if r < utf8.RuneSelf || r == utf8.RuneError {
			continue
		}
		ascii := false
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				ascii = true
				break
			}
		}
		if !ascii {
			return true
		}
	}
	return false
}
func (m *regexText) literal() string { return m.lit }

// needsUnicodeFold reports whether folding s needs more than ASCII rules.
func needsUnicodeFold(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf && r != utf8.RuneError && unicode.SimpleFold(r) != r {
			return true
		}
	}
	return false
}

// compileText picks the matcher shape for a normalized pattern.
func compileText(p pattern, fold bool) textMatcher {
	p = p.normalize()
	if fold {
		// Invalid UTF-8 (raw bytes from utf16 encodings, mostly) has no
		// Unicode case; such patterns stay on the byte path.
		unicodeFold, valid := false, true
		for _, t := range p {
			if t.wild == 0 {
				unicodeFold = unicodeFold || needsUnicodeFold(t.lit)
				valid = valid && utf8.ValidString(t.lit)
			}
		}
		if unicodeFold && valid {
			return compileUnicodeFold(p)
		}
		p = p.mapLiterals(foldASCII)
	}
	switch {
	case len(p) == 0:
		return &equalText{p: "", fold: fold}
	case len(p) == 1 && p[0].wild == '*':
		return anyText{}
	case len(p) == 1 && p[0].wild == 0:
		return &equalText{p: p[0].lit, fold: fold}
	case len(p) == 2 && p[0].wild == 0 && p[1].wild == '*':
		return &prefixText{p: p[0].lit, fold: fold}
	case len(p) == 2 && p[0].wild == '*' && p[1].wild == 0:
		return &suffixText{p: p[1].lit, fold: fold}
	case len(p) == 3 && p[0].wild == '*' && p[1].wild == 0 && p[2].wild == '*':
		return &containsText{sub: newSubstr(p[1].lit, fold)}
	}
	g := &globText{fold: fold, openStart: p.startsWithStar(), openEnd: p.endsWithStar()}
	var cur []token
	flush := func() {
		var b strings.Builder
		var quest []bool
		for _, t := range cur {
			if t.wild == '?' {
				if quest == nil {
					quest = make([]bool, b.Len(), b.Len()+1)
				}
				b.WriteByte(0)
				quest = append(quest, true)
				continue
			}
			b.WriteString(t.lit)
			if quest != nil {
				for range len(t.lit) {
					quest = append(quest, false)
				}
			}
			if len(t.lit) > len(g.longestLit) {
				g.longestLit = foldASCII(t.lit)
			}
		}
		seg := segment{text: b.String(), quest: quest}
		if quest == nil {
			seg.sub = newSubstr(seg.text, fold)
		}
		g.segs = append(g.segs, seg)
		cur = cur[:0]
	}
	for i, t := range p {
		if t.wild == '*' {
			if i > 0 {
				flush()
			}
			continue
		}
		cur = append(cur, t)
	}
	if len(cur) > 0 {
		flush()
	}
	if len(g.segs) == 0 { // only stars: normalize left one
		return anyText{}
	}
	return g
}

func compileUnicodeFold(p pattern) textMatcher {
	var b strings.Builder
	b.WriteString(`(?is)\A`)
	best, nonASCII := "", false
	for _, t := range p {
		if t.wild == 0 && needsNonASCII(t.lit) {
			nonASCII = true
		}
		switch t.wild {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(t.lit))
			if l := longestFoldSafeRun(t.lit); len(l) > len(best) {
				best = l
			}
		}
	}
	b.WriteString(`\z`)
	return &regexText{re: regexp.MustCompile(b.String()), lit: best, nonASCII: nonASCII}
}

// longestFoldSafeRun returns the longest run of s (lower-cased) whose every
// match under Unicode folding is its ASCII folding: ASCII other than k and s
// (the Kelvin sign and long s fold to them).
func longestFoldSafeRun(s string) string {
	best, start := "", -1
	for i := 0; i <= len(s); i++ {
		safe := false
		if i < len(s) {
			c := lowerASCII(s[i])
			safe = c < utf8.RuneSelf && c != 'k' && c != 's'
		}
		if safe {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start > len(best) {
			best = foldASCII(s[start:i])
		}
		start = -1
	}
	return best
}
