package winevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// maxDepth bounds nesting so hostile input cannot exhaust the stack; real
// Windows events nest five or six levels.
const maxDepth = 64

var errJSON = errors.New("invalid JSON")

// parseTree parses one JSON value into an ordered tree in one pass. It
// replaced a parser on encoding/json's Token API, which allocated per token
// and dominated the cost of reading a Windows event; FuzzParseTree checks
// the two agree.
func parseTree(data []byte) (*jnode, error) {
	p := treeParser{data: data}
	p.ws()
	n, err := p.node(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(p.data) {
		return nil, fmt.Errorf("%w: data after the top-level value at offset %d", errJSON, p.pos)
	}
	return n, nil
}

type treeParser struct {
	data []byte
	pos  int
}

func (p *treeParser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", errJSON, what, p.pos)
}

func (p *treeParser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *treeParser) node(depth int) (*jnode, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", errJSON, maxDepth)
	}
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		p.pos++
		n := &jnode{kind: jObject}
		p.ws()
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return n, nil
		}
		for {
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != '"' {
				return nil, p.fail("want a member name")
			}
			key, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.pos >= len(p.data) || p.data[p.pos] != ':' {
				return nil, p.fail("want ':'")
			}
			p.pos++
			p.ws()
			v, err := p.node(depth + 1)
			if err != nil {
				return nil, err
			}
			n.members = append(n.members, jmember{key, v})
			p.ws()
			if p.pos >= len(p.data) {
				return nil, p.fail("unexpected end in object")
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == '}' {
				p.pos++
				return n, nil
			}
			return nil, p.fail("want ',' or '}'")
		}
	case c == '[':
		p.pos++
		n := &jnode{kind: jArray}
		p.ws()
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return n, nil
		}
		for {
			p.ws()
			v, err := p.node(depth + 1)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
			p.ws()
			if p.pos >= len(p.data) {
				return nil, p.fail("unexpected end in array")
			}
			if p.data[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.data[p.pos] == ']' {
				p.pos++
				return n, nil
			}
			return nil, p.fail("want ',' or ']'")
		}
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jnode{kind: jString, str: s}, nil
	case c == 't':
		return &jnode{kind: jBool, str: "true"}, p.literal("true")
	case c == 'f':
		return &jnode{kind: jBool, str: "false"}, p.literal("false")
	case c == 'n':
		return &jnode{kind: jNull}, p.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	}
	return nil, p.fail("unexpected character")
}

func (p *treeParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.fail("invalid literal")
	}
	p.pos += len(word)
	return nil
}

func (p *treeParser) digits() int {
	start := p.pos
	for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

func (p *treeParser) number() (*jnode, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if p.digits() == 0 {
		return nil, p.fail("invalid number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	// The text is kept as written; value() parses it (a number too large
	// for a float64 becomes +Inf but keeps its text for display).
	return &jnode{kind: jNumber, str: string(p.data[start:p.pos])}, nil
}

// str reads a string; escapes and non-ASCII go through encoding/json so they
// decode exactly as it decodes them.
func (p *treeParser) str() (string, error) {
	start := p.pos
	p.pos++
	simple := true
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			raw := p.data[start:p.pos]
			if simple || (utf8.Valid(raw) && !containsBackslash(raw)) {
				return string(raw[1 : len(raw)-1]), nil
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", fmt.Errorf("%w: string at offset %d: %w", errJSON, start, err)
			}
			return out, nil
		case c == '\\':
			simple = false
			p.pos += 2
		case c < 0x20:
			return "", p.fail("control character in string")
		case c >= 0x80:
			simple = false
			p.pos++
		default:
			p.pos++
		}
	}
	return "", p.fail("unterminated string")
}

func containsBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}
