package engine

import (
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

// lookupSlow is the reference resolution: the first field with exactly the
// name, else the first equal under strings.EqualFold.
func lookupSlow(ev *event.Event, name string) int32 {
	for i := range ev.Fields {
		if ev.Fields[i].Name == name {
			return int32(i)
		}
	}
	for i := range ev.Fields {
		if strings.EqualFold(ev.Fields[i].Name, name) {
			return int32(i)
		}
	}
	return -1
}

func TestFieldTable(t *testing.T) {
	names := []string{"Image", "image", "CommandLine", "Kind", "\u212Aey", "Straße", "Missing"}
	fn := newFieldNames()
	for _, n := range names {
		fn.id(n)
	}
	events := [][]string{
		{"Image", "CommandLine"},
		{"IMAGE", "image", "Image"},
		{"commandline", "COMMANDLINE", "CommandLine"},
		{"\u212Aind", "key"},
		{"KEY", "STRASSE", "straße", "STRAßE"},
		{},
		{"Image", "CommandLine"}, // same layout as the first: table reused
		{"Image", "Commandline"}, // same length, one name differs
		{"x", "y", "z", "Missing"},
	}
	var tab fieldTable
	for _, fields := range events {
		ev := &event.Event{}
		for _, f := range fields {
			ev.Fields = append(ev.Fields, event.Field{Name: f, Value: event.S(f)})
		}
		pos := tab.resolve(fn, ev)
		fresh := fn.fieldsOf(ev)
		for id, name := range fn.names {
			want := lookupSlow(ev, name)
			if pos[id] != want || fresh[id] != want {
				t.Errorf("event %q, name %q: reused table %d, fresh %d, want %d", fields, name, pos[id], fresh[id], want)
			}
		}
	}
}
