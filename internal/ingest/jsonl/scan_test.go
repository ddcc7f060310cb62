package jsonl

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

// flattenLine must agree with event.UnmarshalFields, the reference
// reading of the flat shape, on every object both accept, and reject what
// is not valid JSON.
func checkFlatten(t *testing.T, in []byte) {
	got, _, err := flattenLine(in)
	trimmed := bytes.TrimSpace(in)
	valid := json.Valid(in) && len(trimmed) > 0 && trimmed[0] == '{'
	if !valid {
		if err == nil {
			t.Fatalf("accepted invalid input %q", in)
		}
		return
	}
	want, werr := event.UnmarshalFields(in)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: flattenLine err %v, UnmarshalFields err %v", in, err, werr)
	}
	if err != nil {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d fields, want %d:\n%+v\n%+v", in, len(got), len(want), got, want)
	}
	for i := range got {
		if got[i].Name != want[i].Name || !sameValue(got[i].Value, want[i].Value) {
			t.Fatalf("%q: field %d = %+v, want %+v", in, i, got[i], want[i])
		}
	}
}

func sameValue(a, b event.Value) bool {
	if a.Kind != b.Kind || a.Str != b.Str || len(a.Items) != len(b.Items) {
		return false
	}
	if a.Num != b.Num && !(a.Num != a.Num && b.Num != b.Num) {
		return false
	}
	for i := range a.Items {
		if !sameValue(a.Items[i], b.Items[i]) {
			return false
		}
	}
	return true
}

func TestFlattenLine(t *testing.T) {
	for _, in := range []string{
		`{}`, ` {"a":1} `, `{"a":{"b":{"c":[1,{"d":{"e":2}},[3,[]]]}},"f":{}}`,
		`{"s":"\u00e9\ud83d\ude00\ud800x\"\\\/\b\f\n\r\t","bad":"` + "\xff" + `"}`,
		`{"n":-0.5e+10,"z":0,"big":1e400}`, `{"t":true,"f":false,"n":null}`,
		`{"a":01}`, `{"a":1,}`, `{"a" 1}`, `{"a":tru}`, `{"a":"x` + "\x01" + `"}`, `{"a":1}x`, `[1]`, `{"a":-}`,
		`{"a":1.}`, `{"a":1e}`, `{"a":[1 2]}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"dup":1,"dup":2}`,
	} {
		checkFlatten(t, []byte(in))
	}
	data, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		checkFlatten(t, line)
	}
}

func FuzzFlattenLine(f *testing.F) {
	data, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`{"s":"\u00e9\ud83d\ude00\ud800","a":[{"b":{"c":1}},[[]]],"n":-1.5E-3}`))
	f.Fuzz(func(t *testing.T, in []byte) { checkFlatten(t, in) })
}
