package correlate

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// BenchmarkObserve measures one base-rule match through Observe, over 1,000
// groups in rotation (so every group is found, not created), for each kind
// of window.
func BenchmarkObserve(b *testing.B) {
	benches := []struct {
		name, file string
		rules      []string // base rules matched in rotation
		fields     func(i int) []event.Field
	}{
		{"event_count", "event_count.yml", []string{"id:5638f7c0-ac70-491d-8465-2a65075e0d86"}, func(i int) []event.Field {
			return []event.Field{{Name: "ComputerName", Value: event.S(fmt.Sprint("dc", i%1000))}}
		}},
		{"value_count", "value_count.yml", []string{"id:5638f7c0-ac70-491d-8465-2a65075e0d86"}, func(i int) []event.Field {
			return []event.Field{
				{Name: "ComputerName", Value: event.S(fmt.Sprint("dc", i%1000))},
				{Name: "WorkstationName", Value: event.S("ws1")},
				{Name: "User", Value: event.S(fmt.Sprint("user", i%7))},
			}
		}},
		{"temporal_ordered", "temporal_ordered.yml", []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, func(i int) []event.Field {
			return []event.Field{
				{Name: "ComputerName", Value: event.S(fmt.Sprint("ws", i%1000))},
				{Name: "User", Value: event.S("bob")},
			}
		}},
		{"value_avg", "value_avg.yml", []string{"rule_a_id"}, func(i int) []event.Field {
			return []event.Field{
				{Name: "SourceIP", Value: event.S(fmt.Sprint("10.0.", i%1000/250, ".", i%250))},
				{Name: "User", Value: event.S("bob")},
				{Name: "BytesOut", Value: event.N(float64(i % 900))},
			}
		}},
		{"unreferenced", "event_count.yml", []string{"other_rule"}, func(i int) []event.Field {
			return []event.Field{{Name: "ComputerName", Value: event.S("dc1")}}
		}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			e, err := New(Config{}, loadRules(b, bb.file))
			if err != nil {
				b.Fatal(err)
			}
			// Prebuilt events, each with a few extra fields as real ones have.
			const n = 3000
			evs := make([]*event.Event, n)
			for i := range evs {
				fs := append(bb.fields(i),
					event.Field{Name: "EventID", Value: event.N(4625)},
					event.Field{Name: "Channel", Value: event.S("Security")},
					event.Field{Name: "Image", Value: event.S(`C:\Windows\System32\svchost.exe`)},
				)
				evs[i] = &event.Event{Host: "dc1", Fields: fs}
			}
			alerts := 0
			emit := func(Alert) { alerts++ }
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				ev := evs[i%n]
				// Ten events per second of event time.
				ev.Time = base.Add(time.Duration(i) * 100 * time.Millisecond)
				id, name := "", bb.rules[i/1000%len(bb.rules)]
				if after, ok := strings.CutPrefix(name, "id:"); ok {
					id, name = after, ""
				}
				e.Observe(id, name, ev, emit)
				i++
			}
			b.ReportMetric(float64(alerts)/float64(i), "alerts/op")
			b.ReportMetric(float64(e.Stats().Groups), "groups")
		})
	}
}
