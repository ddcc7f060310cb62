package query

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/store"
)

// Default limits; a hostile query must not exhaust memory or the stack.
const (
	DefaultMaxLength = 8 << 10
	DefaultMaxDepth  = 64
)

// Parser parses queries with chosen settings; the zero Parser uses the
// defaults and the wall clock.
type Parser struct {
	// Now resolves relative times (now-24h); nil means time.Now. It is
	// called at most once per Parse.
	Now func() time.Time
	// MaxLength caps the query in bytes; 0 means DefaultMaxLength.
	MaxLength int
	// MaxDepth caps nesting (parentheses, value groups, NOTs, and the
	// depth of the tree built); 0 means DefaultMaxDepth.
	MaxDepth int
}

// Parse parses q with the default Parser. An empty query, or "*", matches
// every event and gives a nil Expr. Errors are *SyntaxError.
func Parse(q string) (store.Expr, error) { return Parser{}.Parse(q) }

// Parse parses q; see the package comment for the language. Errors are
// *SyntaxError.
func (cfg Parser) Parse(q string) (store.Expr, error) {
	maxLen := cfg.MaxLength
	if maxLen <= 0 {
		maxLen = DefaultMaxLength
	}
	maxDepth := cfg.MaxDepth
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if len(q) > maxLen {
		return nil, newSyntaxError(q, maxLen, ErrTooLong, fmt.Sprintf("query is longer than %d bytes", maxLen))
	}
	if !utf8.ValidString(q) {
		pos := 0
		for pos < len(q) {
			r, n := utf8.DecodeRuneInString(q[pos:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			pos += n
		}
		return nil, newSyntaxError(q, pos, nil, "query is not valid UTF-8")
	}
	p := &parser{src: q, maxDepth: maxDepth, nowFn: cfg.Now}
	p.skipSpace()
	if p.eof() {
		return nil, nil
	}
	e, err := p.parseOr(group{})
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		// parseOr stops only at the end or at a ')' it did not open.
		return nil, p.errorf(p.pos, "unexpected ')' without a matching '('")
	}
	if isMatchAll(e) {
		return nil, nil
	}
	if treeDepth(e) > maxDepth {
		return nil, newSyntaxError(q, 0, ErrTooDeep, fmt.Sprintf("query nests deeper than %d levels", maxDepth))
	}
	return e, nil
}

// isMatchAll reports a lone free-text "*", which is how "*" (or "(*)")
// parses: the whole query matches everything.
func isMatchAll(e store.Expr) bool {
	c, ok := e.(store.Compare)
	return ok && c.Field == "" && c.Op == store.OpWildcard && c.Value == "*"
}

// treeDepth counts Not, And and Or levels. String never writes more nested
// parentheses and NOTs than this, so limiting it keeps String's output
// within the limit too.
func treeDepth(e store.Expr) int {
	switch x := e.(type) {
	case store.Not:
		return 1 + treeDepth(x.X)
	case store.And:
		return 1 + maxDepthOf(x)
	case store.Or:
		return 1 + maxDepthOf(x)
	}
	return 0
}

func maxDepthOf(list []store.Expr) int {
	d := 0
	for _, x := range list {
		d = max(d, treeDepth(x))
	}
	return d
}

type parser struct {
	src      string
	pos      int
	depth    int
	maxDepth int
	nowFn    func() time.Time
	now      time.Time
	haveNow  bool
}

// group says what the terms being parsed are: ordinary terms at the top,
// values of one field inside field:( ... ), field names inside
// _exists_:( ... ).
type group struct {
	field  string
	exists bool
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	return newSyntaxError(p.src, pos, nil, fmt.Sprintf(format, args...))
}

func (p *parser) eof() bool  { return p.pos >= len(p.src) }
func (p *parser) peek() byte { return p.src[p.pos] }

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v':
		return true
	}
	return false
}

// skipSpace skips whitespace and reports whether there was any.
func (p *parser) skipSpace() bool {
	start := p.pos
	for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

// enter counts one level of nesting; the caller decrements p.depth.
func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > p.maxDepth {
		return newSyntaxError(p.src, pos, ErrTooDeep, fmt.Sprintf("query nests deeper than %d levels", p.maxDepth))
	}
	return nil
}

