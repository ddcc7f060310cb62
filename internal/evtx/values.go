package evtx

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/vigilsoc/vigil/internal/event"
)

// Binary XML value types.
const (
	typeNull     = 0x00
	typeString   = 0x01
	typeANSI     = 0x02
	typeInt8     = 0x03
	typeUInt8    = 0x04
	typeInt16    = 0x05
	typeUInt16   = 0x06
	typeInt32    = 0x07
	typeUInt32   = 0x08
	typeInt64    = 0x09
	typeUInt64   = 0x0a
	typeReal32   = 0x0b
	typeReal64   = 0x0c
	typeBool     = 0x0d
	typeBinary   = 0x0e
	typeGUID     = 0x0f
	typeSizeT    = 0x10
	typeFileTime = 0x11
	typeSysTime  = 0x12
	typeSID      = 0x13
	typeHex32    = 0x14
	typeHex64    = 0x15
	typeBinXML   = 0x21
	typeArray    = 0x80
)

// timeLayout renders timestamps as Windows does in event XML: UTC with
// seven fractional digits (FILETIME has 100 ns resolution).
const timeLayout = "2006-01-02T15:04:05.0000000Z"

// filetimeEpochDelta is the number of seconds from 1601-01-01 to 1970-01-01.
const filetimeEpochDelta = 11644473600

// val is a rendered value; t is set for FILETIME and SYSTEMTIME so that the
// record's time needs no parsing.
type val struct {
	v    event.Value
	t    time.Time
	hasT bool
}

// textBuf is scratch space for building strings; one per decoder.
type textBuf struct {
	b []byte
	// seen interns short rendered values: most of a record's values
	// (computer, user, SIDs, provider, parent image, ...) repeat from record
	// to record, and a map hit costs less than allocating them again.
	seen map[string]string
}

const (
	maxSeenLen   = 96
	maxSeenCount = 1 << 13
)

// str returns tb.b as a string, interned when short.
func (tb *textBuf) str() string {
	if len(tb.b) > maxSeenLen {
		return string(tb.b)
	}
	if s, ok := tb.seen[string(tb.b)]; ok {
		return s
	}
	s := string(tb.b)
	if tb.seen == nil || len(tb.seen) >= maxSeenCount {
		tb.seen = make(map[string]string, 256)
	}
	tb.seen[s] = s
	return s
}

// utf16 decodes UTF-16LE bytes to a string, dropping trailing NULs.
func (tb *textBuf) utf16(b []byte) string {
	tb.b = appendUTF16(tb.b[:0], b)
	return tb.str()
}

// appendUTF16 appends UTF-16LE bytes as UTF-8, dropping trailing NULs.
// ASCII, the common case, is copied byte by byte without rune decoding.
func appendUTF16(out, b []byte) []byte {
	n := len(b) &^ 1
	for n >= 2 && b[n-2] == 0 && b[n-1] == 0 {
		n -= 2
	}
	b = b[:n]
	i := 0
	for ; i < n; i += 2 {
		if b[i+1] != 0 || b[i] >= 0x80 {
			break
		}
		out = append(out, b[i])
	}
	if i < n {
		out = appendUTF16Slow(out, b[i:])
	}
	return out
}

