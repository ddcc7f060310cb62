package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/ingest/winevent"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

// corpusFiles lists the EVTX files of the shared corpus.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	dir := vigiltest.Corpus(t, "evtx")
	files := evtxFilesUnder(dir)
	if len(files) == 0 {
		t.Skipf("no .evtx files under %s", dir)
	}
	return files
}

// evtxFilesUnder lists the .evtx files below dir, sorted.
func evtxFilesUnder(dir string) []string {
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// wantIDs reads the chunk headers independently of the decoder and lists
// the record identifiers they declare, in file order.
func wantIDs(t *testing.T, b []byte) []uint64 {
	t.Helper()
	var ids []uint64
	for off := fileHeaderSize; off+chunkSize <= len(b); off += chunkSize {
		c := b[off : off+chunkSize]
		if !bytes.Equal(c[:8], chunkSignature) {
			continue
		}
		first, last := binary.LittleEndian.Uint64(c[24:]), binary.LittleEndian.Uint64(c[32:])
		for id := first; id <= last; id++ {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestCorpus decodes every corpus file: no corrupt data reported, and every
// record each chunk header declares is delivered, in order.
func TestCorpus(t *testing.T) {
	var total Stats
	for _, path := range corpusFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want := wantIDs(t, b)
		name, _ := filepath.Rel(filepath.Dir(filepath.Dir(path)), path)
		for _, workers := range []int{1, 2} {
			var got []uint64
			st, err := Decode(context.Background(), bytes.NewReader(b), int64(len(b)), Options{
				Workers: workers,
				OnError: func(err error) { t.Errorf("%s: %v", name, err) },
			}, func(r *winevent.Record) error {
				got = append(got, r.RecordID)
				if len(r.System) == 0 || r.Time.IsZero() {
					t.Errorf("%s: record %d has no System fields or no time", name, r.RecordID)
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if st.Records != st.Declared || len(got) != len(want) {
				t.Errorf("%s workers %d: %d records read, %d declared, %d by the chunk headers", name, workers, st.Records, st.Declared, len(want))
			}
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Errorf("%s workers %d: record %d has id %d, want %d", name, workers, i, got[i], want[i])
					break
				}
			}
			if workers == 1 {
				total.Records += st.Records
				total.Bytes += st.Bytes
				total.Chunks += st.Chunks
			}
		}
	}
	t.Logf("corpus: %d chunks, %d records, %d bytes", total.Chunks, total.Records, total.Bytes)
}

// TestCorpusKnownValues checks values against what Event Viewer shows for
// two known records.
func TestCorpusKnownValues(t *testing.T) {
	dir := vigiltest.Corpus(t, "evtx")
	tests := []struct {
		file   string
		record uint64
		want   map[string]string // System and Data fields
	}{
		{
			file:   "AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
			record: 1,
			want: map[string]string{
				"EventID":                "1",
				"Channel":                "Microsoft-Windows-Sysmon/Operational",
				"TimeCreated_SystemTime": "2019-07-19T14:42:51.4462809Z",
				"EventRecordID":          "3572",
				"Security_UserID":        "S-1-5-18",
				"Keywords":               "0x8000000000000000",
				"Image":                  `C:\Windows\System32\consent.exe`,
				"CommandLine":            "consent.exe 4516 288 0000023C0CA21C70",
				"ProcessGuid":            "{747F3D96-D6EB-5D31-0000-0010E0252500}",
				"LogonId":                "0x3e7",
				"ParentImage":            `C:\Windows\System32\svchost.exe`,
				"Product":                "Microsoft® Windows® Operating System",
			},
		},
		{
			file:   "Command and Control/DE_RDP_Tunnel_5156.evtx",
			record: 3,
			want: map[string]string{
				"EventID":            "4688",
				"Channel":            "Security",
				"NewProcessName":     `C:\Windows\System32\TSTheme.exe`,
				"NewProcessId":       "0x1fc",
				"SubjectUserSid":     "S-1-5-18",
				"TokenElevationType": "%%1936",
			},
		},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.file)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("corpus file %s absent", tt.file)
		}
		found := false
		_, err := DecodeFile(context.Background(), path, Options{}, func(r *winevent.Record) error {
			if r.RecordID != tt.record {
				return nil
			}
			found = true
			got := map[string]string{}
			for _, f := range append(r.System, r.Data...) {
				got[f.Name] = f.Value.Text()
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s record %d: %s = %q, want %q", tt.file, tt.record, k, got[k], v)
				}
			}
			return nil
		})
		if err != nil || !found {
			t.Errorf("%s: err %v, record %d found %v", tt.file, err, tt.record, found)
		}
	}
}
