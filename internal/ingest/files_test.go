package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		head string
		want Format
		err  bool
	}{
		{"ElfFile\x00rest", FormatEVTX, false},
		{"  \n{\"a\":1}", FormatJSONL, false},
		{"\xef\xbb\xbf{\"a\":1}", FormatJSONL, false},
		{"type=EXECVE msg=audit(1.0:1): argc=1", FormatAuditd, false},
		{"node=h type=SYSCALL msg=audit(1.0:1):", FormatAuditd, false},
		{"", FormatJSONL, false},
		{"GET / HTTP/1.1", "", true},
	} {
		got, err := Sniff([]byte(c.head))
		if (err != nil) != c.err || got != c.want {
			t.Errorf("Sniff(%q) = %q, %v; want %q, error %v", c.head, got, err, c.want, c.err)
		}
	}
}

func TestReadFileFormats(t *testing.T) {
	dir := t.TempDir()
	jsonLines := "{\"time\":\"2023-03-29T10:00:00Z\",\"QueryName\":\"a.example\"}\nnot json\n{\"QueryName\":\"b.example\"}\n"
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(jsonLines))
	zw.Close()
	audit := "type=SYSCALL msg=audit(1680000000.123:42): arch=c000003e syscall=59 success=yes exe=\"/usr/bin/curl\" key=\"net\"\n" +
		"type=EXECVE msg=audit(1680000000.123:42): argc=2 a0=\"curl\" a1=\"http://example.org\"\n" +
		"type=EOE msg=audit(1680000000.123:42):\n"

	var lineErrs []error
	r, err := New(Config{OnError: func(e error) { lineErrs = append(lineErrs, e) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path   string
		format Format
		events int
		errs   int
	}{
		{write("a.jsonl", []byte(jsonLines)), FormatJSONL, 2, 1},
		{write("b.json.gz", gz.Bytes()), FormatJSONL, 2, 1},
		{write("audit.log", []byte(audit)), FormatAuditd, 1, 0},
	} {
		var got []*event.Event
		st, err := r.ReadFile(context.Background(), c.path, func(ev *event.Event) error {
			got = append(got, ev)
			return nil
		})
		if err != nil || st.Format != c.format || st.Events != c.events || len(got) != c.events || st.Errors != c.errs {
			t.Errorf("%s: stats %+v, err %v", c.path, st, err)
		}
		for _, ev := range got {
			if ev.Source != c.path {
				t.Errorf("%s: event source %q", c.path, ev.Source)
			}
		}
	}
	if len(lineErrs) != 2 {
		t.Errorf("errors reported: %v", lineErrs)
	}

	junk := write("junk.log", []byte("<html>"))
	if _, err := r.ReadFile(context.Background(), junk, func(*event.Event) error { return nil }); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("junk: %v", err)
	}
	stop := errors.New("stop")
	if _, err := r.ReadFile(context.Background(), filepath.Join(dir, "a.jsonl"), func(*event.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error not returned: %v", err)
	}
}

func TestExpandPaths(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.evtx", "a.jsonl", "notes.txt", "sub/c.ndjson.gz", "sub/audit.log.1"} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	named := filepath.Join(dir, "notes.txt")
	files, errs := ExpandPaths([]string{dir, named, filepath.Join(dir, "missing")})
	if len(errs) != 1 {
		t.Errorf("errors = %v, want one for the missing path", errs)
	}
	var got []string
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f.Path)
		if f.Found {
			rel = "found:" + rel
		}
		got = append(got, rel)
	}
	want := []string{"found:a.jsonl", "found:b.evtx", "found:sub/audit.log.1", "found:sub/c.ndjson.gz", "notes.txt"}
	if len(got) != len(want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("files = %v, want %v", got, want)
			break
		}
	}
}
