package query

import "strings"

// unit is one character of a decoded value: a literal byte, or a wildcard
// ('*' any run, '?' one character). Values are handled as bytes: every
// special character is ASCII, so UTF-8 text passes through untouched.
type unit struct {
	c    byte
	wild bool
}

type units []unit

// addWild appends a wildcard; a run of '*' is one '*'.
func (u units) addWild(c byte) units {
	if c == '*' && len(u) > 0 && u[len(u)-1].wild && u[len(u)-1].c == '*' {
		return u
	}
	return append(u, unit{c: c, wild: true})
}

func (u units) hasWild() bool {
	for _, x := range u {
		if x.wild {
			return true
		}
	}
	return false
}

// isStar reports the lone pattern "*".
func (u units) isStar() bool { return len(u) == 1 && u[0].wild && u[0].c == '*' }

// literal is the text with wildcards written as themselves.
func (u units) literal() string {
	b := make([]byte, len(u))
	for i, x := range u {
		b[i] = x.c
	}
	return string(b)
}

// pattern writes u in Sigma's escaping, canonically: a literal * or ? is
// escaped, a literal backslash is doubled only where a single one would
// escape what follows (a wildcard, or a literal \ * ? written escaped).
func (u units) pattern() string {
	var b strings.Builder
	b.Grow(len(u) + 4)
	for i, x := range u {
		switch {
		case x.wild:
			b.WriteByte(x.c)
		case x.c == '*' || x.c == '?':
			b.WriteByte('\\')
			b.WriteByte(x.c)
		case x.c == '\\':
			b.WriteByte('\\')
			if i+1 < len(u) && (u[i+1].wild || u[i+1].c == '\\' || u[i+1].c == '*' || u[i+1].c == '?') {
				b.WriteByte('\\')
			}
		default:
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// decodeUnquoted applies the unquoted escapes to a raw word.
func decodeUnquoted(raw string) units {
	u := make(units, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\\' && i+1 < len(raw) && escapableUnquoted(raw[i+1]):
			i++
			u = append(u, unit{c: raw[i]})
		case c == '*' || c == '?':
			u = u.addWild(c)
		default:
			u = append(u, unit{c: c})
		}
	}
	return u
}

// decodePattern reads a Wildcard value (Sigma escaping) back into units.
func decodePattern(p string) units {
	u := make(units, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p) && (p[i+1] == '\\' || p[i+1] == '*' || p[i+1] == '?'):
			i++
			u = append(u, unit{c: p[i]})
		case c == '*' || c == '?':
			u = u.addWild(c)
		default:
			u = append(u, unit{c: c})
		}
	}
	return u
}

// literalUnits is s as literal text.
func literalUnits(s string) units {
	u := make(units, len(s))
	for i := 0; i < len(s); i++ {
		u[i] = unit{c: s[i]}
	}
	return u
}
