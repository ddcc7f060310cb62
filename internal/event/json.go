package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The normalised JSON shape, used by the API, the stores' raw column and
// `vigil detect --format jsonl`:
//
//	{"id":"..","time":"RFC3339Nano","host":"..","logsource":{..},"source":"..","fields":{"Image":"..",..}}
//
// Fields keep their order. Nested objects inside "fields" are flattened with
// dots, so {"process":{"pid":4}} becomes the field "process.pid".

// MarshalJSON writes the normalised shape.
func (e Event) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	str := func(k, v string) {
		if v == "" {
			return
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSONString(&b, k)
		b.WriteByte(':')
		writeJSONString(&b, v)
	}
	str("id", e.ID)
	if !e.Time.IsZero() {
		str("time", e.Time.UTC().Format(time.RFC3339Nano))
	}
	str("host", e.Host)
	if !e.Logsource.IsZero() {
		if !first {
			b.WriteByte(',')
		}
		first = false
		ls, _ := json.Marshal(e.Logsource)
		b.WriteString(`"logsource":`)
		b.Write(ls)
	}
	str("source", e.Source)
	if !first {
		b.WriteByte(',')
	}
	b.WriteString(`"fields":`)
	b.Write(MarshalFields(e.Fields))
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalFields writes fields as one JSON object in their order.
func MarshalFields(fields []Field) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, f.Name)
		b.WriteByte(':')
		writeValue(&b, f.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeValue(b *bytes.Buffer, v Value) {
	switch v.Kind {
	case Null:
		b.WriteString("null")
	case Bool:
		b.WriteString(v.Str)
	case Number:
		switch {
		case v.Str == "":
			b.WriteString(strconv.FormatFloat(v.Num, 'g', -1, 64))
		case isJSONNumber(v.Str):
			b.WriteString(v.Str)
		default:
			// Text such as 0x8000000000000000 is not a JSON number, and
			// as a float it would lose digits: keep the text.
			writeJSONString(b, v.Str)
		}
	case List:
		b.WriteByte('[')
		for i, it := range v.Items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, it)
		}
		b.WriteByte(']')
	default:
		writeJSONString(b, v.Str)
	}
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil && !strings.HasPrefix(s, "\"")
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// UnmarshalJSON reads the normalised shape.
func (e *Event) UnmarshalJSON(data []byte) error {
	var raw struct {
		ID        string          `json:"id"`
		Time      string          `json:"time"`
		Host      string          `json:"host"`
		Logsource Logsource       `json:"logsource"`
		Source    string          `json:"source"`
		Fields    json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*e = Event{ID: raw.ID, Host: raw.Host, Logsource: raw.Logsource, Source: raw.Source}
	if raw.Time != "" {
		t, err := ParseTime(raw.Time)
		if err != nil {
			return fmt.Errorf("time: %w", err)
		}
		e.Time = t
	}
	if len(raw.Fields) > 0 && !bytes.Equal(bytes.TrimSpace(raw.Fields), []byte("null")) {
		fields, err := UnmarshalFields(raw.Fields)
		if err != nil {
			return fmt.Errorf("fields: %w", err)
		}
		e.Fields = fields
	}
	return nil
}

// ErrNotObject is returned when JSON that must be an object is not one.
var ErrNotObject = errors.New("not a JSON object")

// UnmarshalFields reads a JSON object into ordered fields, flattening nested
// objects with dots.
func UnmarshalFields(data []byte) ([]Field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, ErrNotObject
	}
	var fields []Field
	if err := readObject(dec, "", &fields); err != nil {
		return nil, err
	}
	return fields, nil
}

// readObject reads the members of an object whose '{' was consumed.
func readObject(dec *json.Decoder, prefix string, out *[]Field) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		name := key
		if prefix != "" {
			name = prefix + "." + key
		}
		tok, err = dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok && d == '{' {
			if err := readObject(dec, name, out); err != nil {
				return err
			}
			continue
		}
		v, err := readValue(dec, tok)
		if err != nil {
			return err
		}
		*out = append(*out, Field{Name: name, Value: v})
	}
	_, err := dec.Token() // '}'
	return err
}

// readValue converts the token just read (and, for arrays, what follows).
func readValue(dec *json.Decoder, tok json.Token) (Value, error) {
	switch t := tok.(type) {
	case nil:
		return NullValue(), nil
	case bool:
		return B(t), nil
	case string:
		return S(t), nil
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return Value{}, err
		}
		return NumText(t.String(), f), nil
	case json.Delim:
		switch t {
		case '[':
			var items []Value
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return Value{}, err
				}
				if d, ok := tok.(json.Delim); ok && d == '{' {
					// An object inside a list has no field name to flatten
					// under; keep it as its JSON text.
					var sub []Field
					if err := readObject(dec, "", &sub); err != nil {
						return Value{}, err
					}
					items = append(items, S(string(MarshalFields(sub))))
					continue
				}
				v, err := readValue(dec, tok)
				if err != nil {
					return Value{}, err
				}
				items = append(items, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return Value{}, err
			}
			return L(items...), nil
		}
	}
	return Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}

// ParseTime accepts the timestamp forms sources commonly write: RFC 3339 with
// or without fraction and zone, a space instead of the T, and Unix seconds or
// milliseconds as digits.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 1e12 {
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q", s)
}