type keyword uint8

const (
	kwNone keyword = iota
	kwAnd
	kwOr
	kwNot
)

// keyword reports whether an operator word starts at p.pos, and where it
// ends. Operators stand apart: the word runs to whitespace or a parenthesis,
// so "a&&b" and "and:x" are not operators.
func (p *parser) keyword() (keyword, string, int) {
	end := p.pos
	for end < len(p.src) && !isSpace(p.src[end]) && p.src[end] != '(' && p.src[end] != ')' {
		end++
	}
	w := p.src[p.pos:end]
	switch {
	case w == "&&" || strings.EqualFold(w, "and"):
		return kwAnd, w, end
	case w == "||" || strings.EqualFold(w, "or"):
		return kwOr, w, end
	case strings.EqualFold(w, "not"):
		return kwNot, w, end
	}
	return kwNone, w, end
}

// atTermEnd reports that no term can start here: the end, a ')' or a binary
// operator.
func (p *parser) atTermEnd() bool {
	if p.eof() || p.peek() == ')' {
		return true
	}
	k, _, _ := p.keyword()
	return k == kwAnd || k == kwOr
}

func (p *parser) parseOr(g group) (store.Expr, error) {
	first, err := p.parseAnd(g)
	if err != nil {
		return nil, err
	}
	list := appendFlat[store.Or](nil, first)
	for {
		p.skipSpace()
		k, w, end := p.keyword()
		if k != kwOr {
			break
		}
		p.pos = end
		p.skipSpace()
		if p.atTermEnd() {
			return nil, p.errorf(p.pos, "expected a term after %s", w)
		}
		next, err := p.parseAnd(g)
		if err != nil {
			return nil, err
		}
		list = appendFlat(list, next)
	}
	if len(list) == 1 {
		return list[0], nil
	}
	return list, nil
}

func (p *parser) parseAnd(g group) (store.Expr, error) {
	first, err := p.parseUnary(g)
	if err != nil {
		return nil, err
	}
	list := appendFlat[store.And](nil, first)
	for {
		p.skipSpace()
		if p.eof() || p.peek() == ')' {
			break
		}
		k, w, end := p.keyword()
		if k == kwOr {
			break
		}
		if k == kwAnd {
			p.pos = end
			p.skipSpace()
			if p.atTermEnd() {
				return nil, p.errorf(p.pos, "expected a term after %s", w)
			}
		}
		next, err := p.parseUnary(g)
		if err != nil {
			return nil, err
		}
		list = appendFlat(list, next)
	}
	if len(list) == 1 {
		return list[0], nil
	}
	return list, nil
}

// appendFlat appends x to list, splicing x's children when x is the same
// kind of node, so (a AND b) AND c is one And of three.
func appendFlat[L store.And | store.Or](list L, x store.Expr) L {
	if same, ok := x.(L); ok {
		return append(list, same...)
	}
	return append(list, x)
}

func (p *parser) parseUnary(g group) (store.Expr, error) {
	p.skipSpace()
	start := p.pos
	if p.eof() {
		return nil, p.errorf(start, "expected a term")
	}
	k, w, end := p.keyword()
	switch k {
	case kwNot:
		p.pos = end
		return p.not(g, start, w)
	case kwAnd, kwOr:
		return nil, p.errorf(start, "unexpected %s: expected a term before it", w)
	}
	switch c := p.peek(); {
	case c == '!' && !strings.HasPrefix(p.src[p.pos:], "!="):
		p.pos++
		return p.not(g, start, "!")
	case c == '-':
		p.pos++
		return p.not(g, start, "-")
	case c == '(':
		return p.group(g)
	case c == ')':
		return nil, p.errorf(start, "unexpected ')': expected a term")
	}
	return p.term(g)
}

func (p *parser) not(g group, start int, op string) (store.Expr, error) {
	if err := p.enter(start); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.skipSpace()
	if p.atTermEnd() {
		return nil, p.errorf(p.pos, "expected a term after %s", op)
	}
	x, err := p.parseUnary(g)
	if err != nil {
		return nil, err
	}
	return store.Not{X: x}, nil
}

