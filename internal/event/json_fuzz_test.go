package event

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// jsonSeeds are documents that exercise the corners where a hand-written
// scanner could part ways with encoding/json.
var jsonSeeds = []string{
	`{"id":"e1","time":"2023-03-29T10:00:00.5Z","host":"ws1","logsource":{"product":"windows","category":"process_creation"},"fields":{"Image":"C:\\a.exe","Pid":"0x10","Count":7,"Ok":true,"Gone":null,"Tags":["a",2],"process":{"parent":{"pid":4}}}}`,
	`{"ID":"x","HOST":"h","Logsource":{"PRODUCT":"w","other":[1,{"a":2}]},"Fields":{"a":1}}`,
	`{"ſource":"s","ıd":"i","hoſt":"h","\u0066ields":{"k":"v"}}`,
	`{"id":"a","id":null,"host":"h1","host":"h2"}`,
	`{"logsource":{"product":"a"},"logsource":{"category":"b"},"logsource":null}`,
	`{"fields":{"a":1e400},"fields":{"b":2}}`,
	`{"fields":{"b":2},"fields":{"a":1e400}}`,
	`{"fields":5,"fields":{"b":2}}`,
	`{"fields":{"b":2},"fields":"x"}`,
	`{"fields":{"b":2},"fields":null}`,
	`{"id":5,"fields":{}}`,
	`{"time":"yesterday","fields":{}}`,
	`{"time":1680084000}`,
	`{"fields":{"s":"\ud83d\ude00 \ud800 \udc00x \u00e9 \"q\" \/ \b\f\n\r\t","bad":"` + "\xff\xfe" + `"}}`,
	`{"fields":{"list":[{"b":"<&>"},[1,[2]],null,true,false,-0.5e-3]}}`,
	`{"fields":{"a":{"b":{}},"c":{}}}`,
	`null`, ` null `, `[1]`, `"x"`, `5`, ``, `{`, `{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`,
	`{"a":tru}`, `{"a":"x` + "\x01" + `"}`, `{"a":"\x"}`, `{"a":"\u12g4"}`, `{} x`, `{}{}`, `{"fields":{"a":1}} `,
	`{"logsource":{"product":5}}`, `{"logsource":"windows"}`, `{"logsource":{"x":1e999}}`, `{"host":["h"]}`,
}

// FuzzUnmarshalJSON checks the one-pass decoder against the encoding/json
// code it replaced: the same documents accepted, decoded to the same event.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want Event
		gotErr := got.UnmarshalJSON(data)
		wantErr := refUnmarshalJSON(&want, data)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: err = %v, reference err = %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
		}
		// DecodeNormalised must agree with UnmarshalJSON on the shape it
		// takes, and take only what the shape allows.
		ev, ok, err := DecodeNormalised(data)
		if !ok {
			if ev != nil || err != nil {
				t.Fatalf("%q: not taken but ev %v err %v", data, ev, err)
			}
			return
		}
		if wantErr != nil && err == nil {
			t.Fatalf("%q: DecodeNormalised accepted what UnmarshalJSON rejects (%v)", data, wantErr)
		}
		if err == nil && !reflect.DeepEqual(*ev, want) {
			t.Fatalf("%q: DecodeNormalised\n got %#v\nwant %#v", data, *ev, want)
		}
		if !json.Valid(data) || bytes.TrimSpace(data)[0] != '{' {
			t.Fatalf("%q: DecodeNormalised took a document that is not the shape", data)
		}
	})
}

// FuzzUnmarshalFields checks UnmarshalFields against the Decoder.Token
// code it replaced.
func FuzzUnmarshalFields(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxNesting {
			// The reference has no nesting limit; the scanner keeps
			// encoding/json's 10,000, which needs longer input to reach.
			return
		}
		got, gotErr := UnmarshalFields(data)
		want, wantErr := refUnmarshalFields(data)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: err = %v, reference err = %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
		}
	})
}

// FuzzWriteJSONString checks the string writer and the number check
// against the encoding/json calls they replaced.
func FuzzWriteJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `C:\Windows\a.exe`, `q"uote`, "<a href='x'>&amp;</a>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"é ü 中文 😀", "\xff\xfe bad", "\u2028\u2029", "42", "-0.5e+3", "0x10", "007", " 1", "null", `"1"`, "1e400", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		writeJSONString(&b, s)
		want, _ := json.Marshal(s)
		if b.String() != string(want) {
			t.Fatalf("writeJSONString(%q) = %s, want %s", s, b.String(), want)
		}
		var n json.Number
		wantNum := json.Unmarshal([]byte(s), &n) == nil && (len(s) == 0 || s[0] != '"')
		if got := isJSONNumber(s); got != wantNum {
			t.Fatalf("isJSONNumber(%q) = %v, want %v", s, got, wantNum)
		}
	})
}
