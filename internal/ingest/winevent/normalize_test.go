package winevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/fieldmap"
)

var update = flag.Bool("update", false, "rewrite golden files")

func newNormalizer(t testing.TB) *Normalizer {
	t.Helper()
	m, err := fieldmap.New(fieldmap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := NewNormalizer(NormalizerConfig{Mappings: m})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func parseFile(t testing.TB, name string) *Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "json", name))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ParseJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rec
}

func text(t *testing.T, ev *event.Event, name string) string {
	t.Helper()
	v, ok := ev.Get(name)
	if !ok {
		t.Errorf("no field %s in %s", name, fieldNames(ev))
		return ""
	}
	return v.Text()
}

func fieldNames(ev *event.Event) string {
	var names []string
	for _, f := range ev.Fields {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

func TestNormalizeShapes(t *testing.T) {
	n := newNormalizer(t)
	tests := []struct {
		file   string
		ls     event.Logsource
		host   string
		time   time.Time
		fields map[string]string
	}{
		{
			file: "sysmon1_plain.json",
			ls:   event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			host: "ws1.corp.example", time: time.Date(2023, 3, 29, 10, 0, 0, 123456700, time.UTC),
			fields: map[string]string{
				"EventID": "1", "Channel": "Microsoft-Windows-Sysmon/Operational", "Provider_Name": "Microsoft-Windows-Sysmon",
				"Execution_ProcessID": "3012", "Security_UserID": "S-1-5-18",
				"Image":       `C:\Users\alice\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`,
				"ParentImage": `C:\Windows\explorer.exe`, "User": `CORP\alice`, "ProcessId": "6140",
			},
		},
		{
			file: "sysmon1_xmltodict.json",
			ls:   event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"},
			host: "ws1.corp.example", time: time.Date(2023, 3, 29, 10, 0, 0, 123456700, time.UTC),
			fields: map[string]string{
				"EventID": "1", "Provider_Guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}", "Execution_ThreadID": "4100",
				"Image": `C:\Users\alice\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`, "ProcessId": "6140",
			},
		},
		{
			file: "security4688.json",
			ls:   event.Logsource{Product: "windows", Category: "process_creation", Service: "security"},
			host: "ws1.corp.example", time: time.Date(2023, 3, 29, 10, 5, 0, 0, time.UTC),
			fields: map[string]string{
				"EventID": "4688", "EventID_Qualifiers": "0",
				// Originals stay for service: security rules...
				"NewProcessName": `C:\Windows\System32\cmd.exe`, "SubjectUserName": "alice",
				// ...and process_creation rules get Sysmon's names.
				"Image":           `C:\Windows\System32\cmd.exe`,
				"ParentImage":     `C:\Users\alice\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`,
				"CommandLine":     "cmd.exe /c whoami /all",
				"User":            `CORP\alice`,
				"ProcessId":       "0x1a2c",
				"ParentProcessId": "0x17fc",
				"IntegrityLevel":  "High",
				"LogonId":         "0x3e7a1",
			},
		},
		{
			file: "evtx_dump_sysmon22.json",
			ls:   event.Logsource{Product: "windows", Category: "dns_query", Service: "sysmon"},
			host: "ws1.corp.example", time: time.Date(2023, 3, 29, 10, 10, 0, 0, time.UTC),
			fields: map[string]string{
				"EventID": "22", "Provider_Name": "Microsoft-Windows-Sysmon", "Execution_ProcessID": "3012",
				"QueryName": "raw.githubusercontent.com",
			},
		},
		{
			file: "powershell_classic_400.json",
			ls:   event.Logsource{Product: "windows", Category: "ps_classic_start", Service: "powershell-classic"},
			host: "ws1.corp.example", time: time.Date(2023, 3, 29, 10, 15, 0, 0, time.UTC),
			fields: map[string]string{
				"Data1": "Available", "Data2": "None",
				"Data": "Available\nNone\n\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\tHostName=ConsoleHost\r\n\tHostApplication=powershell.exe -nop -w hidden -enc SQBFAFgA\r\n",
			},
		},
		{
			// No channel: the provider routes it; EventType picks the category.
			file: "sysmon12_delete_userdata.json",
			ls:   event.Logsource{Product: "windows", Category: "registry_delete", Service: "sysmon"},
			host: "ws1.corp.example", time: time.Date(2023, 3, 29, 10, 20, 0, 0, time.UTC),
			fields: map[string]string{"EventType": "DeleteKey", "TargetObject": `HKLM\SOFTWARE\Run\x`, "RuleName": "-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := n.Normalize(parseFile(t, tt.file))
			if ev.Logsource != tt.ls {
				t.Errorf("logsource = %+v, want %+v", ev.Logsource, tt.ls)
			}
			if ev.Host != tt.host {
				t.Errorf("host = %q, want %q", ev.Host, tt.host)
			}
			if !ev.Time.Equal(tt.time) {
				t.Errorf("time = %v, want %v", ev.Time, tt.time)
			}
			for name, want := range tt.fields {
				if got := text(t, ev, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// The plain and XML-derived shapes of one event must give the same fields,
// or rules would match one export and not the other.
func TestShapesAgree(t *testing.T) {
	n := newNormalizer(t)
	plain := n.Normalize(parseFile(t, "sysmon1_plain.json"))
	xml := n.Normalize(parseFile(t, "sysmon1_xmltodict.json"))
	if fieldNames(plain) != fieldNames(xml) {
		t.Fatalf("field names differ:\n%s\n%s", fieldNames(plain), fieldNames(xml))
	}
	for i, f := range plain.Fields {
		if g := xml.Fields[i].Value.Text(); g != f.Value.Text() {
			t.Errorf("%s: plain %q, xml %q", f.Name, f.Value.Text(), g)
		}
	}
	if id, _ := xml.Get("EventID"); id.Kind != event.Number {
		t.Errorf("EventID from text = %+v, want a number", id)
	}
}

func TestNormalizeDoesNotAliasRecord(t *testing.T) {
	n := newNormalizer(t)
	buf := []byte("C:\\evil.exe")
	rec := &Record{
		System: []event.Field{{Name: "EventID", Value: event.N(1)}, {Name: "Channel", Value: event.S("Microsoft-Windows-Sysmon/Operational")}},
		Data:   []event.Field{{Name: "Image", Value: event.S(string(buf))}, {Name: "Tags", Value: event.L(event.S("a"))}},
	}
	ev := n.Normalize(rec)
	rec.Data[0] = event.Field{Name: "Image", Value: event.S("changed")}
	rec.Data[1].Value.Items[0] = event.S("changed")
	rec.System = rec.System[:0]
	if got := text(t, ev, "Image"); got != `C:\evil.exe` {
		t.Errorf("Image = %q after the record changed", got)
	}
	if v, _ := ev.Get("Tags"); v.Items[0].Str != "a" {
		t.Errorf("list item = %q after the record changed", v.Items[0].Str)
	}
	if ev.Logsource.Category != "process_creation" {
		t.Errorf("logsource = %+v", ev.Logsource)
	}
}

func TestParseJSONErrors(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"foo":1}`, `{"Event":`, `{"Event":{}} x`, strings.Repeat(`{"Event":`, 100) + "1" + strings.Repeat("}", 100)} {
		_, err := ParseJSON([]byte(in))
		if err == nil {
			t.Errorf("%q: want error", in)
		}
	}
	if _, err := ParseJSON([]byte(`{"a":1}`)); !errors.Is(err, ErrNotWindowsEvent) {
		t.Errorf("err = %v, want ErrNotWindowsEvent", err)
	}
	if _, err := NewNormalizer(NormalizerConfig{}); !errors.Is(err, ErrNoMappings) {
		t.Errorf("err = %v, want ErrNoMappings", err)
	}
}

func TestGolden(t *testing.T) {
	n := newNormalizer(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "json", "*.json"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			ev := n.Normalize(parseFile(t, name))
			got, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".json")+".golden.json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("output differs from %s (run go test -update after checking):\n%s", golden, pretty.Bytes())
			}
		})
	}
}