// group parses "( ... )" at p.pos.
func (p *parser) group(g group) (store.Expr, error) {
	open := p.pos
	if err := p.enter(open); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos++
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(open, "unclosed '('")
	}
	if p.peek() == ')' {
		return nil, p.errorf(open, "empty parentheses")
	}
	x, err := p.parseOr(g)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(open, "unclosed '('")
	}
	p.pos++ // the ')': parseOr stops only there or at the end
	return x, nil
}

// term parses one term that is not an operator or a parenthesised group.
func (p *parser) term(g group) (store.Expr, error) {
	start := p.pos
	switch {
	case g.exists:
		name, err := p.fieldNameValue()
		if err != nil {
			return nil, err
		}
		return store.Compare{Field: name, Op: store.OpExists}, nil
	case g.field != "":
		return p.valueSpec(g.field, "':'")
	}
	var u units
	quoted := p.peek() == '"'
	if quoted {
		var err error
		if u, err = p.quoted(); err != nil {
			return nil, err
		}
	} else {
		raw := p.word(true)
		if raw == "" {
			// word stops at once only before ':' or '!='.
			if p.peek() == ':' {
				return nil, p.errorf(start, "expected a field name before ':'")
			}
			return nil, p.errorf(start, "expected a field name before '!='")
		}
		u = decodeUnquoted(raw)
		if !p.eof() && p.peek() == ':' && (raw == "_exists_" || raw == "has") {
			p.pos++
			return p.existsValue(raw)
		}
	}
	if !p.eof() && p.peek() == ':' {
		field, err := fieldName(u)
		if err != nil {
			return nil, p.errorf(start, "%s", err)
		}
		p.pos++
		return p.valueSpec(field, "':'")
	}
	if p.skipNe() {
		field, err := fieldName(u)
		if err != nil {
			return nil, p.errorf(start, "%s", err)
		}
		return p.notEqual(field)
	}
	if len(u) == 0 {
		return nil, p.errorf(start, "empty free-text term")
	}
	if u.hasWild() {
		return store.Compare{Op: store.OpWildcard, Value: u.pattern()}, nil
	}
	return store.Compare{Op: store.OpContains, Value: u.literal()}, nil
}

// skipNe consumes optional whitespace and "!=" when they come next.
func (p *parser) skipNe() bool {
	j := p.pos
	for j < len(p.src) && isSpace(p.src[j]) {
		j++
	}
	if strings.HasPrefix(p.src[j:], "!=") {
		p.pos = j + 2
		return true
	}
	return false
}

// escapableUnquoted are the characters a backslash escapes in an unquoted
// word; before any other character a backslash is literal (Windows paths).
func escapableUnquoted(c byte) bool {
	switch c {
	case '\\', '*', '?', '"', '(', ')', ':':
		return true
	}
	return isSpace(c)
}

// escapableQuoted are the characters a backslash escapes inside quotes.
func escapableQuoted(c byte) bool {
	switch c {
	case '\\', '"', '*', '?':
		return true
	}
	return false
}

// word reads an unquoted word raw (escapes kept) from p.pos. It ends at
// whitespace or at a ')' that closes no '(' opened inside the word; a head
// word (field name or free text) also ends at ':' and "!=".
func (p *parser) word(head bool) string {
	start, depth := p.pos, 0
	i := p.pos
loop:
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '\\' && i+1 < len(p.src) && escapableUnquoted(p.src[i+1]):
			i += 2
			continue
		case isSpace(c):
			break loop
		case head && c == ':':
			break loop
		case head && c == '!' && i+1 < len(p.src) && p.src[i+1] == '=':
			break loop
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				break loop
			}
			depth--
		}
		i++
	}
	p.pos = i
	return p.src[start:i]
}

