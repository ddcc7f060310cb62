package jsonl

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

func FuzzDecodeLine(f *testing.F) {
	data, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		f.Add(line)
	}
	f.Add([]byte(`{"@timestamp":1,"auditd":{"paths":[{"name":{"x":1}},"{"]},"process":{"args":"x"}}`))
	f.Add([]byte(`{"EventID":"1e400","Provider_Name":"Microsoft-Windows-Sysmon","timestamp":-1}`))
	d := newDecoder(f, 0)
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := d.DecodeLine(line)
		if err != nil {
			if ev != nil {
				t.Fatal("event and error both returned")
			}
			return
		}
		out, err := json.Marshal(ev)
		if err != nil || !json.Valid(out) {
			t.Fatalf("event does not marshal: %v %s", err, out)
		}
		var back event.Event
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("event does not read back: %v\n%s", err, out)
		}
	})
}

// FuzzDecodeLineNormalised checks the one-pass path for the normalised
// shape against classifying the line first and decoding it again, as
// DecodeLine did before: the same lines accepted, the same events.
func FuzzDecodeLineNormalised(f *testing.F) {
	for _, s := range []string{
		`{"id":"e1","time":"2023-03-29T10:00:00.5Z","host":"ws1","logsource":{"product":"windows","category":"process_creation"},"fields":{"Image":"C:\\a.exe","Pid":"0x10","Count":7,"Ok":true,"Gone":null,"Tags":["a",2],"process":{"parent":{"pid":4}}}}`,
		`{"fields":{"a":1},"Image":"x"}`,
		`{"host":"h","fields":"x"}`,
		`{"host":"h","fields":{"a":1e400}}`,
		`{"host":"h","fields":{"a":1e400},"fields":{}}`,
		`{"host":"h","logsource":{"x":1e400},"fields":{}}`,
		`{"host":5,"fields":{}}`,
		`{"time":"nope","fields":{}}`,
		`{"time":"2023-03-29T10:00:00Z","fields":{"EventID":1}}`,
		`{"id":"x","\u0066ields":{"a":1}}`,
		`{"id":"x","fields":{"a":1}} x`,
		`{"fields":{"a":{"b":[{"c":1}]}},"Event":{"System":{}}}`,
		`{"source":"s","fields":null}`,
	} {
		f.Add([]byte(s))
	}
	d := newDecoder(f, 0)
	f.Fuzz(func(t *testing.T, line []byte) {
		got, gotErr := d.decodeLine(line, true)
		want, wantErr := d.decodeLine(line, false)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: err = %v, without the fast path err = %v", line, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", line, got, want)
		}
	})
}
