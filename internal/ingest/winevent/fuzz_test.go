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

// FuzzParseTree checks the one-pass parser against the Token-based
// reference: same acceptance, same tree.
func FuzzParseTree(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "json", "*.json"))
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte(`{"a":[1,-0.5e3,true,null,"\u00e9\ud800",{"b":{}}],"c":1e400}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseTree(data)
		want, werr := refParseTree(data)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: err %v, reference %v", data, err, werr)
		}
		if err == nil && !sameTree(got, want) {
			t.Fatalf("%q: trees differ", data)
		}
	})
}

func sameTree(a, b *jnode) bool {
	if a.kind != b.kind || a.str != b.str || len(a.members) != len(b.members) || len(a.items) != len(b.items) {
		return false
	}
	for i := range a.members {
		if a.members[i].key != b.members[i].key || !sameTree(a.members[i].val, b.members[i].val) {
			return false
		}
	}
	for i := range a.items {
		if !sameTree(a.items[i], b.items[i]) {
			return false
		}
	}
	return true
}
