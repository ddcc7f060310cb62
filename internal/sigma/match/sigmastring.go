package match

import (
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// A pattern is a Sigma string after escape processing: literal text and
// wildcards as separate tokens, so that transformations (utf16, windash,
// expand) rewrite text without turning an escaped '*' into a wildcard or a
// wildcard into text.
type pattern []token

type token struct {
	wild byte   // 0 for literal text, '*' or '?'
	lit  string // the text when wild == 0
}

// parsePattern applies Sigma's escaping: a backslash escapes '*', '?' and
// itself; before any other character (or at the end) it is a plain
// backslash. So `C:\Windows\*` ends in a literal star, and a path ending in
// a backslash followed by a wildcard is written `C:\\Windows\\*` (or
// `C:\Windows\\*`, a lone backslash before 'W' being plain).
func parsePattern(s string) pattern {
	var p pattern
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p = append(p, token{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) {
				switch n := s[i+1]; n {
				case '*', '?', '\\':
					lit.WriteByte(n)
					i++
					continue
				}
			}
			lit.WriteByte('\\')
		case '*', '?':
			flush()
			p = append(p, token{wild: c})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return p
}

// literalPattern is a pattern of plain text (no wildcard processing).
func literalPattern(s string) pattern {
	if s == "" {
		return nil
	}
	return pattern{{lit: s}}
}

func (p pattern) hasWildcard() bool {
	for _, t := range p {
		if t.wild != 0 {
			return true
		}
	}
	return false
}

// plain returns the text of a pattern without wildcards.
func (p pattern) plain() string {
	var b strings.Builder
	for _, t := range p {
		b.WriteString(t.lit)
	}
	return b.String()
}

// normalize merges adjacent literals and collapses runs of '*'.
func (p pattern) normalize() pattern {
	out := make(pattern, 0, len(p))
	for _, t := range p {
		if t.wild == 0 && t.lit == "" {
			continue
		}
		if n := len(out); n > 0 {
			last := &out[n-1]
			if t.wild == 0 && last.wild == 0 {
				last.lit += t.lit
				continue
			}
			if t.wild == '*' && last.wild == '*' {
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

func (p pattern) startsWithStar() bool { return len(p) > 0 && p[0].wild == '*' }
func (p pattern) endsWithStar() bool   { return len(p) > 0 && p[len(p)-1].wild == '*' }

func (p pattern) withLeadingStar() pattern {
	if p.startsWithStar() {
		return p
	}
	return append(pattern{{wild: '*'}}, p...)
}

func (p pattern) withTrailingStar() pattern {
	if p.endsWithStar() {
		return p
	}
	q := append(pattern(nil), p...)
	return append(q, token{wild: '*'})
}

// mapLiterals returns p with every literal token replaced by f(text).
func (p pattern) mapLiterals(f func(string) string) pattern {
	q := make(pattern, len(p))
	for i, t := range p {
		if t.wild == 0 {
			t.lit = f(t.lit)
		}
		q[i] = t
	}
	return q
}

// utf16Bytes encodes s (UTF-8) as UTF-16 bytes in the given byte order.
// Unlike pySigma's wide modifier this also encodes non-ASCII characters
// correctly (surrogate pairs included) instead of refusing them.
func utf16Bytes(s string, bigEndian bool) string {
	b := make([]byte, 0, 2*len(s))
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return string(b)
}

func base64Plain(data string) string {
	return base64.StdEncoding.EncodeToString([]byte(data))
}

// base64Offsets returns the three encodings of data that occur inside the
// base64 of any longer text containing data, whatever its byte offset modulo
// 3: data is prefixed with 0, 1 or 2 filler bytes, encoded, and the leading
// characters that depend on the filler and the trailing characters that
// depend on what follows are cut (as pySigma does: starts 0, 2, 3; ends
// none, -3, -2 chosen by (len+shift) mod 3).
func base64Offsets(data string) []string {
	starts := [3]int{0, 2, 3}
	ends := [3]int{0, 3, 2} // characters cut from the end; 0 = none
	out := make([]string, 0, 3)
	for i := range 3 {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(" ", i) + data))
		lo := starts[i]
		hi := len(enc) - ends[(len(data)+i)%3]
		if lo > hi {
			lo = hi
		}
		out = append(out, enc[lo:hi])
	}
	return out
}

// windashVariants expands every '-' or '/' that starts a word (not preceded
// by a word character, followed by one: pySigma's \B[-/]\b) into '-', '/',
// en dash, em dash and horizontal bar, in all combinations.
func windashVariants(p pattern) ([]pattern, bool) {
	type site struct{ tok, off int }
	var sites []site
	for ti, t := range p {
		if t.wild != 0 {
			continue
		}
		s := t.lit
		for i := 0; i < len(s); i++ {
			if s[i] != '-' && s[i] != '/' {
				continue
			}
			// Wildcards and token edges count as non-word, as the
			// placeholder replacement in pySigma sees each text part alone.
			prevWord := i > 0 && isWordBefore(s[:i])
			nextWord := i+1 < len(s) && isWordAfter(s[i+1:])
			if !prevWord && nextWord {
				sites = append(sites, site{ti, i})
			}
		}
	}
	if len(sites) == 0 {
		return []pattern{p}, true
	}
	dashes := [...]string{"-", "/", "\u2013", "\u2014", "\u2015"}
	total := 1
	for range sites {
		total *= len(dashes)
		if total > MaxVariants {
			return nil, false
		}
	}
	out := make([]pattern, 0, total)
	choice := make([]int, len(sites))
	for {
		q := make(pattern, len(p))
		copy(q, p)
		// Rewrite each token right to left so earlier offsets stay valid.
		for k := len(sites) - 1; k >= 0; k-- {
			st := sites[k]
			lit := q[st.tok].lit
			q[st.tok].lit = lit[:st.off] + dashes[choice[k]] + lit[st.off+1:]
		}
		out = append(out, q)
		k := 0
		for ; k < len(choice); k++ {
			choice[k]++
			if choice[k] < len(dashes) {
				break
			}
			choice[k] = 0
		}
		if k == len(choice) {
			return out, true
		}
	}
}

func isWordRune(r rune) bool {
	return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
		r >= 0x80 && r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r))
}

func isWordBefore(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordRune(r)
}

func isWordAfter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordRune(r)
}
