package auditd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/fieldmap"
)

var update = flag.Bool("update", false, "rewrite golden files")

func newDecoder(t testing.TB, cfg Config) *Decoder {
	t.Helper()
	m, err := fieldmap.New(fieldmap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Mappings = m
	d, err := NewDecoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func decodeAll(t *testing.T, d *Decoder, in string) ([]*event.Event, []*LineError, Stats) {
	t.Helper()
	var evs []*event.Event
	var errs []*LineError
	st, err := d.Decode(context.Background(), strings.NewReader(in), func(ev *event.Event) error {
		evs = append(evs, ev)
		return nil
	}, func(le *LineError) { errs = append(errs, le) })
	if err != nil {
		t.Fatal(err)
	}
	return evs, errs, st
}

func text(ev *event.Event, name string) string {
	v, ok := ev.Get(name)
	if !ok {
		return "<missing>"
	}
	return v.Text()
}

func TestDecodeGroupsRecords(t *testing.T) {
	d := newDecoder(t, Config{})
	in, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	evs, errs, st := decodeAll(t, d, string(in))
	if len(evs) != 4 {
		t.Fatalf("got %d events, want 4", len(evs))
	}
	if len(errs) != 2 || errs[0].Line != 11 || !errors.Is(errs[0], ErrNoHeader) || errs[1].Line != 12 || !errors.Is(errs[1], ErrBadHeader) {
		t.Errorf("errors = %v", errs)
	}
	if st.Lines != 14 || st.Records != 11 || st.Events != 4 || st.Errors != 2 {
		t.Errorf("stats = %+v", st)
	}
	tests := []struct {
		ev     int
		time   time.Time
		host   string
		fields map[string]string
	}{
		{0, time.Date(2023, 3, 29, 10, 0, 0, 123e6, time.UTC), "", map[string]string{
			"type": "SYSCALL, EXECVE, CWD, PATH, PROCTITLE", "SYSCALL": "execve", "syscall": "59",
			"exe": "/usr/bin/curl", "comm": "curl", "key": "network_connect_4", "euid": "0",
			// EXECVE's arguments, hex decoded; SYSCALL's register a0..a3 dropped.
			"a0": "curl", "a1": "-s", "a2": "http://evil.example/x y", "argc": "3",
			"a3":        "<missing>",
			"name":      "/usr/bin/curl, /lib64/ld-linux-x86-64.so.2",
			"nametype":  "NORMAL",
			"item":      "0, 1",
			"cwd":       "/root",
			"proctitle": "curl -s http://evil.example/x y",
			"serial":    "456",
		}},
		{1, time.Date(2023, 3, 29, 10, 0, 1, 0, time.UTC), "lin2", map[string]string{
			"type": "USER_CMD", "cmd": "systemctl stop auditd", "exe": "/usr/bin/sudo", "cwd": "/home/bob", "res": "success", "node": "lin2",
		}},
		// Enriched log: its own SYSCALL name; SYSCALL's a0 kept without EXECVE.
		{2, time.Date(2023, 3, 29, 10, 0, 2, 5e8, time.UTC), "", map[string]string{
			"type": "SYSCALL", "SYSCALL": "uname", "syscall": "63", "euid": "33", "UID": "www-data", "a0": "7ffd", "key": "(null)",
		}},
		// Pieces of a long argument are joined.
		{3, time.Date(2023, 3, 29, 10, 0, 3, 0, time.UTC), "", map[string]string{
			"type": "EXECVE, PROCTITLE", "a0": "python3", "a1": "print(1)'x'", "a1_len": "<missing>", "proctitle": "python3",
		}},
	}
	for _, tt := range tests {
		ev := evs[tt.ev]
		if ev.Logsource != (event.Logsource{Product: "linux", Service: "auditd"}) {
			t.Errorf("event %d: logsource %+v", tt.ev, ev.Logsource)
		}
		if !ev.Time.Equal(tt.time) || ev.Host != tt.host {
			t.Errorf("event %d: time %v host %q, want %v %q", tt.ev, ev.Time, ev.Host, tt.time, tt.host)
		}
		for name, want := range tt.fields {
			if got := text(ev, name); got != want {
				t.Errorf("event %d: %s = %q, want %q", tt.ev, name, got, want)
			}
		}
	}
	if v, _ := evs[0].Get("type"); v.Kind != event.List {
		t.Errorf("grouped type = %+v, want a list", v)
	}
}

// Records of two events that interleave are still grouped by stamp, and an
// event without EOE is emitted when the window is full or at the end.
func TestInterleavedAndWindow(t *testing.T) {
	d := newDecoder(t, Config{MaxOpenEvents: 2})
	in := strings.Join([]string{
		`type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 comm="a"`,
		`type=SYSCALL msg=audit(1.000:2): arch=c000003e syscall=59 comm="b"`,
		`type=EXECVE msg=audit(1.000:1): argc=1 a0="a"`,
		`type=EXECVE msg=audit(1.000:2): argc=1 a0="b"`,
		`type=USER_LOGIN msg=audit(2.000:3): pid=1`,
		`type=USER_LOGIN msg=audit(2.000:4): pid=2`,
		`type=USER_LOGIN msg=audit(2.000:5): pid=3`,
		// Same serial, other time: another event (the counter restarted).
		`type=USER_LOGIN msg=audit(9.000:3): pid=4`,
	}, "\n")
	evs, errs, _ := decodeAll(t, d, in)
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, text(ev, "serial")+":"+text(ev, "a0")+text(ev, "pid"))
	}
	want := "1:a<missing>,2:b<missing>,3:<missing>1,4:<missing>2,5:<missing>3,3:<missing>4"
	if strings.Join(got, ",") != want {
		t.Errorf("events = %s, want %s", strings.Join(got, ","), want)
	}
}

func TestParseRecordErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrNoHeader},
		{"type=X", ErrNoHeader},
		{"msg=audit(1.0:1): a=b", ErrNoType},
		{"type=X msg=audit(1.0:1", ErrBadHeader},
		{"type=X msg=audit(1.0): a=b", ErrBadHeader},
		{"type=X msg=audit(1.0:x): a=b", ErrBadHeader},
		{"type=X msg=audit(-1.0:1): a=b", ErrBadHeader},
		{"type=X msg=audit(1.-5:1): a=b", ErrBadHeader},
	}
	for _, tt := range tests {
		if _, err := ParseRecord([]byte(tt.in)); !errors.Is(err, tt.want) {
			t.Errorf("%q: err = %v, want %v", tt.in, err, tt.want)
		}
	}
	rec, err := ParseRecord([]byte(`Mar 29 10:00:00 lin1 audispd: node=lin1 type=PATH msg=audit(1680084000.5:7): name="a b" bare=1 novalue odd="unterminated`))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Node != "lin1" || rec.Type != "PATH" || rec.Serial != 7 || len(rec.Fields) != 3 || rec.Fields[0].Value.Str != "a b" || !rec.Quoted(0) || rec.Quoted(1) {
		t.Errorf("record = %+v", rec)
	}
	if _, err := NewDecoder(Config{}); !errors.Is(err, ErrNoMappings) {
		t.Errorf("err = %v", err)
	}
}

func TestLongLineAndStop(t *testing.T) {
	d := newDecoder(t, Config{MaxLineBytes: 64})
	in := "type=X msg=audit(1.0:1): a=" + strings.Repeat("b", 100) + "\ntype=X msg=audit(1.0:2): a=c\n"
	evs, errs, _ := decodeAll(t, d, in)
	if len(evs) != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrLineTooLong) || errs[0].Line != 1 {
		t.Errorf("events %d errors %v", len(evs), errs)
	}
	stop := errors.New("stop")
	_, err := d.Decode(context.Background(), strings.NewReader(in), func(*event.Event) error { return stop }, nil)
	if !errors.Is(err, stop) {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Decode(ctx, strings.NewReader(in), func(*event.Event) error { return nil }, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestGolden(t *testing.T) {
	d := newDecoder(t, Config{})
	in, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	evs, errs, _ := decodeAll(t, d, string(in))
	var out bytes.Buffer
	for _, ev := range evs {
		b, _ := json.Marshal(ev)
		out.Write(b)
		out.WriteByte('\n')
	}
	for _, le := range errs {
		out.WriteString(le.Error() + "\n")
	}
	golden := filepath.Join("testdata", "audit.golden.jsonl")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("output differs from %s (check, then go test -update):\n%s", golden, out.Bytes())
	}
}

func TestGzipInput(t *testing.T) {
	d := newDecoder(t, Config{})
	in, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(in)
	zw.Close()
	plain, _, pst := decodeAll(t, d, string(in))
	zipped, _, zst := decodeAll(t, d, z.String())
	if pst != zst || len(plain) != len(zipped) {
		t.Fatalf("gzip stats %+v, plain %+v", zst, pst)
	}
	for i := range plain {
		a, _ := json.Marshal(plain[i])
		b, _ := json.Marshal(zipped[i])
		if !bytes.Equal(a, b) {
			t.Errorf("event %d differs:\n%s\n%s", i, a, b)
		}
	}
}

// Only untrusted-string keys are hex-decoded: a number under another key
// that happens to be even-length hex stays as written.
func TestOnlyEncodedKeysDecoded(t *testing.T) {
	d := newDecoder(t, Config{})
	evs, _, _ := decodeAll(t, d, `type=CONFIG_CHANGE msg=audit(1.0:1): op=set audit_backlog_limit=8192 old=64 auid=0 res=1 key=6B31016B32`+"\n")
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	for name, want := range map[string]string{"old": "64", "audit_backlog_limit": "8192", "key": "k1,k2"} {
		if got := text(evs[0], name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}
