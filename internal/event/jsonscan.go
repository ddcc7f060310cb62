package event

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// The normalised shape is decoded by a one-pass scanner instead of
// encoding/json: decoding through reflection and Decoder.Token allocated per
// token and was the largest cost of ingesting an event. The scanner accepts
// exactly the documents encoding/json accepts and decodes them to the same
// values (FuzzUnmarshalJSON and FuzzUnmarshalFields compare it with the
// encoding/json code it replaced, kept in json_ref_test.go).

// SyntaxError is malformed JSON, with the byte offset where it was found.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return "invalid JSON: " + e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

// maxNesting is encoding/json's own limit on nested arrays and objects, so
// that both reject the same documents.
const maxNesting = 10000

// decoder scans one JSON document. s is data as one string: names and
// values without escapes are substrings of it, so a line costs one string
// allocation instead of two per field.
type decoder struct {
	data   []byte
	s      string
	pos    int
	strict bool  // numbers in skipped values must parse too
	numErr error // the first number out of float64's range, in strict mode
}

func newDecoder(data []byte) *decoder {
	return &decoder{data: data, s: string(data)}
}

func (d *decoder) syntaxErr(msg string) error {
	return &SyntaxError{Offset: d.pos, Msg: msg}
}

func isSyntax(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se)
}

func (d *decoder) skipWS() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// expect consumes c after optional whitespace.
func (d *decoder) expect(c byte, what string) error {
	d.skipWS()
	if d.pos >= len(d.data) || d.data[d.pos] != c {
		return d.syntaxErr("want " + what)
	}
	d.pos++
	return nil
}

// shape notes what decodeEvent saw at the top level, for DecodeNormalised.
type shape struct {
	object       bool // the document is an object and valid JSON
	onlyKnown    bool // every top-level key is one of the shape's, spelled exactly
	fieldsObject bool // the last "fields" member is an object
}

func (s shape) normalised() bool { return s.object && s.onlyKnown && s.fieldsObject }

// decodeEvent decodes the normalised shape as encoding/json decoded it into
// struct{ID, Time, Host string; Logsource Logsource; Source string; Fields
// json.RawMessage} followed by UnmarshalFields on the last fields member. A
// syntax error ends the scan at once; a member of the wrong type is
// remembered and the scan goes on, as encoding/json keeps its first type
// error and finishes the document.
func decodeEvent(data []byte, strict bool) (Event, shape, error) {
	d := newDecoder(data)
	d.strict = strict
	var sh shape
	d.skipWS()
	if d.pos >= len(d.data) {
		return Event{}, sh, d.syntaxErr("unexpected end of JSON input")
	}
	switch d.data[d.pos] {
	case '{':
		d.pos++
	case 'n':
		// null decodes to nothing, leaving the zero event.
		if err := d.literal("null"); err != nil {
			return Event{}, sh, err
		}
		d.skipWS()
		if d.pos != len(d.data) {
			return Event{}, sh, d.syntaxErr("data after the top-level value")
		}
		return Event{}, sh, nil
	default:
		if err := d.skipValue(1); err != nil {
			return Event{}, sh, err
		}
		return Event{}, sh, ErrNotObject
	}
	sh.onlyKnown = true
	var (
		ev        Event
		timeText  string
		fields    []Field
		fieldsErr error
		typeErr   error
	)
	noteType := func(err error) {
		if typeErr == nil {
			typeErr = err
		}
	}
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
	} else {
		for {
			key, err := d.memberName()
			if err != nil {
				return Event{}, sh, err
			}
			switch key {
			case "id", "time", "host", "logsource", "source":
			case "fields":
				sh.fieldsObject = d.data[d.pos] == '{'
			default:
				sh.onlyKnown = false
				if strict {
					// DecodeNormalised's caller decodes other shapes
					// itself: no need to read on.
					return Event{}, sh, nil
				}
			}
			switch {
			case foldEq(key, "ID"):
				err = d.stringMember(&ev.ID, key, noteType)
			case foldEq(key, "TIME"):
				err = d.stringMember(&timeText, key, noteType)
			case foldEq(key, "HOST"):
				err = d.stringMember(&ev.Host, key, noteType)
			case foldEq(key, "SOURCE"):
				err = d.stringMember(&ev.Source, key, noteType)
			case foldEq(key, "LOGSOURCE"):
				err = d.logsource(&ev.Logsource, noteType)
			case foldEq(key, "FIELDS"):
				fields, fieldsErr, err = d.fieldsMember()
			default:
				err = d.skipValue(2)
			}
			if err != nil {
				return Event{}, sh, err
			}
			d.skipWS()
			if d.pos >= len(d.data) {
				return Event{}, sh, d.syntaxErr("unexpected end of JSON input")
			}
			if d.data[d.pos] == ',' {
				d.pos++
				continue
			}
			if d.data[d.pos] == '}' {
				d.pos++
				break
			}
			return Event{}, sh, d.syntaxErr("want ',' or '}' after object member")
		}
	}
	d.skipWS()
	if d.pos != len(d.data) {
		return Event{}, sh, d.syntaxErr("data after the top-level value")
	}
	sh.object = true
	if d.numErr != nil {
		return Event{}, sh, d.numErr
	}
	if typeErr != nil {
		return Event{}, sh, typeErr
	}
	if timeText != "" {
		t, err := ParseTime(timeText)
		if err != nil {
			return Event{}, sh, fmt.Errorf("time: %w", err)
		}
		ev.Time = t
	}
	if fieldsErr != nil {
		return Event{}, sh, fieldsErr
	}
	ev.Fields = fields
	return ev, sh, nil
}

