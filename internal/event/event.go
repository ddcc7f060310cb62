// Package event is Vigil's event model: the one shape every source is
// normalised into and every detector, store and API handler reads.
//
// The core (time, host, logsource, id) is typed because every consumer needs
// it; everything else is an ordered list of named fields keyed by Sigma
// taxonomy names (Image, CommandLine, QueryName, ...). Fields are a slice, not
// a map: events are small (tens of fields), a linear scan beats hashing at
// that size, order is preserved for display, and building one allocates once.
//
// This package must not depend on any other Vigil package.
package event

import (
	"strconv"
	"strings"
	"time"
)

// Logsource says what kind of telemetry an event is, in Sigma's terms. A rule
// sees an event only when every attribute the rule names equals the event's.
type Logsource struct {
	Product  string `json:"product,omitempty"`
	Category string `json:"category,omitempty"`
	Service  string `json:"service,omitempty"`
}

// IsZero reports whether no attribute is set.
func (l Logsource) IsZero() bool { return l == Logsource{} }

// Event is one normalised event.
type Event struct {
	// ID identifies the event for idempotent storage: a retried batch carries
	// the same ids and is not stored twice. Empty until assigned.
	ID        string
	Time      time.Time
	Host      string
	Logsource Logsource
	Fields    []Field
	// Source names where the event came from (a file path, a receiver); it is
	// provenance for people, not something rules match on.
	Source string
}

// Field is one named value.
type Field struct {
	Name  string
	Value Value
}

// Kind is the type of a Value.
type Kind uint8

// The kinds of value. String is the zero Kind so that Value{Str: s} is a string.
const (
	String Kind = iota
	Number
	Bool
	Null
	List
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "bool"
	case Null:
		return "null"
	case List:
		return "list"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a field's value. Str always holds the textual form for String,
// Number (as it was written, so "0x10" or "007" survive) and Bool ("true" or
// "false"), because Sigma matches text; Num holds the parsed number.
type Value struct {
	Kind  Kind
	Str   string
	Num   float64
	Items []Value
}

// S returns a string value.
func S(s string) Value { return Value{Kind: String, Str: s} }

// N returns a number value whose text is the shortest form of f.
func N(f float64) Value {
	return Value{Kind: Number, Num: f, Str: strconv.FormatFloat(f, 'f', -1, 64)}
}

// NumText returns a number value that keeps its original text.
func NumText(text string, f float64) Value { return Value{Kind: Number, Num: f, Str: text} }

// B returns a bool value.
func B(b bool) Value {
	if b {
		return Value{Kind: Bool, Str: "true"}
	}
	return Value{Kind: Bool, Str: "false"}
}

// NullValue returns the null value.
func NullValue() Value { return Value{Kind: Null} }

// L returns a list value.
func L(items ...Value) Value { return Value{Kind: List, Items: items} }

// Number reports the value as a number: a Number's own, or a String that
// parses as a decimal or 0x-prefixed hexadecimal integer or a float.
func (v Value) Number() (float64, bool) {
	switch v.Kind {
	case Number:
		return v.Num, true
	case String:
		s := strings.TrimSpace(v.Str)
		if s == "" {
			return 0, false
		}
		if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
			u, err := strconv.ParseUint(s[2:], 16, 64)
			return float64(u), err == nil
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

// Text returns the value as text; lists join their items with ", ".
func (v Value) Text() string {
	switch v.Kind {
	case Null:
		return ""
	case List:
		parts := make([]string, len(v.Items))
		for i, it := range v.Items {
			parts[i] = it.Text()
		}
		return strings.Join(parts, ", ")
	}
	return v.Str
}

// Get returns the value of the first field with exactly this name.
func (e *Event) Get(name string) (Value, bool) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return e.Fields[i].Value, true
		}
	}
	return Value{}, false
}

// GetFold returns the value of the first field whose name equals name
// without regard to ASCII case; Sigma field names are matched this way when
// no field has the exact name.
func (e *Event) GetFold(name string) (Value, bool) {
	if v, ok := e.Get(name); ok {
		return v, true
	}
	for i := range e.Fields {
		if strings.EqualFold(e.Fields[i].Name, name) {
			return e.Fields[i].Value, true
		}
	}
	return Value{}, false
}

// Set replaces the value of the first field with this name, or appends one.
func (e *Event) Set(name string, v Value) {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			e.Fields[i].Value = v
			return
		}
	}
	e.Fields = append(e.Fields, Field{Name: name, Value: v})
}

// Delete removes every field with this name.
func (e *Event) Delete(name string) {
	out := e.Fields[:0]
	for _, f := range e.Fields {
		if f.Name != name {
			out = append(out, f)
		}
	}
	e.Fields = out
}

// Clone returns a deep copy, for consumers that keep an event beyond the
// call that handed it to them (readers may reuse their buffers).
func (e *Event) Clone() *Event {
	c := *e
	c.Fields = make([]Field, len(e.Fields))
	for i, f := range e.Fields {
		c.Fields[i] = Field{Name: f.Name, Value: f.Value.clone()}
	}
	return &c
}

func (v Value) clone() Value {
	if v.Kind != List {
		return v
	}
	items := make([]Value, len(v.Items))
	for i, it := range v.Items {
		items[i] = it.clone()
	}
	v.Items = items
	return v
}
