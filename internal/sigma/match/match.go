// Package match provides Sigma value matchers: one Matcher per detection
// item (a field, its modifiers and its values), compiled once and then run
// against event values without allocating. It also provides Automaton, the
// multi-pattern substring search the engine uses to index rules by the
// literals a Matcher requires.
//
// Matching semantics, where the specification leaves room:
//
//   - Strings match case-insensitively (ASCII folding; see text.go for
//     non-ASCII letters) unless cased. '*' is any run of characters, '?' one
//     character; a backslash escapes '*', '?' and itself and is plain before
//     anything else.
//   - Numbers in a rule match event numbers of equal value and event text
//     that equals the rule's text or parses to an equal number ("4688",
//     "0x1250"). Strings in a rule match the text of event numbers and bools
//     as written.
//   - Regular expressions (re) use Go's RE2 syntax, a superset of the PCRE
//     subset the specification lists; constructs RE2 lacks (lookaround,
//     backreferences, atomic groups, possessive quantifiers) are compile
//     errors naming the construct. They search (match anywhere) unless
//     anchored; startswith/endswith anchor them.
//   - null matches a null value and a missing field; ” matches only the
//     empty string.
//   - neq negates the whole item, as pySigma does: neq with several values
//     means "equals none of them", and a missing field satisfies it.
//   - exists: true matches any present field, null included (the
//     specification: "not its value, be it empty or null").
//   - An event list value matches when any item matches; under all, each
//     rule value must match some item.
//   - expand with a placeholder that has no configured values makes the
//     matcher match nothing (not even under neq) and Unresolved names it, so
//     the caller can reject or flag the rule.
//
// Automaton is our own Aho-Corasick DFA rather than a library: the Go
// implementations on the module proxy either lack ASCII case folding or
// overlapping matches, or allocate per search (see automaton.go).
//
// This package knows nothing about rule files, conditions or log sources; it
// depends only on internal/event.
package match

import (
	"slices"

	"github.com/vigilsoc/vigil/internal/event"
)

// RuleValue is one value as written in the rule: a string, a number, a bool
// or null (as decoded from YAML). Str holds a string's text, and for a
// number its text as written when known (else it is derived from Num). A
// bool is true when Num != 0 or Str is "true".
type RuleValue struct {
	Kind event.Kind
	Str  string
	Num  float64
}

// Spec describes one detection item: the field, its values and its
// modifiers in the order written (`Field|contains|all`). Field is used for
// error messages and the exists check; it is "" for keyword searches.
type Spec struct {
	Field     string
	Values    []RuleValue
	Modifiers []string
	// Placeholders gives the values of %name% placeholders used with the
	// expand modifier (each value may hold wildcards); a name missing here
	// is reported by Unresolved.
	Placeholders map[string][]string
}

// Matcher decides whether a field's value satisfies a detection item.
// A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	field      string
	never      bool // unresolved placeholders
	exists     bool
	existsWant bool
	all        bool
	neq        bool
	groups     [][]pred // per rule value; alternatives within are OR-ed
	flat       []pred   // every pred, for the OR case
	nullGroups int      // groups holding a null predicate
	lits       []string
	litsOK     bool
	unresolved []string
}

// Match reports whether the field value v satisfies the item. ev is the
// whole event: fieldref reads other fields from it (nil makes fieldref
// false). Match does not allocate.
func (m *Matcher) Match(v event.Value, ev *event.Event) bool {
	if m.never {
		return false
	}
	if m.exists {
		return m.existsWant
	}
	var r bool
	if !m.all {
		r = anyPred(m.flat, v, ev)
	} else {
		r = true
		for _, g := range m.groups {
			if !anyPred(g, v, ev) {
				r = false
				break
			}
		}
	}
	return r != m.neq
}

func anyPred(ps []pred, v event.Value, ev *event.Event) bool {
	if v.Kind == event.List {
		if len(v.Items) > 0 {
			for _, it := range v.Items {
				if anyPred(ps, it, ev) {
					return true
				}
			}
			return false
		}
		// An empty list carries no value, like null.
		v = event.Value{Kind: event.Null}
	}
	for _, p := range ps {
		if p.match(v, ev) {
			return true
		}
	}
	return false
}

// MatchesMissing reports whether the item is satisfied when the event has no
// such field: for null (a missing field is null, as in pySigma's backends),
// exists: false, and neq of anything but null (neq negates the item, and a
// missing field equals no value). An item with unresolved placeholders never
// matches.
func (m *Matcher) MatchesMissing() bool {
	if m.never {
		return false
	}
	if m.exists {
		return !m.existsWant
	}
	var pos bool
	if m.all {
		pos = m.nullGroups == len(m.groups)
	} else {
		pos = m.nullGroups > 0
	}
	return pos != m.neq
}

// Literals returns ASCII-lower-cased strings at least one of which occurs
// in the ASCII-lower-cased text of the field (of some item, for a list
// value) whenever Match is true. ok is false when no such set exists: neq,
// numbers (they also match other spellings such as hex), lt/gt, time parts,
// cidr, exists, null, fieldref, patterns with no literal text such as '*'
// or ”, and regular expressions without a required literal. ok with an
// empty set means the matcher can never match (unresolved placeholders).
// The slice is the caller's.
func (m *Matcher) Literals() (lits []string, ok bool) {
	if m.never {
		return nil, true
	}
	if !m.litsOK {
		return nil, false
	}
	return slices.Clone(m.lits), true
}

// Unresolved returns, sorted, the expand placeholders that had no configured
// values; the matcher matches nothing while any remain.
func (m *Matcher) Unresolved() []string { return slices.Clone(m.unresolved) }

// Field returns the field name the item was compiled for.
func (m *Matcher) Field() string { return m.field }
