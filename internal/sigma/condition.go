package sigma

import (
	"fmt"
	"strings"
)

// CondKind is the kind of a condition node.
type CondKind uint8

// Condition node kinds. OneOf and AllOf keep the "1 of pattern" form for
// display; their Args are the selections the pattern matched, so a consumer
// may treat them exactly as Or and And.
const (
	CondRef CondKind = iota
	CondAnd
	CondOr
	CondNot
	CondOneOf
	CondAllOf
)

// Cond is a node of a parsed detection condition.
type Cond struct {
	Kind CondKind
	// Name is the selection for CondRef; the pattern as written ("them",
	// "selection_*") for CondOneOf and CondAllOf.
	Name string
	Args []*Cond
	// Offset is the byte offset in the condition text where the node starts.
	Offset int
}

// String renders the condition fully parenthesised, for tests and messages.
func (c *Cond) String() string {
	var b strings.Builder
	c.write(&b)
	return b.String()
}

func (c *Cond) write(b *strings.Builder) {
	switch c.Kind {
	case CondRef:
		b.WriteString(c.Name)
	case CondNot:
		b.WriteString("not ")
		c.Args[0].write(b)
	case CondOneOf:
		b.WriteString("1 of " + c.Name)
	case CondAllOf:
		b.WriteString("all of " + c.Name)
	case CondAnd, CondOr:
		op := " and "
		if c.Kind == CondOr {
			op = " or "
		}
		b.WriteByte('(')
		for i, a := range c.Args {
			if i > 0 {
				b.WriteString(op)
			}
			a.write(b)
		}
		b.WriteByte(')')
	}
}

// ConditionError is a condition that does not parse, with the byte offset
// of the offending token.
type ConditionError struct {
	Offset int
	Msg    string
	// Kind is ErrCondition or ErrUnsupported.
	Kind error
}

func (e *ConditionError) Error() string {
	return fmt.Sprintf("condition at offset %d: %s", e.Offset, e.Msg)
}

func (e *ConditionError) Unwrap() error { return e.Kind }

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokWord
	tokPipe
)

type token struct {
	kind tokKind
	text string
	off  int
}

// lexCondition splits a condition into parentheses, words and '|'. Words
// are runs of anything else up to whitespace: selection names in the wild
// hold dots, dashes and wildcards.
func lexCondition(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", i})
			i++
		case c == '|':
			toks = append(toks, token{tokPipe, "|", i})
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()|", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tokWord, s[i:j], i})
			i = j
		}
	}
	return append(toks, token{tokEOF, "", len(s)})
}

// maxCondDepth bounds nesting so a hostile condition cannot exhaust the stack.
const maxCondDepth = 200

type condParser struct {
	toks  []token
	pos   int
	names []string
	depth int
}

// ParseCondition parses a detection condition against the selection names
// it may use. Precedence, loosest first: or, and, not, "x of", parentheses.
// "them" covers every selection whose name does not start with '_'.
func ParseCondition(text string, names []string) (*Cond, error) {
	p := &condParser{toks: lexCondition(text), names: names}
	if p.peek().kind == tokEOF {
		return nil, &ConditionError{Offset: 0, Msg: "empty condition", Kind: ErrCondition}
	}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	switch t := p.peek(); t.kind {
	case tokEOF:
		return c, nil
	case tokPipe:
		return nil, &ConditionError{Offset: t.off, Msg: "aggregation expressions (\"| count() ...\") are retired; use a correlation rule", Kind: ErrUnsupported}
	default:
		return nil, &ConditionError{Offset: t.off, Msg: fmt.Sprintf("unexpected %q", t.text), Kind: ErrCondition}
	}
}

