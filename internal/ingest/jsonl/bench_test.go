package jsonl

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

func BenchmarkDecodeLine(b *testing.B) {
	data, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(data, []byte("\n"))
	d := newDecoder(b, 0)
	for _, c := range []struct {
		name string
		line int
	}{{"normalised", 1}, {"windows", 2}, {"winlogbeat", 4}, {"elastic_agent", 5}, {"auditbeat", 6}, {"flat", 9}} {
		line := lines[c.line-1]
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				if _, err := d.DecodeLine(line); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode measures a whole stream of the mixed shapes.
func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile("testdata/mixed.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	in := bytes.Repeat(data, 100)
	d := newDecoder(b, 0)
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