func appendUTF16Slow(out, b []byte) []byte {
	for i := 0; i+1 < len(b); i += 2 {
		r := rune(binary.LittleEndian.Uint16(b[i:]))
		if utf16.IsSurrogate(r) && i+3 < len(b) {
			r2 := rune(binary.LittleEndian.Uint16(b[i+2:]))
			if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
				out = utf8.AppendRune(out, dec)
				i += 2
				continue
			}
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// ansi decodes a single-byte string; bytes above 0x7f are taken as Latin-1,
// the nearest stand-in for the unknown code page.
func (tb *textBuf) ansi(b []byte) string {
	n := len(b)
	for n > 0 && b[n-1] == 0 {
		n--
	}
	out := tb.b[:0]
	for _, c := range b[:n] {
		if c < 0x80 {
			out = append(out, c)
		} else {
			out = utf8.AppendRune(out, rune(c))
		}
	}
	tb.b = out
	return tb.str()
}

const hexUpper = "0123456789ABCDEF"

func (tb *textBuf) hexBytes(b []byte) string {
	out := tb.b[:0]
	for _, c := range b {
		out = append(out, hexUpper[c>>4], hexUpper[c&0x0f])
	}
	tb.b = out
	return tb.str()
}

func (tb *textBuf) hexNum(u uint64) string {
	out := append(tb.b[:0], '0', 'x')
	out = strconv.AppendUint(out, u, 16)
	tb.b = out
	return tb.str()
}

func (tb *textBuf) guid(b []byte) string {
	out := append(tb.b[:0], '{')
	le := func(v uint64, digits int) {
		for s := (digits - 1) * 4; s >= 0; s -= 4 {
			out = append(out, hexUpper[(v>>uint(s))&0x0f])
		}
	}
	le(uint64(binary.LittleEndian.Uint32(b)), 8)
	out = append(out, '-')
	le(uint64(binary.LittleEndian.Uint16(b[4:])), 4)
	out = append(out, '-')
	le(uint64(binary.LittleEndian.Uint16(b[6:])), 4)
	out = append(out, '-')
	for i, c := range b[8:16] {
		if i == 2 {
			out = append(out, '-')
		}
		out = append(out, hexUpper[c>>4], hexUpper[c&0x0f])
	}
	out = append(out, '}')
	tb.b = out
	return tb.str()
}

// sidLen returns the length of the SID at the start of b, or -1.
func sidLen(b []byte) int {
	if len(b) < 8 {
		return -1
	}
	n := 8 + 4*int(b[1])
	if n > len(b) {
		return -1
	}
	return n
}

func (tb *textBuf) sid(b []byte) (string, bool) {
	n := sidLen(b)
	if n < 0 {
		return "", false
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	out := append(tb.b[:0], 'S', '-')
	out = strconv.AppendUint(out, uint64(b[0]), 10)
	out = append(out, '-')
	if auth >= 1<<32 {
		out = append(out, '0', 'x')
		out = strconv.AppendUint(out, auth, 16)
	} else {
		out = strconv.AppendUint(out, auth, 10)
	}
	for i := 8; i < n; i += 4 {
		out = append(out, '-')
		out = strconv.AppendUint(out, uint64(binary.LittleEndian.Uint32(b[i:])), 10)
	}
	tb.b = out
	return tb.str(), true
}

func filetime(u uint64) time.Time {
	sec := int64(u/10_000_000) - filetimeEpochDelta
	ns := int64(u%10_000_000) * 100
	return time.Unix(sec, ns).UTC()
}

// timeText formats t (UTC) as timeLayout does; by hand because
// time.AppendFormat costs more than the rest of a record's values together.
func (tb *textBuf) timeText(t time.Time) string {
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		tb.b = t.AppendFormat(tb.b[:0], timeLayout)
		return string(tb.b)
	}
	hour, minute, sec := t.Clock()
	out := appendDigits(tb.b[:0], year, 4)
	out = append(out, '-')
	out = appendDigits(out, int(month), 2)
	out = append(out, '-')
	out = appendDigits(out, day, 2)
	out = append(out, 'T')
	out = appendDigits(out, hour, 2)
	out = append(out, ':')
	out = appendDigits(out, minute, 2)
	out = append(out, ':')
	out = appendDigits(out, sec, 2)
	out = append(out, '.')
	out = appendDigits(out, t.Nanosecond()/100, 7)
	out = append(out, 'Z')
	tb.b = out
	return tb.str()
}

// appendDigits appends v (non-negative) as exactly width decimal digits.
func appendDigits(out []byte, v, width int) []byte {
	var d [10]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + v%10)
		v /= 10
	}
	return append(out, d[:width]...)
}

func systemtime(b []byte) time.Time {
	u := func(i int) int { return int(binary.LittleEndian.Uint16(b[i:])) }
	return time.Date(u(0), time.Month(u(2)), u(6), u(8), u(10), u(12), u(14)*1_000_000, time.UTC)
}

// scalarSize is the fixed width of a value type, or 0 when variable.
func scalarSize(t byte) int {
	switch t {
	case typeInt8, typeUInt8:
		return 1
	case typeInt16, typeUInt16:
		return 2
	case typeInt32, typeUInt32, typeReal32, typeBool, typeHex32:
		return 4
	case typeInt64, typeUInt64, typeReal64, typeFileTime, typeHex64:
		return 8
	case typeGUID, typeSysTime:
		return 16
	}
	return 0
}

