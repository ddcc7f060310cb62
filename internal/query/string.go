package query

import (
	"strings"

	"github.com/vigilsoc/vigil/internal/store"
)

// String writes e as canonical query text: Parse(String(e)) gives e back for
// every tree Parse returns (so the console can show "the query as run"). It
// spells operators AND, OR, NOT, writes _exists_:f for existence, quotes
// only where needed, and writes a nil Expr as "*".
//
// For trees built by hand it writes an equivalent query where the language
// has one: a Contains on a field becomes field:*text*, an empty And is "*",
// an empty Or "NOT *". Free-text comparisons other than contains and
// wildcard have no syntax and are written as free text.
//
// The text may be longer than what was typed (explicit ANDs, resolved
// times), so it may exceed a Parser's MaxLength that the original met.
func String(e store.Expr) string {
	var b strings.Builder
	writeExpr(&b, e, parentTop)
	return b.String()
}

type parent uint8

const (
	parentTop parent = iota
	parentAnd
	parentOr
	parentNot
)

func writeExpr(b *strings.Builder, e store.Expr, in parent) {
	switch x := e.(type) {
	case nil:
		b.WriteString("*")
	case *store.And, *store.Or, *store.Not, *store.Compare:
		writeExpr(b, deref(x), in)
	case store.And:
		writeList(b, x, " AND ", parentAnd, in == parentNot, "*")
	case store.Or:
		writeList(b, x, " OR ", parentOr, in == parentNot || in == parentAnd, "NOT *")
	case store.Not:
		b.WriteString("NOT ")
		writeExpr(b, x.X, parentNot)
	case store.Compare:
		writeCompare(b, x)
	default:
		b.WriteString("*")
	}
}

// deref turns a pointer to a node into the node; a nil pointer is a nil
// Expr. Parse never returns pointers, but hand-built trees may hold them.
func deref(e store.Expr) store.Expr {
	switch x := e.(type) {
	case *store.And:
		if x != nil {
			return *x
		}
	case *store.Or:
		if x != nil {
			return *x
		}
	case *store.Not:
		if x != nil {
			return *x
		}
	case *store.Compare:
		if x != nil {
			return *x
		}
	default:
		return e
	}
	return nil
}

func writeList(b *strings.Builder, list []store.Expr, sep string, as parent, paren bool, empty string) {
	switch len(list) {
	case 0:
		b.WriteString(empty)
		return
	case 1:
		// One child stands for itself; the surrounding context still
		// decides its parentheses.
		in := as
		if paren {
			in = parentNot
		}
		writeExpr(b, list[0], in)
		return
	}
	if paren {
		b.WriteByte('(')
	}
	for i, x := range list {
		if i > 0 {
			b.WriteString(sep)
		}
		writeExpr(b, x, as)
	}
	if paren {
		b.WriteByte(')')
	}
}

// context says where a value is written, which decides what needs quotes.
type context uint8

const (
	ctxValue   context = iota // after "field:" or "field!="
	ctxCompare                // after ":>" and the like
	ctxFree                   // a free-text term
)

func writeCompare(b *strings.Builder, c store.Compare) {
	if c.Field == "" {
		switch c.Op {
		case store.OpWildcard:
			writeValue(b, decodePattern(c.Value), ctxFree)
		case store.OpExists:
			b.WriteString("*")
		default:
			writeValue(b, literalUnits(c.Value), ctxFree)
		}
		return
	}
	if c.Op == store.OpExists {
		b.WriteString("_exists_:")
		writeName(b, c.Field)
		return
	}
	writeName(b, c.Field)
	switch c.Op {
	case store.OpNe:
		b.WriteString("!=")
		writeValue(b, literalUnits(c.Value), ctxValue)
	case store.OpWildcard:
		b.WriteByte(':')
		writeValue(b, decodePattern(c.Value), ctxValue)
	case store.OpContains:
		b.WriteByte(':')
		u := units{}.addWild('*')
		u = append(u, literalUnits(c.Value)...)
		writeValue(b, u.addWild('*'), ctxValue)
	case store.OpLt, store.OpLe, store.OpGt, store.OpGe:
		b.WriteByte(':')
		b.WriteString(c.Op.String())
		writeValue(b, literalUnits(c.Value), ctxCompare)
	default:
		b.WriteByte(':')
		writeValue(b, literalUnits(c.Value), ctxValue)
	}
}

// writeName writes a field name, quoted unless it is plain.
func writeName(b *strings.Builder, name string) {
	if plainName(name) {
		b.WriteString(name)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(name); i++ {
		if escapableQuoted(name[i]) {
			b.WriteByte('\\')
		}
		b.WriteByte(name[i])
	}
	b.WriteByte('"')
}

func plainName(name string) bool {
	if name == "" || name == "_exists_" || name == "has" || isKeyword(name) || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		case c == '_', c == '.', c == '@', c == '/', c == '-':
		default:
			return false
		}
	}
	return true
}

func isKeyword(s string) bool {
	return s == "&&" || s == "||" || strings.EqualFold(s, "and") || strings.EqualFold(s, "or") || strings.EqualFold(s, "not")
}

func writeValue(b *strings.Builder, u units, ctx context) {
	if bareValue(u, ctx) {
		writeBare(b, u)
	} else {
		writeQuoted(b, u)
	}
}

// bareValue reports whether u reads back the same unquoted in ctx.
func bareValue(u units, ctx context) bool {
	if len(u) == 0 {
		return false
	}
	if first := u[0]; !first.wild {
		switch first.c {
		case '(', '"', '[', '{', '>', '<':
			return false
		case '-', '!':
			if ctx == ctxFree {
				return false
			}
		case '=':
			if ctx == ctxCompare {
				return false
			}
		}
	}
	for i, x := range u {
		if x.wild {
			continue
		}
		switch {
		case isSpace(x.c), x.c == '(', x.c == ')', x.c == '"':
			return false
		case ctxFree == ctx && x.c == ':':
			return false
		case ctxFree == ctx && x.c == '!' && i+1 < len(u) && !u[i+1].wild && u[i+1].c == '=':
			return false
		}
	}
	return u.hasWild() || !isKeyword(u.literal())
}

// writeBare writes u unquoted, escaping what the unquoted word rules need.
func writeBare(b *strings.Builder, u units) {
	for i, x := range u {
		switch {
		case x.wild:
			b.WriteByte(x.c)
		case x.c == '*' || x.c == '?':
			b.WriteByte('\\')
			b.WriteByte(x.c)
		case x.c == '\\':
			b.WriteByte('\\')
			if i+1 == len(u) || u[i+1].wild || escapableUnquoted(u[i+1].c) {
				b.WriteByte('\\')
			}
		default:
			b.WriteByte(x.c)
		}
	}
}

// writeQuoted writes u in double quotes.
func writeQuoted(b *strings.Builder, u units) {
	b.WriteByte('"')
	for i, x := range u {
		switch {
		case x.wild:
			b.WriteByte(x.c)
		case x.c == '"' || x.c == '*' || x.c == '?':
			b.WriteByte('\\')
			b.WriteByte(x.c)
		case x.c == '\\':
			b.WriteByte('\\')
			if i+1 == len(u) || u[i+1].wild || escapableQuoted(u[i+1].c) {
				b.WriteByte('\\')
			}
		default:
			b.WriteByte(x.c)
		}
	}
	b.WriteByte('"')
}
