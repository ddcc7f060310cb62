package auditd

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile("testdata/audit.log")
	if err != nil {
		b.Fatal(err)
	}
	in := bytes.Repeat(data, 100)
	d := newDecoder(b, Config{})
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	events := 0
	for b.Loop() {
		st, err := d.Decode(context.Background(), bytes.NewReader(in), func(*event.Event) error { return nil }, nil)
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
