package winevent_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/evtx"
	"github.com/vigilsoc/vigil/internal/fieldmap"
	"github.com/vigilsoc/vigil/internal/ingest/winevent"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

// TestCorpusEVTX normalises every record of the shared EVTX samples: each
// must route to a Windows logsource, Sysmon's documented event ids must get
// their category, and the Sigma names the categories promise must be there.
func TestCorpusEVTX(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole EVTX corpus")
	}
	dir := vigiltest.Corpus(t, "evtx")
	m, err := fieldmap.New(fieldmap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := winevent.NewNormalizer(winevent.NormalizerConfig{Mappings: m})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(strings.ToLower(p), ".evtx") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("no .evtx files in the corpus")
	}
	counts := map[event.Logsource]int{}
	unmapped := map[string]int{}
	records := 0
	// The Sigma field each category's rules rely on most.
	required := map[string]string{
		"process_creation": "Image", "network_connection": "DestinationIp", "image_load": "ImageLoaded",
		"file_event": "TargetFilename", "registry_set": "TargetObject", "dns_query": "QueryName",
		"ps_script": "ScriptBlockText", "process_access": "TargetImage", "create_remote_thread": "TargetImage",
	}
	for _, f := range files {
		_, err := evtx.DecodeFile(context.Background(), f, evtx.Options{Workers: 1}, func(rec *winevent.Record) error {
			records++
			ev := n.Normalize(rec)
			counts[ev.Logsource]++
			if ev.Logsource.Service == "" && ev.Logsource.Category == "" {
				unmapped[fieldmap.WindowsSourceOf(ev).Channel]++
			}
			if ev.Logsource.Product == "" {
				t.Errorf("%s record %d: no product", filepath.Base(f), rec.RecordID)
			}
			if name, ok := required[ev.Logsource.Category]; ok {
				if _, ok := ev.Get(name); !ok {
					t.Errorf("%s record %d (%+v): no %s", filepath.Base(f), rec.RecordID, ev.Logsource, name)
				}
			}
			src := fieldmap.WindowsSourceOf(ev)
			if strings.EqualFold(src.Channel, "Microsoft-Windows-Sysmon/Operational") && src.HasID &&
				src.EventID >= 1 && src.EventID <= 29 && src.EventID != 4 && src.EventID != 16 && ev.Logsource.Category == "" {
				t.Errorf("%s record %d: Sysmon event %d got no category", filepath.Base(f), rec.RecordID, src.EventID)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if records == 0 {
		t.Fatal("no records read")
	}
	var lines []string
	for ls, c := range counts {
		lines = append(lines, ls.Product+"/"+ls.Category+"/"+ls.Service+": "+itoa(c))
	}
	sort.Strings(lines)
	t.Logf("%d records from %d files:\n%s", records, len(files), strings.Join(lines, "\n"))
	t.Logf("channels without a service: %v", unmapped)
}

func itoa(i int) string {
	return strconv.Itoa(i)
}
