package fieldmap

import "testing"

// BenchmarkNew is the start-up cost of loading and validating the tables.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
