// Package match provides Sigma value matchers: one Matcher per detection
// item (a field, its modifiers and its values), compiled once and then run
// against event values without allocating. It also provides Automaton, the
// multi-pattern substring search the engine uses to index rules by the
// literals a Matcher requires.
//
// This package knows nothing about rule files, conditions or log sources; it
// depends only on internal/event.
package match

import (
	"github.com/vigilsoc/vigil/internal/event"
)

// RuleValue is one value as written in the rule: a string, a number, a bool
// or null (as decoded from YAML). Str holds a string's text, and for a
// number, its text as written when known (else it is derived from Num).
type RuleValue struct {
	Kind event.Kind
	Str  string
	Num  float64
}

// Spec describes one detection item: the field, its values and its
// modifiers in the order written (`Field|contains|all`).
type Spec struct {
	Field     string
	Values    []RuleValue
	Modifiers []string
	// Placeholders gives the values of %name% placeholders used with the
	// expand modifier; a name missing here is reported by Unresolved.
	Placeholders map[string][]string
}

// Matcher decides whether a field's value satisfies a detection item.
// A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	spec Spec
}

// Compile builds a Matcher from a Spec.
func Compile(spec Spec) (*Matcher, error) {
	return &Matcher{spec: spec}, nil
}

// Match reports whether the field value v satisfies the item. ev is the
// whole event (fieldref reads other fields from it). A List value matches
// when any of its items does.
func (m *Matcher) Match(v event.Value, ev *event.Event) bool { return false }

// MatchesMissing reports whether the item is satisfied when the event has no
// such field.
func (m *Matcher) MatchesMissing() bool { return false }

// Literals returns ASCII-lower-cased strings at least one of which occurs in
// the (ASCII-lower-cased) text of the field whenever Match is true. ok is
// false when no such set exists.
func (m *Matcher) Literals() (lits []string, ok bool) { return nil, false }

// Unresolved returns the expand placeholders that had no configured values.
func (m *Matcher) Unresolved() []string { return nil }
