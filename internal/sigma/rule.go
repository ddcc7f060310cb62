package sigma

import (
	"strconv"

	"github.com/vigilsoc/vigil/internal/event"
)

// ValueKind is the YAML type of a value written in a rule.
type ValueKind uint8

// Value kinds as written in YAML.
const (
	ValString ValueKind = iota
	ValNumber
	ValBool
	ValNull
)

// Value is one value written in a detection, as written: "007" stays a
// string, 7 a number whose Str is "7".
type Value struct {
	Kind ValueKind
	Str  string
	Num  float64
	Bool bool
}

func (v Value) String() string {
	switch v.Kind {
	case ValNull:
		return "null"
	case ValString:
		return strconv.Quote(v.Str)
	}
	return v.Str
}

// FieldItem is one "field|mod1|mod2: values" entry of a selection. Field is
// empty for keyword (full-text) items.
type FieldItem struct {
	Field     string
	Modifiers []string
	// Values are ORed, unless Modifiers hold "all".
	Values    []Value
	Line, Col int
}

// Selection is one search identifier of a detection. Its Alternatives are
// ORed; the items inside one alternative are ANDed. A map gives one
// alternative; a list of maps gives one per map; a list of plain values
// (keywords) gives one alternative holding one keyword item.
type Selection struct {
	Name         string
	Alternatives [][]FieldItem
	Line, Col    int
}

// Detection is a rule's detection section.
type Detection struct {
	// Names lists the selections in the order written.
	Names      []string
	Selections map[string]*Selection
	// Condition is the parsed condition; a list of conditions is ORed.
	Condition *Cond
	// ConditionText is the condition as written (lists joined with " or ").
	ConditionText string
	// Timeframe is the legacy detection.timeframe, kept for display.
	Timeframe string
}

// Related is one entry of a rule's related list.
type Related struct {
	ID   string
	Type string
}

// Rule is a Sigma detection rule.
type Rule struct {
	ID, Name, Title, Status, Description, Author, Level string
	Date, Modified                                      string
	Related                                             []Related
	References                                          []string
	Tags                                                []string
	Logsource                                           event.Logsource
	// LogsourceDefinition is logsource.definition, free text for people.
	LogsourceDefinition string
	Detection           *Detection
	Fields              []string
	FalsePositives      []string
	Taxonomy            string
	Scope               []string
	// Placeholders lists the %name% placeholders used with the expand
	// modifier, which need values from the configuration.
	Placeholders []string
	// Extra keeps attributes the specification does not define (custom
	// metadata), decoded generically.
	Extra map[string]any

	Path string
	Line int
}

// Filter is a Sigma global filter (a document with a top-level `filter:`
// key): its condition is added to the rules it names as "and not (...)".
type Filter struct {
	ID, Name, Title, Description string
	Date, Modified, Taxonomy     string
	Logsource                    event.Logsource
	// Rules are the ids or names of the rules the filter applies to.
	Rules     []string
	Detection *Detection
	Path      string
	Line      int
}

// Collection is everything read from a set of rule files.
type Collection struct {
	Rules        []*Rule
	Correlations []*Correlation
	Filters      []*Filter
	Errors       []FileError
}

// Merge appends other's contents to c.
func (c *Collection) Merge(other *Collection) {
	c.Rules = append(c.Rules, other.Rules...)
	c.Correlations = append(c.Correlations, other.Correlations...)
	c.Filters = append(c.Filters, other.Filters...)
	c.Errors = append(c.Errors, other.Errors...)
}
