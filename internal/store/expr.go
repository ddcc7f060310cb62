package store

import "time"

// Expr is a filter over events: the query language compiles to it, and each
// event store compiles it to its own parameterised SQL. Values never become
// SQL text.
//
// It is a closed set of node types: And, Or, Not, Compare.
type Expr interface{ isExpr() }

// And is true when every child is.
type And []Expr

// Or is true when any child is.
type Or []Expr

// Not negates its child.
type Not struct{ X Expr }

// Op is a comparison operator.
type Op uint8

// The comparison operators.
const (
	OpEq       Op = iota // equal, case-insensitive for text
	OpNe                 // not equal
	OpLt                 // numeric (or time) less than
	OpLe                 // numeric less or equal
	OpGt                 // numeric greater than
	OpGe                 // numeric greater or equal
	OpWildcard           // Value is a pattern with * and ? (case-insensitive), as analysts type it
	OpExists             // the field is present (Value unused)
	OpContains           // substring, case-insensitive
)

// Compare tests one field. Field is an event field name (Sigma taxonomy,
// "Image"), or one of the core columns: "time", "host", "id", "source",
// "logsource.product", "logsource.category", "logsource.service". An empty
// Field means any field's value (free text).
type Compare struct {
	Field string
	Op    Op
	Value string
}

func (And) isExpr()     {}
func (Or) isExpr()      {}
func (Not) isExpr()     {}
func (Compare) isExpr() {}

// TimeRange bounds a search; zero ends are open.
type TimeRange struct {
	From, To time.Time
}
