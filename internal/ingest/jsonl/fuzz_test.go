package jsonl

import (
	"bytes"
	"encoding/json"
	"os"
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
