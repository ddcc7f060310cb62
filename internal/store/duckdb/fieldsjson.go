package duckdb

import (
	"strconv"
	"unicode/utf8"

	"github.com/vigilsoc/vigil/internal/event"
)

// appendFields writes fields as one JSON object, in order, in the shape
// event.MarshalFields writes and event.UnmarshalFields reads. It exists
// because encoding every string through encoding/json was the largest cost
// of AppendEvents (see BenchmarkAppendEvents); this appends into a reused
// buffer without reflection.
func appendFields(b []byte, fields []event.Field) []byte {
	b = append(b, '{')
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		b = appendValue(b, f.Value)
	}
	return append(b, '}')
}

func appendValue(b []byte, v event.Value) []byte {
	switch v.Kind {
	case event.Null:
		return append(b, "null"...)
	case event.Bool:
		if v.Str == "true" {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case event.Number:
		switch {
		case v.Str == "":
			return strconv.AppendFloat(b, v.Num, 'g', -1, 64)
		case validNumber(v.Str):
			return append(b, v.Str...)
		}
		// Text such as 0x10 is not a JSON number and as a float could lose
		// digits: keep the text, as the event model's encoder does.
		return appendJSONString(b, v.Str)
	case event.List:
		b = append(b, '[')
		for i, it := range v.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, it)
		}
		return append(b, ']')
	}
	return appendJSONString(b, v.Str)
}

// validNumber reports whether s is a JSON number (RFC 8259 grammar), so
// number text such as "0x10" or "007" is not written as invalid JSON.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does, so the column always holds valid JSON.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