// foldEq reports whether key matches name (upper-case ASCII) as
// encoding/json matches a key to a struct field without regard to case:
// ASCII letters upper-cased, other runes replaced by the smallest rune of
// their case-fold orbit, so "ſource" matches "SOURCE" (but "ıd" not "ID").
func foldEq(key, name string) bool {
	j := 0
	for i := 0; i < len(key); {
		c := key[i]
		var r rune
		if c < utf8.RuneSelf {
			r = rune(c)
			if 'a' <= c && c <= 'z' {
				r -= 'a' - 'A'
			}
			i++
		} else {
			var n int
			r, n = utf8.DecodeRuneInString(key[i:])
			r = foldRune(r)
			i += n
		}
		if j >= len(name) || r != rune(name[j]) {
			return false
		}
		j++
	}
	return j == len(name)
}

// foldRune returns the smallest rune of r's case-fold orbit.
func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

// stringMember reads a string into dst; null leaves dst as it is, and any
// other value is a type error.
func (d *decoder) stringMember(dst *string, key string, noteType func(error)) error {
	switch d.data[d.pos] {
	case '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		*dst = s
		return nil
	case 'n':
		return d.literal("null")
	}
	off := d.pos
	if err := d.skipValue(2); err != nil {
		return err
	}
	noteType(fmt.Errorf("json: %s at offset %d: want a string", key, off))
	return nil
}

func (d *decoder) logsource(ls *Logsource, noteType func(error)) error {
	switch d.data[d.pos] {
	case 'n':
		return d.literal("null")
	case '{':
	default:
		off := d.pos
		if err := d.skipValue(2); err != nil {
			return err
		}
		noteType(fmt.Errorf("json: logsource at offset %d: want an object", off))
		return nil
	}
	d.pos++
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	for {
		key, err := d.memberName()
		if err != nil {
			return err
		}
		switch {
		case foldEq(key, "PRODUCT"):
			err = d.stringMember(&ls.Product, "logsource."+key, noteType)
		case foldEq(key, "CATEGORY"):
			err = d.stringMember(&ls.Category, "logsource."+key, noteType)
		case foldEq(key, "SERVICE"):
			err = d.stringMember(&ls.Service, "logsource."+key, noteType)
		default:
			err = d.skipValue(3)
		}
		if err != nil {
			return err
		}
		d.skipWS()
		if d.pos >= len(d.data) {
			return d.syntaxErr("unexpected end of JSON input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.syntaxErr("want ',' or '}' after object member")
		}
	}
}

// fieldsMember reads the fields member. Only the last one counts, so what
// is wrong with its value (not an object, a number out of range) is
// returned as fieldsErr for the caller to keep or forget; err is a syntax
// error, which ends the scan.
func (d *decoder) fieldsMember() (fields []Field, fieldsErr, err error) {
	start := d.pos
	switch d.data[d.pos] {
	case '{':
		d.pos++
		fields = make([]Field, 0, d.estimateFields())
		ferr := d.object("", &fields, 2)
		if ferr == nil {
			if len(fields) == 0 {
				fields = nil // as encoding/json left it
			}
			return fields, nil, nil
		}
		if isSyntax(ferr) {
			return nil, nil, ferr
		}
		// A value error stopped the object part way: scan it again to
		// find its end and any syntax error after the bad value.
		d.pos = start
		if err := d.skipValue(2); err != nil {
			return nil, nil, err
		}
		return nil, fmt.Errorf("fields: %w", ferr), nil
	case 'n':
		if err := d.literal("null"); err != nil {
			return nil, nil, err
		}
		return nil, nil, nil
	}
	if err := d.skipValue(2); err != nil {
		return nil, nil, err
	}
	return nil, fmt.Errorf("fields: %w", ErrNotObject), nil
}

// estimateFields guesses how many fields the object at d.pos holds from
// the colons after it, so the slice is allocated once: growing it was a
// tenth of decoding an event. Colons inside strings make it a little
// generous; the cap bounds what a hostile document can make it reserve.
func (d *decoder) estimateFields() int {
	return min(bytes.Count(d.data[d.pos:], colon), 256)
}

var colon = []byte{':'}

// memberName reads an object member's name and its ':' and skips to the
// start of the value, which must exist.
func (d *decoder) memberName() (string, error) {
	d.skipWS()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return "", d.syntaxErr("want a member name")
	}
	key, err := d.str()
	if err != nil {
		return "", err
	}
	if err := d.expect(':', "':' after member name"); err != nil {
		return "", err
	}
	d.skipWS()
	if d.pos >= len(d.data) {
		return "", d.syntaxErr("unexpected end of JSON input")
	}
	return key, nil
}