// rangeWord reads a range bound raw: it ends at whitespace, ']' or '}'.
func (p *parser) rangeWord() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '\\' && p.pos+1 < len(p.src) && escapableUnquoted(p.src[p.pos+1]) {
			p.pos += 2
			continue
		}
		if isSpace(c) || c == ']' || c == '}' {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

// quoted reads a "..." string at p.pos.
func (p *parser) quoted() (units, error) {
	open := p.pos
	var u units
	for i := p.pos + 1; i < len(p.src); i++ {
		c := p.src[i]
		switch {
		case c == '\\' && i+1 < len(p.src) && escapableQuoted(p.src[i+1]):
			i++
			u = append(u, unit{c: p.src[i]})
		case c == '"':
			p.pos = i + 1
			return u, nil
		case c == '*' || c == '?':
			u = u.addWild(c)
		default:
			u = append(u, unit{c: c})
		}
	}
	return nil, p.errorf(open, "unterminated quoted string")
}

// value reads a quoted string or an unquoted value word. The caller has
// checked that a value starts here.
func (p *parser) value() (units, error) {
	if p.peek() == '"' {
		return p.quoted()
	}
	return decodeUnquoted(p.word(false)), nil
}

// valueStart checks that a value can start here after skipping whitespace:
// not the end, not a ')', and, after whitespace, not an operator word.
func (p *parser) valueStart(after string) error {
	spaced := p.skipSpace()
	if p.eof() || p.peek() == ')' {
		return p.errorf(p.pos, "expected a value after %s", after)
	}
	if spaced {
		if k, _, _ := p.keyword(); k != kwNone {
			return p.errorf(p.pos, "expected a value after %s", after)
		}
	}
	return nil
}

// valueSpec parses what follows "field:" (or a term inside field:( ... )).
func (p *parser) valueSpec(field, after string) (store.Expr, error) {
	if err := p.valueStart(after); err != nil {
		return nil, err
	}
	switch p.peek() {
	case '(':
		return p.group(group{field: field})
	case '>', '<':
		return p.comparison(field)
	case '[', '{':
		if p.looksLikeRange() {
			return p.rangeValue(field)
		}
	}
	start := p.pos
	u, err := p.value()
	if err != nil {
		return nil, err
	}
	return p.equal(field, u, start)
}

// equal builds field:value from a value's units.
func (p *parser) equal(field string, u units, pos int) (store.Expr, error) {
	if u.isStar() {
		return store.Compare{Field: field, Op: store.OpExists}, nil
	}
	if field == "time" {
		if u.hasWild() {
			return nil, p.errorf(pos, "wildcards do not work on time; use a range such as time:[2023-03-01 TO 2023-03-31]")
		}
		t, dateOnly, err := p.parseTime(u.literal())
		if err != nil {
			return nil, p.errorf(pos, "%s", err)
		}
		if dateOnly {
			if !inRange(t.AddDate(0, 0, 1)) {
				return nil, p.errorf(pos, "time %q is out of range", u.literal())
			}
			return store.And{
				store.Compare{Field: field, Op: store.OpGe, Value: formatTime(t)},
				store.Compare{Field: field, Op: store.OpLt, Value: formatTime(t.AddDate(0, 0, 1))},
			}, nil
		}
		return store.Compare{Field: field, Op: store.OpEq, Value: formatTime(t)}, nil
	}
	if u.hasWild() {
		return store.Compare{Field: field, Op: store.OpWildcard, Value: u.pattern()}, nil
	}
	return store.Compare{Field: field, Op: store.OpEq, Value: u.literal()}, nil
}

// notEqual parses the value after "field !=".
func (p *parser) notEqual(field string) (store.Expr, error) {
	if err := p.valueStart("'!='"); err != nil {
		return nil, err
	}
	start := p.pos
	u, err := p.value()
	if err != nil {
		return nil, err
	}
	eq, err := p.equal(field, u, start)
	if err != nil {
		return nil, err
	}
	if c, ok := eq.(store.Compare); ok && c.Op == store.OpEq {
		c.Op = store.OpNe
		return c, nil
	}
	// A pattern, "*" or a whole day: the negation of the match.
	return store.Not{X: eq}, nil
}

// comparison parses ">=n" and the like at p.pos.
func (p *parser) comparison(field string) (store.Expr, error) {
	var op store.Op
	var text string
	switch {
	case strings.HasPrefix(p.src[p.pos:], ">="):
		op, text = store.OpGe, ">="
	case strings.HasPrefix(p.src[p.pos:], "<="):
		op, text = store.OpLe, "<="
	case p.peek() == '>':
		op, text = store.OpGt, ">"
	default:
		op, text = store.OpLt, "<"
	}
	p.pos += len(text)
	if err := p.valueStart("'" + text + "'"); err != nil {
		return nil, err
	}
	start := p.pos
	u, err := p.value()
	if err != nil {
		return nil, err
	}
	return p.bound(field, op, u, start)
}

// bound builds one comparison of a field with a number (or, for time, a
// time).
func (p *parser) bound(field string, op store.Op, u units, pos int) (store.Compare, error) {
	if u.hasWild() {
		return store.Compare{}, p.errorf(pos, "%s compares with a number or a time, not a pattern", op)
	}
	lit := u.literal()
	if field == "time" {
		t, dateOnly, err := p.parseTime(lit)
		if err != nil {
			return store.Compare{}, p.errorf(pos, "%s", err)
		}
		if dateOnly {
			// A date stands for the whole day (as Elasticsearch rounds
			// missing date parts): > and <= reach past it.
			switch op {
			case store.OpGt:
				op, t = store.OpGe, t.AddDate(0, 0, 1)
			case store.OpLe:
				op, t = store.OpLt, t.AddDate(0, 0, 1)
			}
			if !inRange(t) {
				return store.Compare{}, p.errorf(pos, "time %q is out of range", lit)
			}
		}
		return store.Compare{Field: field, Op: op, Value: formatTime(t)}, nil
	}
	n, ok := event.S(lit).Number()
	if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
		return store.Compare{}, p.errorf(pos, "%q is not a number; %s compares numbers", lit, op)
	}
	return store.Compare{Field: field, Op: op, Value: lit}, nil
}

