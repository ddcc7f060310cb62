package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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

// isJSONNumber reports whether s may be written as a JSON number: what
// json.Number accepts, without quotes. Text kept from a parsed number is
// always a plain number literal, checked here without encoding/json.
func isJSONNumber(s string) bool {
	if isNumberLiteral(s) {
		return true
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil && !strings.HasPrefix(s, "\"")
}

// isNumberLiteral reports whether s is exactly a number in JSON's grammar.
func isNumberLiteral(s string) bool {
	d := decoder{data: []byte(s), s: s}
	if len(s) == 0 {
		return false
	}
	if _, err := d.numberText(); err != nil {
		return false
	}
	return d.pos == len(s)
}

// writeJSONString writes s as json.Marshal does, HTML characters and
// U+2028/U+2029 escaped and invalid UTF-8 replaced, without its
// reflection and allocation per string (FuzzWriteJSONString compares).
func writeJSONString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

const hexDigits = "0123456789abcdef"

// UnmarshalJSON reads the normalised shape. It accepts and rejects what
// encoding/json would when decoding into the shape's struct (keys matched
// without regard to case, the last of repeated keys winning, null leaving a
// member unset, unknown members ignored), but reads the document in one pass
// without reflection or tokens; see decodeEvent.
func (e *Event) UnmarshalJSON(data []byte) error {
	ev, _, err := decodeEvent(data, false)
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// DecodeNormalised reads data when it is exactly the normalised shape: a
// JSON object whose top-level keys are all among id, time, host,
// logsource, source and fields (spelled so), with fields an object. Then ok
// is true and ev and err are what UnmarshalJSON gives, except that numbers
// in ignored members must also be in float64's range. For any other shape,
// and for input that is not valid JSON, ok is false and the caller should
// try other shapes. It lets a reader of mixed input decode the common shape
// in one pass instead of classifying it first and decoding it again.
func DecodeNormalised(data []byte) (ev *Event, ok bool, err error) {
	e, shape, err := decodeEvent(data, true)
	if !shape.normalised() {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	return &e, true, nil
}

// ErrNotObject is returned when JSON that must be an object is not one.
var ErrNotObject = errors.New("not a JSON object")

// UnmarshalFields reads a JSON object into ordered fields, flattening nested
// objects with dots.
func UnmarshalFields(data []byte) ([]Field, error) {
	d := newDecoder(data)
	d.skipWS()
	if d.pos >= len(d.data) {
		return nil, d.syntaxErr("unexpected end of JSON input")
	}
	if d.data[d.pos] != '{' {
		// What follows the value is not looked at, as json.Decoder's
		// first token did not look at it either; only a malformed first
		// value is a syntax error.
		if err := d.skipValue(1); err != nil {
			return nil, err
		}
		return nil, ErrNotObject
	}
	d.pos++
	fields := make([]Field, 0, d.estimateFields())
	if err := d.object("", &fields, 1); err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		return nil, nil
	}
	return fields, nil
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