// object reads members after the '{' up to and including the '}',
// flattening nested objects into dotted names. depth is the object's own.
func (d *decoder) object(prefix string, out *[]Field, depth int) error {
	if depth > maxNesting {
		return d.syntaxErr("exceeded max depth")
	}
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return nil
	}
	for {
		key, err := d.memberName()
		if err != nil {
			return err
		}
		name := key
		if prefix != "" {
			name = prefix + "." + key
		}
		if d.data[d.pos] == '{' {
			d.pos++
			if err := d.object(name, out, depth+1); err != nil {
				return err
			}
		} else {
			v, err := d.value(depth)
			if err != nil {
				return err
			}
			*out = append(*out, Field{Name: name, Value: v})
		}
		d.skipWS()
		if d.pos >= len(d.data) {
			return d.syntaxErr("unexpected end of JSON input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.syntaxErr("want ',' or '}' after object member")
		}
	}
}

// value reads the value of a member of an object at depth, or an item of
// an array at depth.
func (d *decoder) value(depth int) (Value, error) {
	switch c := d.data[d.pos]; {
	case c == '"':
		s, err := d.str()
		return Value{Kind: String, Str: s}, err
	case c == '[':
		d.pos++
		return d.array(depth + 1)
	case c == 't':
		return B(true), d.literal("true")
	case c == 'f':
		return B(false), d.literal("false")
	case c == 'n':
		return NullValue(), d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		text, err := d.numberText()
		if err != nil {
			return Value{}, err
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return Value{}, err
		}
		return NumText(text, f), nil
	case c == '{':
		// Only in arrays: an object there has no name to flatten under
		// and is kept as its JSON text.
		d.pos++
		var sub []Field
		if err := d.object("", &sub, depth+1); err != nil {
			return Value{}, err
		}
		return S(string(MarshalFields(sub))), nil
	}
	return Value{}, d.syntaxErr(fmt.Sprintf("unexpected character %q", d.data[d.pos]))
}

// array reads items after the '['; depth is the array's own.
func (d *decoder) array(depth int) (Value, error) {
	if depth > maxNesting {
		return Value{}, d.syntaxErr("exceeded max depth")
	}
	var items []Value
	d.skipWS()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return L(items...), nil
	}
	for {
		d.skipWS()
		if d.pos >= len(d.data) {
			return Value{}, d.syntaxErr("unexpected end of JSON input")
		}
		v, err := d.value(depth)
		if err != nil {
			return Value{}, err
		}
		items = append(items, v)
		d.skipWS()
		if d.pos >= len(d.data) {
			return Value{}, d.syntaxErr("unexpected end of JSON input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return L(items...), nil
		default:
			return Value{}, d.syntaxErr("want ',' or ']' after array item")
		}
	}
}