func (p *condParser) peek() token { return p.toks[p.pos] }
func (p *condParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func isWord(t token, w string) bool { return t.kind == tokWord && strings.EqualFold(t.text, w) }

func (p *condParser) binary(kind CondKind, op string, sub func() (*Cond, error)) (*Cond, error) {
	start := p.peek().off
	first, err := sub()
	if err != nil {
		return nil, err
	}
	args := []*Cond{first}
	for isWord(p.peek(), op) {
		p.next()
		x, err := sub()
		if err != nil {
			return nil, err
		}
		args = append(args, x)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &Cond{Kind: kind, Args: args, Offset: start}, nil
}

func (p *condParser) or() (*Cond, error) { return p.binary(CondOr, "or", p.and) }
func (p *condParser) and() (*Cond, error) {
	return p.binary(CondAnd, "and", p.not)
}

func (p *condParser) not() (*Cond, error) {
	if isWord(p.peek(), "not") {
		t := p.next()
		p.depth++
		if p.depth > maxCondDepth {
			return nil, &ConditionError{Offset: t.off, Msg: "condition nested too deeply", Kind: ErrCondition}
		}
		x, err := p.not()
		p.depth--
		if err != nil {
			return nil, err
		}
		return &Cond{Kind: CondNot, Args: []*Cond{x}, Offset: t.off}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (*Cond, error) {
	t := p.next()
	switch t.kind {
	case tokLParen:
		p.depth++
		if p.depth > maxCondDepth {
			return nil, &ConditionError{Offset: t.off, Msg: "condition nested too deeply", Kind: ErrCondition}
		}
		x, err := p.or()
		p.depth--
		if err != nil {
			return nil, err
		}
		if r := p.next(); r.kind != tokRParen {
			return nil, &ConditionError{Offset: r.off, Msg: fmt.Sprintf("expected ')' to close '(' at offset %d, found %s", t.off, describe(r)), Kind: ErrCondition}
		}
		return x, nil
	case tokWord:
	case tokPipe:
		return nil, &ConditionError{Offset: t.off, Msg: "aggregation expressions (\"| count() ...\") are retired; use a correlation rule", Kind: ErrUnsupported}
	default:
		return nil, &ConditionError{Offset: t.off, Msg: "expected a selection, '(', 'not' or 'x of', found " + describe(t), Kind: ErrCondition}
	}
	lw := strings.ToLower(t.text)
	switch lw {
	case "and", "or", "of", "them":
		return nil, &ConditionError{Offset: t.off, Msg: fmt.Sprintf("unexpected %q", t.text), Kind: ErrCondition}
	case "near":
		return nil, &ConditionError{Offset: t.off, Msg: "the near operator is retired; use a temporal correlation rule", Kind: ErrUnsupported}
	}
	if isWord(p.peek(), "of") && (lw == "1" || lw == "all" || lw == "any") {
		p.next()
		pt := p.next()
		if pt.kind != tokWord {
			return nil, &ConditionError{Offset: pt.off, Msg: "expected 'them' or a selection pattern after 'of', found " + describe(pt), Kind: ErrCondition}
		}
		kind := CondOneOf
		if lw == "all" {
			kind = CondAllOf
		}
		var matched []*Cond
		for _, n := range p.names {
			if strings.EqualFold(pt.text, "them") {
				if strings.HasPrefix(n, "_") {
					continue
				}
			} else if !patternMatch(pt.text, n) {
				continue
			}
			matched = append(matched, &Cond{Kind: CondRef, Name: n, Offset: pt.off})
		}
		if len(matched) == 0 {
			return nil, &ConditionError{Offset: pt.off, Msg: fmt.Sprintf("no selection matches %q", pt.text), Kind: ErrCondition}
		}
		return &Cond{Kind: kind, Name: pt.text, Args: matched, Offset: t.off}, nil
	}
	if strings.ContainsAny(t.text, "*?") {
		return nil, &ConditionError{Offset: t.off, Msg: fmt.Sprintf("wildcard %q is only allowed after '1 of' or 'all of'", t.text), Kind: ErrCondition}
	}
	for _, n := range p.names {
		if n == t.text {
			return &Cond{Kind: CondRef, Name: n, Offset: t.off}, nil
		}
	}
	return nil, &ConditionError{Offset: t.off, Msg: fmt.Sprintf("unknown selection %q", t.text), Kind: ErrCondition}
}

func describe(t token) string {
	if t.kind == tokEOF {
		return "end of condition"
	}
	return fmt.Sprintf("%q", t.text)
}

// patternMatch matches a selection name against a pattern in which '*'
// stands for any run of characters (the specification defines no other
// wildcard for selection patterns).
func patternMatch(pattern, name string) bool { return starMatch(pattern, name) }

// starMatch is a '*'-only glob, greedy with backtracking.
func starMatch(p, s string) bool {
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
