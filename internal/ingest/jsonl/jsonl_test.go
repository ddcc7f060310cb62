package jsonl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/fieldmap"
)

var update = flag.Bool("update", false, "rewrite golden files")

func newDecoder(t testing.TB, maxLine int) *Decoder {
	t.Helper()
	m, err := fieldmap.New(fieldmap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(Config{Mappings: m, MaxLineBytes: maxLine})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// decodeAll runs Decode and returns the events and line errors.
func decodeAll(t *testing.T, d *Decoder, in []byte) ([]*event.Event, []*LineError, Stats) {
	t.Helper()
	var evs []*event.Event
	var errs []*LineError
	st, err := d.Decode(context.Background(), bytes.NewReader(in), func(ev *event.Event) error {
		evs = append(evs, ev)
		return nil
	}, func(le *LineError) { errs = append(errs, le) })
	if err != nil {
		t.Fatal(err)
	}
	return evs, errs, st
}

func get(ev *event.Event, name string) string {
	v, ok := ev.Get(name)
	if !ok {
		return "<missing>"
	}
	return v.Text()
}

func TestDecodeLineShapes(t *testing.T) {
	d := newDecoder(t, 0)
	data, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	tests := []struct {
		line   int // 1-based in mixed.jsonl
		ls     event.Logsource
		host   string
		fields map[string]string
	}{
		{1, event.Logsource{Product: "windows", Category: "process_creation"}, "ws9",
			map[string]string{"Image": `C:\Windows\System32\rundll32.exe`}},
		{2, event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"}, "ws1.corp.example",
			map[string]string{"Image": `C:\Users\alice\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`, "EventID": "1"}},
		// Winlogbeat: the same Sysmon event through ECS gives the same
		// Sigma fields as the Windows record above.
		{4, event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"}, "ws1.corp.example",
			map[string]string{
				"Image":       `C:\Users\alice\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`,
				"CommandLine": "3CXDesktopApp.exe --update", "User": `CORP\alice`, "EventID": "1",
				"Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon",
				"Computer": "ws1.corp.example", "ParentImage": `C:\Windows\explorer.exe`, "ProcessId": "6140",
				"IntegrityLevel": "Medium", "Company": "3CX Ltd", "OriginalFileName": "3CXDesktopApp.exe",
				"Hashes":             "SHA256=59e1edf4d82fae4978e97512b0331b7eb21dd4b838b850ba46794d9c7a2c0983",
				"process.executable": `C:\Users\alice\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`,
			}},
		// Elastic Agent process start.
		{5, event.Logsource{Product: "windows", Category: "process_creation"}, "ws2",
			map[string]string{
				"Image": `C:\Windows\System32\cmd.exe`, "CommandLine": "cmd.exe /c whoami", "User": `CORP\bob`,
				"ParentImage":    `C:\Users\bob\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`,
				"IntegrityLevel": "high", "md5": "911d039e71583a07320b32bde22f8e22",
				"Hashes": "MD5=911d039e71583a07320b32bde22f8e22,SHA256=b99d114b267ffd068c3289199b6df95a9f9e64872d6c2b666d63974bbce75bf2",
			}},
		// Auditbeat -> auditd names.
		{6, event.Logsource{Product: "linux", Service: "auditd"}, "lin1",
			map[string]string{
				"type": "SYSCALL, EXECVE", "SYSCALL": "execve", "a0": "curl", "a1": "-s", "a2": "http://evil.example/x",
				"exe": "/usr/bin/curl", "comm": "curl", "name": "/usr/bin/curl, /lib64/ld-linux-x86-64.so.2",
				"nametype": "NORMAL, NORMAL", "key": "network_connect_4", "auid": "1000", "uid": "0", "tty": "pts0",
			}},
		{7, event.Logsource{Product: "windows", Category: "network_connection"}, "ws2",
			map[string]string{"DestinationIp": "185.199.108.133", "DestinationPort": "443", "DestinationHostname": "raw.githubusercontent.com", "Initiated": "true", "Protocol": "tcp"}},
		// Flat Sigma fields with Windows routing keys.
		{8, event.Logsource{Product: "windows", Category: "process_creation", Service: "security"}, "ws1.corp.example",
			map[string]string{"Image": `C:\Windows\System32\whoami.exe`, "User": `CORP\alice`, "NewProcessName": `C:\Windows\System32\whoami.exe`}},
		// Flat Sigma fields without: unknown source, content decides.
		{9, event.Logsource{}, "ws3",
			map[string]string{"Image": `C:\Windows\System32\certutil.exe`, "process.parent.name": "cmd.exe"}},
	}
	for _, tt := range tests {
		ev, err := d.DecodeLine([]byte(lines[tt.line-1]))
		if err != nil {
			t.Errorf("line %d: %v", tt.line, err)
			continue
		}
		if ev.Logsource != tt.ls {
			t.Errorf("line %d: logsource = %+v, want %+v", tt.line, ev.Logsource, tt.ls)
		}
		if ev.Host != tt.host {
			t.Errorf("line %d: host = %q, want %q", tt.line, ev.Host, tt.host)
		}
		if ev.Time.IsZero() {
			t.Errorf("line %d: no time", tt.line)
		}
		for name, want := range tt.fields {
			if got := get(ev, name); got != want {
				t.Errorf("line %d: %s = %q, want %q", tt.line, name, got, want)
			}
		}
	}
}

func TestDecodeLineErrors(t *testing.T) {
	d := newDecoder(t, 0)
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrEmptyLine},
		{"   ", ErrEmptyLine},
		{"[1]", ErrNotObject},
		{`"x"`, ErrNotObject},
		{`{"a":`, nil},
		{`{"a":1} {"b":2}`, nil},
		{`{"a":1}}`, nil},
		{`{"Event":"x","System":{}}`, nil}, // neither Windows shape: flat, fine
		{`{"fields":{"a":1},"time":"soon"}`, nil},
	}
	// A flat event with "@timestamp" and a plain "host" is not ECS.
	ev, err := d.DecodeLine([]byte(`{"@timestamp":"2023-03-29T10:00:00Z","host":"ws1","Image":"a.exe"}`))
	if err != nil || ev.Host != "ws1" || !ev.Logsource.IsZero() || ev.Time.IsZero() {
		t.Errorf("flat event with @timestamp: %+v, %v", ev, err)
	}
	for _, tt := range tests {
		_, err := d.DecodeLine([]byte(tt.in))
		if tt.in == `{"Event":"x","System":{}}` {
			if err != nil {
				t.Errorf("%q: %v", tt.in, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%q: want an error", tt.in)
			continue
		}
		if tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%q: err = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestDecodeGolden(t *testing.T) {
	d := newDecoder(t, 0)
	in, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	evs, errs, st := decodeAll(t, d, in)
	if st.Lines != 12 || st.Events != 8 || st.Errors != 3 {
		t.Errorf("stats = %+v, want 12 lines, 8 events, 3 errors", st)
	}
	var out bytes.Buffer
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	for _, le := range errs {
		out.WriteString(le.Error())
		out.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "mixed.golden.jsonl")
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

func TestDecodeGzipSameAsPlain(t *testing.T) {
	d := newDecoder(t, 0)
	in, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(in)
	zw.Close()
	plain, _, pst := decodeAll(t, d, in)
	zipped, _, zst := decodeAll(t, d, z.Bytes())
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

func TestDecodeLongLines(t *testing.T) {
	d := newDecoder(t, 100)
	long := `{"Image":"` + strings.Repeat("a", 200_000) + `"}`
	exact := `{"Image":"` + strings.Repeat("b", 100-len(`{"Image":""}`)) + `"}`
	in := strings.Join([]string{`{"a":1}`, long, exact, `{"a":2}`, long}, "\n") // no final newline
	evs, errs, st := decodeAll(t, d, []byte(in))
	if len(evs) != 3 || len(errs) != 2 || st.Lines != 5 {
		t.Fatalf("events %d, errors %v, stats %+v", len(evs), errs, st)
	}
	for i, le := range errs {
		if !errors.Is(le, ErrLineTooLong) || le.Line != []int{2, 5}[i] {
			t.Errorf("error %d = %v", i, le)
		}
	}
	if got := get(evs[1], "Image"); len(got) != 100-len(`{"Image":""}`) {
		t.Errorf("line at the limit lost: %q", got)
	}
}

func TestDecodeStops(t *testing.T) {
	d := newDecoder(t, 0)
	in := strings.Repeat(`{"a":1}`+"\n", 1000)
	stop := errors.New("stop")
	n := 0
	st, err := d.Decode(context.Background(), strings.NewReader(in), func(*event.Event) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || st.Events != 3 {
		t.Errorf("err %v, stats %+v", err, st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Decode(ctx, strings.NewReader(in), func(*event.Event) error { return nil }, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if _, err := NewDecoder(Config{}); !errors.Is(err, ErrNoMappings) {
		t.Errorf("no mappings: err = %v", err)
	}
}

func TestDecodeReadError(t *testing.T) {
	d := newDecoder(t, 0)
	boom := errors.New("disk on fire")
	r := ioErrReader{data: []byte(`{"a":1}` + "\n" + `{"b":`), err: boom}
	st, err := d.Decode(context.Background(), &r, func(*event.Event) error { return nil }, nil)
	if !errors.Is(err, boom) || st.Events != 1 {
		t.Errorf("err %v, stats %+v", err, st)
	}
}

type ioErrReader struct {
	data []byte
	err  error
}

func (r *ioErrReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// Winlogbeat's Security 4688: event_data under winlog, then the Security
// aliases on top, as for the same event read from EVTX.
func TestWinlogbeatSecurity4688(t *testing.T) {
	d := newDecoder(t, 0)
	line := `{"@timestamp":"2023-03-29T10:05:00.000Z","host":{"name":"ws1"},"event":{"code":"4688","category":["process"],"type":["start"]},` +
		`"winlog":{"channel":"Security","event_id":4688,"provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"ws1.corp.example",` +
		`"event_data":{"SubjectUserName":"alice","SubjectDomainName":"CORP","NewProcessName":"C:\\Windows\\System32\\cmd.exe","NewProcessId":"0x1a2c","ProcessId":"0x17fc",` +
		`"ParentProcessName":"C:\\Windows\\explorer.exe","CommandLine":"cmd.exe /c whoami","MandatoryLabel":"S-1-16-8192"}}}`
	ev, err := d.DecodeLine([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := (event.Logsource{Product: "windows", Category: "process_creation", Service: "security"}); ev.Logsource != want {
		t.Errorf("logsource = %+v, want %+v", ev.Logsource, want)
	}
	for name, want := range map[string]string{
		"Image": `C:\Windows\System32\cmd.exe`, "ParentImage": `C:\Windows\explorer.exe`, "User": `CORP\alice`,
		"ProcessId": "0x1a2c", "ParentProcessId": "0x17fc", "IntegrityLevel": "Medium", "EventID": "4688",
		"NewProcessName": `C:\Windows\System32\cmd.exe`, "Computer": "ws1.corp.example",
	} {
		if got := get(ev, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if ev.Host != "ws1" {
		t.Errorf("host = %q", ev.Host)
	}
}

// One Decoder (and its Mappings) serves many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	d := newDecoder(t, 0)
	in, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := decodeAll(t, d, in)
	var wg sync.WaitGroup
	results := make([][]*event.Event, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.Decode(context.Background(), bytes.NewReader(in), func(ev *event.Event) error {
				results[i] = append(results[i], ev)
				return nil
			}, nil)
		}()
	}
	wg.Wait()
	for i, got := range results {
		if len(got) != len(want) {
			t.Fatalf("goroutine %d: %d events, want %d", i, len(got), len(want))
		}
		for j := range got {
			a, _ := json.Marshal(got[j])
			b, _ := json.Marshal(want[j])
			if !bytes.Equal(a, b) {
				t.Errorf("goroutine %d event %d differs", i, j)
			}
		}
	}
}