// looksLikeRange reports whether a '[' or '{' at p.pos opens "lo TO hi":
// one bound, whitespace, then the word TO. Anything else (a GUID such as
// {0A1B-...}) is an ordinary value.
func (p *parser) looksLikeRange() bool {
	save := p.pos
	defer func() { p.pos = save }()
	p.pos++
	p.skipSpace()
	if p.eof() {
		return false
	}
	if p.peek() == '"' {
		if _, err := p.quoted(); err != nil {
			return false
		}
	} else if p.rangeWord() == "" {
		return false
	}
	if !p.skipSpace() {
		return false
	}
	if !p.rangeTo() {
		return false
	}
	return true
}

// rangeTo consumes the word TO (any case) when it comes next, followed by
// whitespace, a closing bracket or the end.
func (p *parser) rangeTo() bool {
	if len(p.src)-p.pos < 2 || !strings.EqualFold(p.src[p.pos:p.pos+2], "to") {
		return false
	}
	if p.pos+2 < len(p.src) {
		switch c := p.src[p.pos+2]; {
		case isSpace(c), c == ']', c == '}':
		default:
			return false
		}
	}
	p.pos += 2
	return true
}

// rangeValue parses "[lo TO hi]" (brackets inclusive, braces exclusive; *
// for an open end) into one or two comparisons.
func (p *parser) rangeValue(field string) (store.Expr, error) {
	open := p.src[p.pos]
	p.pos++
	p.skipSpace()
	loPos := p.pos
	lo, loOpen, err := p.rangeBound()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	p.rangeTo() // looksLikeRange saw it
	p.skipSpace()
	if p.eof() || p.peek() == ']' || p.peek() == '}' {
		return nil, p.errorf(p.pos, "expected an upper bound after TO")
	}
	hiPos := p.pos
	hi, hiOpen, err := p.rangeBound()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.eof() || (p.peek() != ']' && p.peek() != '}') {
		return nil, p.errorf(p.pos, "expected ']' or '}' to close the range")
	}
	closing := p.peek()
	p.pos++
	if loOpen && hiOpen {
		return store.Compare{Field: field, Op: store.OpExists}, nil
	}
	var out store.And
	if !loOpen {
		op := store.OpGe
		if open == '{' {
			op = store.OpGt
		}
		c, err := p.bound(field, op, lo, loPos)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if !hiOpen {
		op := store.OpLe
		if closing == '}' {
			op = store.OpLt
		}
		c, err := p.bound(field, op, hi, hiPos)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

// rangeBound reads one bound; an unquoted * is an open end.
func (p *parser) rangeBound() (units, bool, error) {
	if p.peek() == '"' {
		u, err := p.quoted()
		return u, false, err
	}
	raw := p.rangeWord()
	return decodeUnquoted(raw), raw == "*", nil
}

// existsValue parses the field name(s) after "_exists_:" or "has:".
func (p *parser) existsValue(pseudo string) (store.Expr, error) {
	if err := p.valueStart("'" + pseudo + ":'"); err != nil {
		return nil, err
	}
	if p.peek() == '(' {
		return p.group(group{exists: true})
	}
	name, err := p.fieldNameValue()
	if err != nil {
		return nil, err
	}
	return store.Compare{Field: name, Op: store.OpExists}, nil
}

// fieldNameValue reads a field name written as a value (after _exists_:).
func (p *parser) fieldNameValue() (string, error) {
	start := p.pos
	u, err := p.value()
	if err != nil {
		return "", err
	}
	name, err := fieldName(u)
	if err != nil {
		return "", p.errorf(start, "%s", err)
	}
	return name, nil
}

// coreName maps the shorthands product, category and service to their
// logsource columns.
func coreName(name string) string {
	switch name {
	case "product", "category", "service":
		return "logsource." + name
	}
	return name
}

// fieldName checks and canonicalises a field name.
func fieldName(u units) (string, error) {
	if u.hasWild() {
		return "", fmt.Errorf("a field name cannot hold wildcards")
	}
	name := u.literal()
	if name == "" {
		return "", fmt.Errorf("empty field name")
	}
	return coreName(name), nil
}

// clock is the parser's clock reading, taken once so that every relative time
// in one query agrees; truncated to the second because nobody types
// nanoseconds and the canonical text stays readable.
func (p *parser) clock() time.Time {
	if !p.haveNow {
		fn := p.nowFn
		if fn == nil {
			fn = time.Now
		}
		p.now, p.haveNow = fn().UTC().Truncate(time.Second), true
	}
	return p.now
}

// maxRelative bounds now±N so the result stays a four-digit year.
const maxRelative = 100 * 365 * 24 * time.Hour

// parseTime reads a time value; dateOnly reports a date without a time of
// day, which callers widen to the whole day.
func (p *parser) parseTime(s string) (t time.Time, dateOnly bool, err error) {
	if len(s) >= 3 && strings.EqualFold(s[:3], "now") {
		t, err = p.relative(s)
		return t, false, err
	}
	if len(s) == len("2006-01-02") {
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t, true, nil
		}
	}
	var ok bool
	for _, layout := range []string{"2006-01-02T15:04Z07:00", "2006-01-02T15:04"} {
		if t, err = time.Parse(layout, s); err == nil {
			ok = true
			break
		}
	}
	if !ok {
		if t, err = event.ParseTime(s); err != nil {
			return time.Time{}, false, fmt.Errorf("%q is not a time (write 2023-03-29T10:00:00Z, 2023-03-29 or now-24h)", s)
		}
	}
	t = t.UTC()
	if !inRange(t) {
		return time.Time{}, false, fmt.Errorf("time %q is out of range", s)
	}
	return t, false, nil
}

// inRange reports a time that RFC 3339 can write and read back: a
// four-digit year.
func inRange(t time.Time) bool { return t.Year() >= 0 && t.Year() <= 9999 }

// relative reads now, now-24h, now+1d and the like.
func (p *parser) relative(s string) (time.Time, error) {
	bad := fmt.Errorf("%q is not a relative time (write now, now-15m, now-24h, now-7d or now-2w)", s)
	rest := s[3:]
	if rest == "" {
		return p.clock(), nil
	}
	if len(rest) < 3 || (rest[0] != '-' && rest[0] != '+') {
		return time.Time{}, bad
	}
	sign := time.Duration(1)
	if rest[0] == '-' {
		sign = -1
	}
	digits, unitName := rest[1:len(rest)-1], rest[len(rest)-1]
	var n int64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' || n > int64(maxRelative) {
			return time.Time{}, bad
		}
		n = n*10 + int64(c-'0')
	}
	var unit time.Duration
	switch unitName {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	default:
		return time.Time{}, bad
	}
	if n > int64(maxRelative/unit) {
		return time.Time{}, fmt.Errorf("%q reaches more than 100 years away", s)
	}
	t := p.clock().Add(sign * time.Duration(n) * unit)
	if !inRange(t) {
		return time.Time{}, fmt.Errorf("%q is out of range", s)
	}
	return t, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
