package engine

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/match"
)

type nodeKind uint8

const (
	nodeField   nodeKind = iota // one field item
	nodeKeyword                 // a value searched in every field
	nodeAnd
	nodeOr
	nodeNot
	nodeFalse // an empty selection alternative list: matches nothing
)

// node is a compiled condition: boolean operators over field matchers.
type node struct {
	kind  nodeKind
	field string
	fid   int32 // field's id in the engine's fieldNames
	m     *match.Matcher
	kids  []*node
	// runeLits are necessary literals derived here when the matcher gives
	// none: see unicodeLiterals.
	runeLits []string
}

// eval decides the node for one event; pos is the event's field table
// (fieldTable.resolve).
func (n *node) eval(ev *event.Event, pos []int32) bool {
	switch n.kind {
	case nodeField:
		i := pos[n.fid]
		if i < 0 {
			return n.m.MatchesMissing()
		}
		return n.m.Match(ev.Fields[i].Value, ev)
	case nodeKeyword:
		for i := range ev.Fields {
			if n.m.Match(ev.Fields[i].Value, ev) {
				return true
			}
		}
		return false
	case nodeAnd:
		for _, k := range n.kids {
			if !k.eval(ev, pos) {
				return false
			}
		}
		return true
	case nodeOr:
		for _, k := range n.kids {
			if k.eval(ev, pos) {
				return true
			}
		}
		return false
	case nodeNot:
		return !n.kids[0].eval(ev, pos)
	}
	return false
}

// explain is eval that also records the fields whose items made the result
// true; only the parts that decided a true result contribute.
func (n *node) explain(ev *event.Event, pos []int32, out *[]string) bool {
	switch n.kind {
	case nodeField:
		if n.eval(ev, pos) {
			*out = append(*out, n.field)
			return true
		}
		return false
	case nodeKeyword:
		hit := false
		for i := range ev.Fields {
			if n.m.Match(ev.Fields[i].Value, ev) {
				*out = append(*out, ev.Fields[i].Name)
				hit = true
			}
		}
		return hit
	case nodeAnd:
		mark := len(*out)
		for _, k := range n.kids {
			if !k.explain(ev, pos, out) {
				*out = (*out)[:mark]
				return false
			}
		}
		return true
	case nodeOr:
		hit := false
		for _, k := range n.kids {
			if k.explain(ev, pos, out) {
				hit = true
			}
		}
		return hit
	case nodeNot:
		return !n.kids[0].eval(ev, pos)
	}
	return false
}

// compiler turns one detection into a node tree, collecting positioned errors.
type compiler struct {
	path         string
	placeholders map[string][]string
	errs         []sigma.FileError
	unresolved   map[string]bool
	// leaves are the field nodes made, in order: their ids are assigned
	// afterwards, in load order, because rules compile concurrently.
	leaves []*node
}

func (c *compiler) errorf(line, col int, err error) {
	c.errs = append(c.errs, sigma.FileError{Path: c.path, Line: line, Col: col, Err: err})
}

func (c *compiler) detection(d *sigma.Detection) *node {
	if d == nil || d.Condition == nil {
		return nil
	}
	sels := make(map[string]*node, len(d.Selections))
	for _, name := range d.Names {
		sels[name] = c.selection(d.Selections[name])
	}
	return c.cond(d.Condition, sels)
}

func (c *compiler) cond(cd *sigma.Cond, sels map[string]*node) *node {
	switch cd.Kind {
	case sigma.CondRef:
		return sels[cd.Name]
	case sigma.CondNot:
		return &node{kind: nodeNot, kids: []*node{c.cond(cd.Args[0], sels)}}
	}
	kind := nodeAnd
	if cd.Kind == sigma.CondOr || cd.Kind == sigma.CondOneOf {
		kind = nodeOr
	}
	n := &node{kind: kind}
	for _, a := range cd.Args {
		n.kids = append(n.kids, c.cond(a, sels))
	}
	return simplify(n)
}

func (c *compiler) selection(s *sigma.Selection) *node {
	or := &node{kind: nodeOr}
	for _, alt := range s.Alternatives {
		and := &node{kind: nodeAnd}
		for _, it := range alt {
			if leaf := c.item(s.Name, it); leaf != nil {
				and.kids = append(and.kids, leaf)
			}
		}
		or.kids = append(or.kids, simplify(and))
	}
	if len(or.kids) == 0 {
		return &node{kind: nodeFalse}
	}
	return simplify(or)
}

// keywordModifiers are those that already say how a keyword is compared;
// without one, a keyword is a substring search, as full-text search is in
// the backends Sigma was written for.
var keywordModifiers = []string{"contains", "startswith", "endswith", "re", "cidr", "exists", "lt", "lte", "gt", "gte", "fieldref"}