// render turns a substitution value into its XML text form. ok is false when
// the data is too short for its type.
func (tb *textBuf) render(t byte, b []byte) (val, bool) {
	if t&typeArray != 0 {
		return tb.renderArray(t&^typeArray, b)
	}
	if n := scalarSize(t); n > len(b) {
		return val{}, false
	}
	switch t {
	case typeNull:
		return val{v: event.S("")}, true
	case typeString:
		return val{v: event.S(tb.utf16(b))}, true
	case typeANSI:
		return val{v: event.S(tb.ansi(b))}, true
	case typeInt8:
		return intVal(int64(int8(b[0]))), true
	case typeUInt8:
		return uintVal(uint64(b[0])), true
	case typeInt16:
		return intVal(int64(int16(binary.LittleEndian.Uint16(b)))), true
	case typeUInt16:
		return uintVal(uint64(binary.LittleEndian.Uint16(b))), true
	case typeInt32:
		return intVal(int64(int32(binary.LittleEndian.Uint32(b)))), true
	case typeUInt32:
		return uintVal(uint64(binary.LittleEndian.Uint32(b))), true
	case typeInt64:
		return intVal(int64(binary.LittleEndian.Uint64(b))), true
	case typeUInt64:
		return uintVal(binary.LittleEndian.Uint64(b)), true
	case typeReal32:
		f := math.Float32frombits(binary.LittleEndian.Uint32(b))
		return val{v: event.NumText(strconv.FormatFloat(float64(f), 'g', -1, 32), float64(f))}, true
	case typeReal64:
		f := math.Float64frombits(binary.LittleEndian.Uint64(b))
		return val{v: event.NumText(strconv.FormatFloat(f, 'g', -1, 64), f)}, true
	case typeBool:
		return val{v: event.B(binary.LittleEndian.Uint32(b) != 0)}, true
	case typeBinary:
		return val{v: event.S(tb.hexBytes(b))}, true
	case typeGUID:
		return val{v: event.S(tb.guid(b))}, true
	case typeSizeT:
		switch len(b) {
		case 4:
			u := uint64(binary.LittleEndian.Uint32(b))
			return val{v: event.NumText(tb.hexNum(u), float64(u))}, true
		case 8:
			u := binary.LittleEndian.Uint64(b)
			return val{v: event.NumText(tb.hexNum(u), float64(u))}, true
		}
		return val{}, false
	case typeHex32:
		u := uint64(binary.LittleEndian.Uint32(b))
		return val{v: event.NumText(tb.hexNum(u), float64(u))}, true
	case typeHex64:
		u := binary.LittleEndian.Uint64(b)
		return val{v: event.NumText(tb.hexNum(u), float64(u))}, true
	case typeFileTime:
		tm := filetime(binary.LittleEndian.Uint64(b))
		return val{v: event.S(tb.timeText(tm)), t: tm, hasT: true}, true
	case typeSysTime:
		tm := systemtime(b)
		return val{v: event.S(tb.timeText(tm)), t: tm, hasT: true}, true
	case typeSID:
		s, ok := tb.sid(b)
		return val{v: event.S(s)}, ok
	}
	// EvtHandle, EvtXml and unknown types: keep the bytes visible.
	return val{v: event.S(tb.hexBytes(b))}, true
}

func intVal(i int64) val {
	return val{v: event.NumText(strconv.FormatInt(i, 10), float64(i))}
}

func uintVal(u uint64) val {
	return val{v: event.NumText(strconv.FormatUint(u, 10), float64(u))}
}

// renderArray renders an array value as a list: strings are separated by
// their NUL terminators, fixed-width types split by width, SIDs by their own
// length.
func (tb *textBuf) renderArray(t byte, b []byte) (val, bool) {
	var items []event.Value
	switch t {
	case typeString:
		start := 0
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				items = append(items, event.S(tb.utf16(b[start:i])))
				start = i + 2
			}
		}
		if start < len(b)-1 {
			items = append(items, event.S(tb.utf16(b[start:])))
		}
	case typeANSI:
		start := 0
		for i, c := range b {
			if c == 0 {
				items = append(items, event.S(tb.ansi(b[start:i])))
				start = i + 1
			}
		}
		if start < len(b) {
			items = append(items, event.S(tb.ansi(b[start:])))
		}
	case typeSID:
		for len(b) > 0 {
			n := sidLen(b)
			if n < 0 {
				return val{}, false
			}
			s, _ := tb.sid(b[:n])
			items = append(items, event.S(s))
			b = b[n:]
		}
	default:
		w := scalarSize(t)
		if t == typeSizeT {
			w = 8
			if len(b)%8 != 0 {
				w = 4
			}
		}
		if w == 0 || len(b)%w != 0 {
			return val{}, false
		}
		for i := 0; i < len(b); i += w {
			v, ok := tb.render(t, b[i:i+w])
			if !ok {
				return val{}, false
			}
			items = append(items, v.v)
		}
	}
	return val{v: event.L(items...)}, true
}
