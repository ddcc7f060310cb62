package event

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// refUnmarshalJSON is UnmarshalJSON as it was before the one-pass
// scanner: encoding/json into a struct, then UnmarshalFields through
// Decoder.Token. FuzzUnmarshalJSON checks the fast code against it.
func refUnmarshalJSON(e *Event, data []byte) error {
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
		fields, err := refUnmarshalFields(raw.Fields)
		if err != nil {
			return fmt.Errorf("fields: %w", err)
		}
		e.Fields = fields
	}
	return nil
}

// refUnmarshalFields is the old UnmarshalFields: it reads a JSON object
// into ordered fields, flattening nested objects with dots.
func refUnmarshalFields(data []byte) ([]Field, error) {
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
	if err := refReadObject(dec, "", &fields); err != nil {
		return nil, err
	}
	return fields, nil
}

// refReadObject reads the members of an object whose '{' was consumed.
func refReadObject(dec *json.Decoder, prefix string, out *[]Field) error {
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
			if err := refReadObject(dec, name, out); err != nil {
				return err
			}
			continue
		}
		v, err := refReadValue(dec, tok)
		if err != nil {
			return err
		}
		*out = append(*out, Field{Name: name, Value: v})
	}
	_, err := dec.Token() // '}'
	return err
}

// refReadValue converts the token just read (and, for arrays, what follows).
func refReadValue(dec *json.Decoder, tok json.Token) (Value, error) {
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
					if err := refReadObject(dec, "", &sub); err != nil {
						return Value{}, err
					}
					items = append(items, S(string(MarshalFields(sub))))
					continue
				}
				v, err := refReadValue(dec, tok)
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
