package evtx

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func formatRecords(recs []collected) []byte {
	var b bytes.Buffer
	dump := func(tag string, fs []event.Field) {
		for _, f := range fs {
			fmt.Fprintf(&b, "  %s %s %s %q\n", tag, f.Name, f.Value.Kind, f.Value.Text())
		}
	}
	for _, r := range recs {
		fmt.Fprintf(&b, "record %d %s\n", r.id, r.time.Format(time.RFC3339Nano))
		dump("S", r.system)
		dump("D", r.data)
	}
	return b.Bytes()
}

// TestGolden decodes a crafted file covering templates, UserData as nested
// binary XML and a template-less record, against testdata/crafted.golden
// (rewrite with go test -run TestGolden -update).
func TestGolden(t *testing.T) {
	file := genFile(
		sampleChunk(1, 2, true),
		genChunk(4, []genRecord{{id: 4, body: rawRecord}}),
	)
	recs, errs, _, err := decodeAll(t, file, 2)
	if err != nil || len(errs) != 0 {
		t.Fatalf("err %v, corrupt %v", err, errs)
	}
	got := formatRecords(recs)
	path := filepath.Join("testdata", "crafted.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("decoded records differ from %s:\n%s", path, got)
	}
}
