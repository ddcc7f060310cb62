package sigma

import (
	"fmt"
	"strconv"
	"time"
)

// CorrelationType is the kind of a correlation rule, as the correlation
// specification (v2.1) names it.
type CorrelationType string

// The correlation types of specification v2.1.
const (
	EventCount      CorrelationType = "event_count"
	ValueCount      CorrelationType = "value_count"
	Temporal        CorrelationType = "temporal"
	TemporalOrdered CorrelationType = "temporal_ordered"
	ValueSum        CorrelationType = "value_sum"
	ValueAvg        CorrelationType = "value_avg"
	ValuePercentile CorrelationType = "value_percentile"
)

// Valid reports whether t is one of the types the specification defines.
func (t CorrelationType) Valid() bool {
	switch t {
	case EventCount, ValueCount, Temporal, TemporalOrdered, ValueSum, ValueAvg, ValuePercentile:
		return true
	}
	return false
}

// NeedsField reports whether the type aggregates a field's values, so its
// condition must name the field.
func (t CorrelationType) NeedsField() bool {
	switch t {
	case ValueCount, ValueSum, ValueAvg, ValuePercentile:
		return true
	}
	return false
}

// CompareOp is one comparison of a correlation condition.
type CompareOp string

// The comparison operators of a correlation condition.
const (
	OpGT  CompareOp = "gt"
	OpGTE CompareOp = "gte"
	OpLT  CompareOp = "lt"
	OpLTE CompareOp = "lte"
	OpEQ  CompareOp = "eq"
	OpNEQ CompareOp = "neq"
)

// Compare is one "op: value" criterion.
type Compare struct {
	Op    CompareOp
	Value float64
}

// Holds reports whether x satisfies the criterion.
func (c Compare) Holds(x float64) bool {
	switch c.Op {
	case OpGT:
		return x > c.Value
	case OpGTE:
		return x >= c.Value
	case OpLT:
		return x < c.Value
	case OpLTE:
		return x <= c.Value
	case OpEQ:
		return x == c.Value
	case OpNEQ:
		return x != c.Value
	}
	return false
}

// CorrelationCondition says when a correlation fires. The specification allows
// several criteria in one map ("gt: 100, lte: 200" is a range); all must hold.
type CorrelationCondition struct {
	// Compares are ANDed, in the order written.
	Compares []Compare
	// Field names the aggregated field for value_count, value_sum,
	// value_avg and value_percentile; the schema allows a list, in which
	// case the fields are linked by AND. Empty for the other types.
	Field []string
}

// Holds reports whether x satisfies every criterion. A condition with no
// criteria holds for any x (temporal correlations may omit it).
func (c *CorrelationCondition) Holds(x float64) bool {
	if c == nil {
		return true
	}
	for _, cmp := range c.Compares {
		if !cmp.Holds(x) {
			return false
		}
	}
	return true
}

// Correlation is one correlation rule (a YAML document with a top-level
// `correlation:` key). It is consumed by the correlation runtime in
// internal/sigma/correlate; keep it stable.
type Correlation struct {
	ID, Name, Title, Description, Level, Status string
	Tags                                        []string
	Type                                        CorrelationType
	// Rules holds the referenced rules' ids or names as written, in order
	// (temporal_ordered depends on it).
	Rules   []string
	GroupBy []string
	// Timespan is the window; zero only when the rule failed to parse.
	Timespan  time.Duration
	Condition *CorrelationCondition
	// Generate asks for the referenced rules to also alert on their own.
	Generate bool
	// Aliases maps alias -> rule (id or name) -> field name in that rule's events.
	Aliases map[string]map[string]string
	Path    string
	Line    int

	// Metadata beyond the core, for display.
	Author         string
	References     []string
	Date, Modified string
	FalsePositives []string
	Taxonomy       string
}

// ParseTimespan reads a correlation timespan: a number followed by one
// lowercase unit letter s, m, h, d (and, leniently, w and y, which some
// tools write; M for months is not accepted because its length varies).
func ParseTimespan(s string) (time.Duration, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("%w: %q", ErrTimespan, s)
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: %q", ErrTimespan, s)
	}
	var unit time.Duration
	switch s[len(s)-1] {
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
	case 'y':
		unit = 365 * 24 * time.Hour
	default:
		return 0, fmt.Errorf("%w: %q", ErrTimespan, s)
	}
	return time.Duration(n) * unit, nil
}
