package winevent

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParseJSON(b *testing.B) {
	for _, name := range []string{"sysmon1_plain.json", "sysmon1_xmltodict.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "json", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := ParseJSON(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNormalize measures what the EVTX reader pays per record on top
// of decoding: copying, routing and aliasing.
func BenchmarkNormalize(b *testing.B) {
	n := newNormalizer(b)
	for _, name := range []string{"sysmon1_plain.json", "security4688.json"} {
		rec := parseFile(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n.Normalize(rec)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