func (c *compiler) item(sel string, it sigma.FieldItem) *node {
	// "|all" keywords must each occur somewhere in the event, not all in
	// one field: split them into one keyword search per value.
	if it.Field == "" && len(it.Values) > 1 && hasModifier(it.Modifiers, "all") {
		and := &node{kind: nodeAnd}
		var mods []string
		for _, m := range it.Modifiers {
			if m != "all" {
				mods = append(mods, m)
			}
		}
		for _, v := range it.Values {
			one := it
			one.Modifiers, one.Values = mods, []sigma.Value{v}
			leaf := c.item(sel, one)
			if leaf == nil {
				return nil
			}
			and.kids = append(and.kids, leaf)
		}
		return and
	}
	spec := match.Spec{Field: it.Field, Modifiers: it.Modifiers, Placeholders: c.placeholders}
	for _, v := range it.Values {
		spec.Values = append(spec.Values, ruleValue(v))
	}
	kind := nodeField
	if it.Field == "" {
		kind = nodeKeyword
		plain := true
		for _, m := range it.Modifiers {
			for _, km := range keywordModifiers {
				if m == km {
					plain = false
				}
			}
		}
		if plain {
			spec.Modifiers = append([]string{"contains"}, it.Modifiers...)
		}
	}
	m, err := match.Compile(spec)
	if err != nil {
		name := it.Field
		if len(it.Modifiers) > 0 {
			name += "|" + strings.Join(it.Modifiers, "|")
		}
		c.errorf(it.Line, it.Col, fmt.Errorf("%w: selection %q, %q: %w", ErrCompile, sel, name, err))
		return nil
	}
	for _, u := range m.Unresolved() {
		c.unresolved[u] = true
	}
	n := &node{kind: kind, field: it.Field, m: m}
	if kind == nodeField {
		c.leaves = append(c.leaves, n)
		n.runeLits = unicodeLiterals(it)
	}
	return n
}

func ruleValue(v sigma.Value) match.RuleValue {
	switch v.Kind {
	case sigma.ValNumber:
		return match.RuleValue{Kind: event.Number, Str: v.Str, Num: v.Num}
	case sigma.ValBool:
		return match.RuleValue{Kind: event.Bool, Str: strings.ToLower(v.Str)}
	case sigma.ValNull:
		return match.RuleValue{Kind: event.Null}
	}
	return match.RuleValue{Kind: event.String, Str: v.Str}
}

// simplify collapses single-child AND/OR nodes and flattens nested ones of
// the same kind, so evaluation and trigger derivation see the plain shape.
func simplify(n *node) *node {
	if n.kind != nodeAnd && n.kind != nodeOr {
		return n
	}
	var kids []*node
	for _, k := range n.kids {
		if k == nil {
			continue
		}
		if k.kind == n.kind {
			kids = append(kids, k.kids...)
			continue
		}
		kids = append(kids, k)
	}
	n.kids = kids
	switch len(kids) {
	case 0:
		if n.kind == nodeAnd {
			// An alternative whose every item failed to compile; the
			// error is reported, the node matches nothing.
			return &node{kind: nodeFalse}
		}
		return &node{kind: nodeFalse}
	case 1:
		return kids[0]
	}
	return n
}

func hasModifier(mods []string, m string) bool {
	for _, x := range mods {
		if x == m {
			return true
		}
	}
	return false
}

// unicodeLiterals derives necessary literals for plain, contains,
// startswith and endswith items whose values hold non-ASCII letters, which
// the matcher folds with full Unicode rules and so gives no literals for
// (the Cyrillic homoglyph and emoji rules). Any match must contain some
// case variant of each literal non-ASCII rune of the value, so the UTF-8
// encodings of one such rune's case orbit form a necessary set. A rune
// whose orbit reaches ASCII (the Kelvin sign folds to k) is not used. nil
// when the item does not qualify.
func unicodeLiterals(it sigma.FieldItem) []string {
	for _, m := range it.Modifiers {
		switch m {
		case "contains", "startswith", "endswith", "all", "cased":
		default:
			return nil
		}
	}
	var out []string
	for _, v := range it.Values {
		if v.Kind != sigma.ValString {
			return nil
		}
		var best []string
		for _, r := range v.Str {
			if r < utf8.RuneSelf || r == utf8.RuneError {
				continue
			}
			orbit := []string{string(r)}
			ascii := false
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				if f < utf8.RuneSelf {
					ascii = true
					break
				}
				orbit = append(orbit, string(f))
			}
			if ascii {
				continue
			}
			if best == nil || len(orbit) < len(best) || (len(orbit) == len(best) && len(orbit[0]) > len(best[0])) {
				best = orbit
			}
		}
		if best == nil {
			return nil
		}
		out = append(out, best...)
	}
	return out
}
