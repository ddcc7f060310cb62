package winevent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzParseJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "json", "*.json"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Event":{"System":{"EventID":{"#text":[1]}},"EventData":{"Data":[null,{"@Name":{}},[["x"]]]}}}`))
	f.Add([]byte(`{"System":{"TimeCreated":"x"},"UserData":{"a":{"b":{"#text":{}}}}}`))
	n := newNormalizer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := ParseJSON(data)
		if err != nil {
			return
		}
		ev := n.Normalize(rec)
		out, err := json.Marshal(ev)
		if err != nil || !json.Valid(out) {
			t.Fatalf("normalised event does not marshal: %v %s", err, out)
		}
	})
}
