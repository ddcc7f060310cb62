package evtx

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

func TestRender(t *testing.T) {
	f64 := func(f float64) []byte { return le64(math.Float64bits(f)) }
	f32 := func(f float32) []byte { return le32(math.Float32bits(f)) }
	st := make([]byte, 16)
	for i, v := range []uint16{1999, 12, 5, 31, 23, 59, 58, 7} {
		binary.LittleEndian.PutUint16(st[2*i:], v)
	}
	tests := []struct {
		name string
		typ  byte
		data []byte
		kind event.Kind
		text string
		num  float64
	}{
		{"null", typeNull, nil, event.String, "", 0},
		{"utf16 ascii", typeString, utf16le("cmd.exe"), event.String, "cmd.exe", 0},
		{"utf16 trailing nul", typeString, utf16le("ab\x00\x00"), event.String, "ab", 0},
		{"utf16 non-ascii", typeString, utf16le("Microsoft® Ünï 日本"), event.String, "Microsoft® Ünï 日本", 0},
		{"utf16 surrogate pair", typeString, utf16le("x😀y"), event.String, "x😀y", 0},
		{"utf16 odd length", typeString, []byte{'a', 0, 'b'}, event.String, "a", 0},
		{"ansi", typeANSI, []byte("abc\xe9\x00"), event.String, "abcé", 0},
		{"int8", typeInt8, []byte{0xfe}, event.Number, "-2", -2},
		{"uint8", typeUInt8, []byte{0xfe}, event.Number, "254", 254},
		{"int16", typeInt16, le16(0x8000), event.Number, "-32768", -32768},
		{"uint16", typeUInt16, le16(4688), event.Number, "4688", 4688},
		{"int32", typeInt32, le32(0xfffffffe), event.Number, "-2", -2},
		{"uint32", typeUInt32, le32(0xffffffff), event.Number, "4294967295", 4294967295},
		{"int64", typeInt64, le64(1 << 63), event.Number, "-9223372036854775808", -9223372036854775808},
		{"uint64", typeUInt64, le64(123456789012), event.Number, "123456789012", 123456789012},
		{"real32", typeReal32, f32(2.5), event.Number, "2.5", 2.5},
		{"real64", typeReal64, f64(-0.125), event.Number, "-0.125", -0.125},
		{"bool true", typeBool, le32(1), event.Bool, "true", 0},
		{"bool false", typeBool, le32(0), event.Bool, "false", 0},
		{"binary", typeBinary, []byte{0x0a, 0xbc}, event.String, "0ABC", 0},
		{"guid", typeGUID, []byte{0x96, 0x3d, 0x7f, 0x74, 0xeb, 0xd6, 0x31, 0x5d, 0, 0, 0, 0x10, 0xe0, 0x25, 0x25, 0}, event.String, "{747F3D96-D6EB-5D31-0000-0010E0252500}", 0},
		{"size_t 32", typeSizeT, le32(0xabc), event.Number, "0xabc", 0xabc},
		{"size_t 64", typeSizeT, le64(0x7ff6a1b20000), event.Number, "0x7ff6a1b20000", 0x7ff6a1b20000},
		{"hex32", typeHex32, le32(0x1fc), event.Number, "0x1fc", 0x1fc},
		{"hex64", typeHex64, le64(0x8020000000000000), event.Number, "0x8020000000000000", 0x8020000000000000},
		{"filetime", typeFileTime, le64(131975120651234567), event.String, "2019-03-19T23:34:25.1234567Z", 0},
		{"filetime zero", typeFileTime, le64(0), event.String, "1601-01-01T00:00:00.0000000Z", 0},
		{"systemtime", typeSysTime, st, event.String, "1999-12-31T23:59:58.0070000Z", 0},
		{"sid", typeSID, []byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0x82, 0x2e, 0x99, 0x5e, 0xa2, 0x56, 0xc4, 0x58, 0x73, 0x28, 0xb8, 0x3d, 0x52, 0x04, 0, 0}, event.String, "S-1-5-21-1587097218-1489262242-1035479155-1106", 0},
		{"sid big authority", typeSID, []byte{1, 0, 0x01, 0, 0, 0, 0, 0}, event.String, "S-1-0x10000000000", 0},
		{"evt handle", 0x20, []byte{1, 2}, event.String, "0102", 0},
		{"string array", typeString | typeArray, utf16le("a\x00bc\x00"), event.List, "a, bc", 0},
		{"ansi array", typeANSI | typeArray, []byte("x\x00y"), event.List, "x, y", 0},
		{"uint16 array", typeUInt16 | typeArray, append(le16(1), le16(2)...), event.List, "1, 2", 0},
		{"hex64 array", typeHex64 | typeArray, le64(255), event.List, "0xff", 0},
		{"size_t array", typeSizeT | typeArray, append(append(le32(1), le32(2)...), le32(3)...), event.List, "0x1, 0x2, 0x3", 0},
		{"sid array", typeSID | typeArray, []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 5, 19, 0, 0, 0}, event.List, "S-1-5-18, S-1-5-19", 0},
		{"guid array", typeGUID | typeArray, make([]byte, 16), event.List, "{00000000-0000-0000-0000-000000000000}", 0},
	}
	var tb textBuf
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := tb.render(tt.typ, tt.data)
			if !ok {
				t.Fatalf("render failed")
			}
			if v.v.Kind != tt.kind || v.v.Text() != tt.text || (tt.kind == event.Number && v.v.Num != tt.num) {
				t.Errorf("got %v %q (%v), want %v %q (%v)", v.v.Kind, v.v.Text(), v.v.Num, tt.kind, tt.text, tt.num)
			}
		})
	}
}

func TestRenderShort(t *testing.T) {
	var tb textBuf
	for _, typ := range []byte{typeInt16, typeUInt32, typeInt64, typeGUID, typeFileTime, typeSysTime, typeSID, typeSizeT, typeHex64, typeBool, typeUInt32 | typeArray, typeSID | typeArray} {
		if _, ok := tb.render(typ, []byte{1}); ok {
			t.Errorf("type %#x: 1 byte accepted", typ)
		}
	}
}

func TestTimeText(t *testing.T) {
	var tb textBuf
	for _, tm := range []time.Time{
		time.Date(2019, 3, 19, 23, 34, 25, 123456700, time.UTC),
		time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC),
		time.Date(2024, 2, 29, 1, 2, 3, 100, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := tb.timeText(tm), tm.Format(timeLayout); got != want {
			t.Errorf("timeText(%v) = %q, want %q", tm, got, want)
		}
	}
}
