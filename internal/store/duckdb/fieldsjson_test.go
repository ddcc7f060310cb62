package duckdb

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

func TestAppendFieldsMatchesEventModel(t *testing.T) {
	tests := []struct {
		name   string
		fields []event.Field
	}{
		{"empty", nil},
		{"kinds", []event.Field{
			{Name: "s", Value: event.S(`C:\Windows "quoted" <tag> & ü 🦆`)},
			{Name: "n", Value: event.N(1.5)},
			{Name: "hex", Value: event.NumText("0x10", 16)},
			{Name: "lead0", Value: event.NumText("007", 7)},
			{Name: "exp", Value: event.NumText("1e-3", 0.001)},
			{Name: "b", Value: event.B(true)},
			{Name: "null", Value: event.NullValue()},
			{Name: "list", Value: event.L(event.S("a"), event.N(2), event.L())},
		}},
		{"control", []event.Field{{Name: "ctl\x00\x1f\n\t\r", Value: event.S("\x7f\u2028")}}},
		{"invalid utf8", []event.Field{{Name: "bad", Value: event.S("a\xffb")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendFields(nil, tt.fields)
			if !json.Valid(got) {
				t.Fatalf("invalid JSON %s", got)
			}
			back, err := event.UnmarshalFields(got)
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != len(tt.fields) {
				t.Fatalf("round trip %d fields, want %d", len(back), len(tt.fields))
			}
			// Same meaning as the event model's own encoder.
			var a, b any
			json.Unmarshal(got, &a)
			json.Unmarshal(event.MarshalFields(tt.fields), &b)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				t.Errorf("appendFields = %s\nMarshalFields = %s", got, event.MarshalFields(tt.fields))
			}
		})
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `C:\x "y"`, "\x00\xff", "🦆\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, b, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q round-trips to %q, encoding/json gives %q", s, back, wantBack)
		}
	})
}