// skipValue checks the syntax of one value and moves past it; depth is the
// value's own if it is an array or object.
func (d *decoder) skipValue(depth int) error {
	d.skipWS()
	if d.pos >= len(d.data) {
		return d.syntaxErr("unexpected end of JSON input")
	}
	switch c := d.data[d.pos]; {
	case c == '"':
		return d.skipString()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		text, err := d.numberText()
		if err != nil {
			return err
		}
		if d.strict && d.numErr == nil {
			if _, err := strconv.ParseFloat(text, 64); err != nil {
				d.numErr = err
			}
		}
		return nil
	case c == '[' || c == '{':
		if depth > maxNesting {
			return d.syntaxErr("exceeded max depth")
		}
		close := byte(']')
		if c == '{' {
			close = '}'
		}
		d.pos++
		d.skipWS()
		if d.pos < len(d.data) && d.data[d.pos] == close {
			d.pos++
			return nil
		}
		for {
			if c == '{' {
				d.skipWS()
				if d.pos >= len(d.data) || d.data[d.pos] != '"' {
					return d.syntaxErr("want a member name")
				}
				if err := d.skipString(); err != nil {
					return err
				}
				if err := d.expect(':', "':' after member name"); err != nil {
					return err
				}
			}
			if err := d.skipValue(depth + 1); err != nil {
				return err
			}
			d.skipWS()
			if d.pos >= len(d.data) {
				return d.syntaxErr("unexpected end of JSON input")
			}
			switch d.data[d.pos] {
			case ',':
				d.pos++
			case close:
				d.pos++
				return nil
			default:
				return d.syntaxErr("want ',' or '" + string(close) + "'")
			}
		}
	}
	return d.syntaxErr(fmt.Sprintf("unexpected character %q", d.data[d.pos]))
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || d.s[d.pos:d.pos+len(word)] != word {
		return d.syntaxErr("invalid literal")
	}
	d.pos += len(word)
	return nil
}

// numberText reads a number in JSON's grammar and returns its text.
func (d *decoder) numberText() (string, error) {
	start := d.pos
	b := d.data
	i := d.pos
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		d.pos = i
		return "", d.syntaxErr("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.pos = i
			return "", d.syntaxErr("invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.pos = i
			return "", d.syntaxErr("invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	d.pos = i
	return d.s[start:i], nil
}

// str reads a string at d.pos (its opening quote). One without escapes or
// invalid UTF-8 is a substring of the document; others are decoded as
// encoding/json decodes them.
func (d *decoder) str() (string, error) {
	start := d.pos + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			return d.s[start:i], nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	end, plain, err := d.scanString(i)
	if err != nil {
		return "", err
	}
	d.pos = end + 1
	if plain {
		return d.s[start:end], nil
	}
	return string(unquote(d.data[start:end])), nil
}

func (d *decoder) skipString() error {
	end, _, err := d.scanString(d.pos + 1)
	if err != nil {
		return err
	}
	d.pos = end + 1
	return nil
}

// scanString finds the closing quote of a string from i on, checking its
// escapes; plain is false when the string needs decoding.
func (d *decoder) scanString(i int) (end int, plain bool, err error) {
	b := d.data
	start := i
	plain = true
	high := false
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if plain && high {
				plain = utf8.Valid(b[start:i])
			}
			return i, plain, nil
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				d.pos = i
				return 0, false, d.syntaxErr("unexpected end of JSON input")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || getu4(b[i:]) < 0 {
					d.pos = i
					return 0, false, d.syntaxErr("invalid \\u escape in string")
				}
				i += 6
			default:
				d.pos = i
				return 0, false, d.syntaxErr("invalid escape in string")
			}
		case c < 0x20:
			d.pos = i
			return 0, false, d.syntaxErr("control character in string")
		case c >= utf8.RuneSelf:
			high = true
			i++
		default:
			i++
		}
	}
	d.pos = i
	return 0, false, d.syntaxErr("unexpected end of JSON input")
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// unquote decodes the inside of a string whose escapes scanString checked,
// exactly as encoding/json does: invalid UTF-8 and unpaired surrogates
// become U+FFFD.
func unquote(s []byte) []byte {
	b := make([]byte, 0, len(s)+utf8.UTFMax)
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr := getu4(s[r:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
						r += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
				continue
			default: // '"', '\\', '/'
				b = append(b, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b
}
