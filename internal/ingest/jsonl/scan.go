package jsonl

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/vigilsoc/vigil/internal/event"
)

// flattenLine parses one JSON object into fields exactly as
// event.UnmarshalFields does (nested objects flattened with dots, arrays as
// lists, objects inside arrays as their JSON text), in one pass and while
// noting the top-level keys that say which shape the line is.
// encoding/json's Token API allocates per token and was most of the cost of
// decoding a line; FuzzFlattenLine checks this against UnmarshalFields.
func flattenLine(line []byte) ([]event.Field, lineKeys, error) {
	s := scanner{data: line}
	s.skipWS()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return nil, lineKeys{}, ErrNotObject
	}
	s.pos++
	s.top = &topInfo{onlyNormalised: true}
	if err := s.object("", &s.fields, 1); err != nil {
		return nil, lineKeys{}, err
	}
	s.skipWS()
	if s.pos != len(s.data) {
		return nil, lineKeys{}, s.errorf("data after the object")
	}
	t := s.top
	return s.fields, lineKeys{
		windows:    t.event || (t.system && t.data),
		normalised: t.fields && t.onlyNormalised,
	}, nil
}

type topInfo struct {
	event, system, data, fields bool
	onlyNormalised              bool
}

type scanner struct {
	data   []byte
	pos    int
	fields []event.Field
	top    *topInfo
}

// maxNesting matches encoding/json's own limit, so both accept the same
// documents.
const maxNesting = 10000

var errSyntax = errors.New("invalid JSON")

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, fmt.Sprintf(format, args...), s.pos)
}

func (s *scanner) skipWS() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// object reads members after the '{' up to and including the '}'.
func (s *scanner) object(prefix string, out *[]event.Field, depth int) error {
	if depth > maxNesting {
		return s.errorf("nested too deeply")
	}
	isTop := depth == 1
	s.skipWS()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.skipWS()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.errorf("want a member name")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.skipWS()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.errorf("want ':' after member name")
		}
		s.pos++
		s.skipWS()
		if s.pos >= len(s.data) {
			return s.errorf("unexpected end")
		}
		name := key
		if prefix != "" {
			name = prefix + "." + key
		}
		isObject := s.data[s.pos] == '{'
		if isTop {
			s.noteTop(key, isObject)
		}
		if isObject {
			s.pos++
			if err := s.object(name, out, depth+1); err != nil {
				return err
			}
		} else {
			v, err := s.value(depth)
			if err != nil {
				return err
			}
			*out = append(*out, event.Field{Name: name, Value: v})
		}
		s.skipWS()
		if s.pos >= len(s.data) {
			return s.errorf("unexpected end in object")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.errorf("want ',' or '}'")
		}
	}
}

func (s *scanner) noteTop(key string, isObject bool) {
	t := s.top
	switch key {
	case "Event":
		t.event = t.event || isObject
	case "System":
		t.system = isObject
	case "EventData", "UserData":
		t.data = true
	case "fields":
		t.fields = isObject
	case "id", "time", "host", "logsource", "source":
	default:
		t.onlyNormalised = false
	}
}

// value reads a non-object value (objects are flattened by the caller).
func (s *scanner) value(depth int) (event.Value, error) {
	switch c := s.data[s.pos]; {
	case c == '"':
		str, err := s.str()
		return event.S(str), err
	case c == '[':
		s.pos++
		return s.array(depth + 1)
	case c == 't':
		return event.B(true), s.literal("true")
	case c == 'f':
		return event.B(false), s.literal("false")
	case c == 'n':
		return event.NullValue(), s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	case c == '{':
		// Only inside arrays: an object there has no name to flatten
		// under and is kept as its JSON text.
		s.pos++
		var sub []event.Field
		if err := s.object("", &sub, depth+1); err != nil {
			return event.Value{}, err
		}
		return event.S(string(event.MarshalFields(sub))), nil
	}
	return event.Value{}, s.errorf("unexpected character %q", s.data[s.pos])
}

func (s *scanner) array(depth int) (event.Value, error) {
	if depth > maxNesting {
		return event.Value{}, s.errorf("nested too deeply")
	}
	var items []event.Value
	s.skipWS()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return event.L(items...), nil
	}
	for {
		s.skipWS()
		if s.pos >= len(s.data) {
			return event.Value{}, s.errorf("unexpected end in array")
		}
		v, err := s.value(depth)
		if err != nil {
			return event.Value{}, err
		}
		items = append(items, v)
		s.skipWS()
		if s.pos >= len(s.data) {
			return event.Value{}, s.errorf("unexpected end in array")
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return event.L(items...), nil
		default:
			return event.Value{}, s.errorf("want ',' or ']'")
		}
	}
}

func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return s.errorf("invalid literal")
	}
	s.pos += len(word)
	return nil
}

// number reads a JSON number and keeps its text, as json.Number does.
func (s *scanner) number() (event.Value, error) {
	start := s.pos
	d := s.data
	if d[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(d) && d[s.pos] == '0':
		s.pos++
	case s.pos < len(d) && '1' <= d[s.pos] && d[s.pos] <= '9':
		for s.pos < len(d) && '0' <= d[s.pos] && d[s.pos] <= '9' {
			s.pos++
		}
	default:
		return event.Value{}, s.errorf("invalid number")
	}
	if s.pos < len(d) && d[s.pos] == '.' {
		s.pos++
		if s.pos >= len(d) || d[s.pos] < '0' || d[s.pos] > '9' {
			return event.Value{}, s.errorf("invalid number")
		}
		for s.pos < len(d) && '0' <= d[s.pos] && d[s.pos] <= '9' {
			s.pos++
		}
	}
	if s.pos < len(d) && (d[s.pos] == 'e' || d[s.pos] == 'E') {
		s.pos++
		if s.pos < len(d) && (d[s.pos] == '+' || d[s.pos] == '-') {
			s.pos++
		}
		if s.pos >= len(d) || d[s.pos] < '0' || d[s.pos] > '9' {
			return event.Value{}, s.errorf("invalid number")
		}
		for s.pos < len(d) && '0' <= d[s.pos] && d[s.pos] <= '9' {
			s.pos++
		}
	}
	text := string(d[start:s.pos])
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return event.Value{}, fmt.Errorf("%w: number %s: %w", errSyntax, text, err)
	}
	return event.NumText(text, f), nil
}

// str reads a string at s.pos (its opening quote). Plain strings are copied
// directly; ones with escapes or non-ASCII bytes go through encoding/json so
// escapes, surrogates and invalid UTF-8 come out exactly as it makes them.
func (s *scanner) str() (string, error) {
	start := s.pos
	s.pos++
	simple := true
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			if simple {
				return string(s.data[start+1 : s.pos-1]), nil
			}
			raw := s.data[start:s.pos]
			if utf8.Valid(raw) && !hasEscape(raw) {
				return string(raw[1 : len(raw)-1]), nil
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", fmt.Errorf("%w: string at offset %d: %w", errSyntax, start, err)
			}
			return out, nil
		case c == '\\':
			simple = false
			s.pos += 2
		case c < 0x20:
			return "", s.errorf("control character in string")
		case c >= 0x80:
			simple = false
			s.pos++
		default:
			s.pos++
		}
	}
	return "", s.errorf("unterminated string")
}

func hasEscape(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' {
			return true
		}
	}
	return false
}
