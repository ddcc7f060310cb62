package event

import (
	"testing"
)

// benchLine is a Sysmon process creation in the normalised shape, as the
// ingest API receives it.
const benchLine = `{"id":"bench-000001","time":"2026-11-25T10:00:00.123456Z","host":"ws-0042.corp.example","logsource":{"product":"windows","category":"process_creation"},"fields":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","UtcTime":"2026-11-25 10:00:00.123","ProcessGuid":"{5770385f-c22a-43e0-bf4c-06f5698ffbd9}","ProcessId":4242,"Image":"C:\\Windows\\System32\\svchost.exe","FileVersion":"10.0.19041.1","Description":"Host Process for Windows Services","Product":"Microsoft Windows Operating System","Company":"Microsoft Corporation","OriginalFileName":"svchost.exe","CommandLine":"C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule","CurrentDirectory":"C:\\Windows\\system32\\","User":"NT AUTHORITY\\SYSTEM","LogonId":"0x3e7","IntegrityLevel":"System","Hashes":"SHA256=6A671B92A69755DE6FD063FCBE4BA926D83B49F78C42DBAEED8CDB6BBC57576A","ParentProcessId":612,"ParentImage":"C:\\Windows\\System32\\services.exe","ParentCommandLine":"C:\\Windows\\system32\\services.exe","ParentUser":"NT AUTHORITY\\SYSTEM"}}`

// BenchmarkUnmarshalJSON compares the one-pass scanner with the
// encoding/json code it replaced.
func BenchmarkUnmarshalJSON(b *testing.B) {
	data := []byte(benchLine)
	for _, c := range []struct {
		name string
		fn   func(*Event, []byte) error
	}{
		{"scanner", func(e *Event, d []byte) error { return e.UnmarshalJSON(d) }},
		{"encoding_json_reference", refUnmarshalJSON},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var e Event
				if err := c.fn(&e, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMarshalFields(b *testing.B) {
	var e Event
	if err := e.UnmarshalJSON([]byte(benchLine)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(MarshalFields(e.Fields))))
	for b.Loop() {
		MarshalFields(e.Fields)
	}
}
