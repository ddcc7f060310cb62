package winevent

import (
	"strings"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/fieldmap"
)

// Normalizer turns Records into events using the mapping tables. It holds
// no per-call state and is safe for concurrent use.
type Normalizer struct {
	maps *fieldmap.Mappings
}

// NormalizerConfig configures a Normalizer.
type NormalizerConfig struct {
	// Mappings are the routing and alias tables; required.
	Mappings *fieldmap.Mappings
}

// NewNormalizer returns a Normalizer, or ErrNoMappings.
func NewNormalizer(cfg NormalizerConfig) (*Normalizer, error) {
	if cfg.Mappings == nil {
		return nil, ErrNoMappings
	}
	return &Normalizer{maps: cfg.Mappings}, nil
}

// Normalize returns the event for rec: Time from TimeCreated, Host from
// Computer, Logsource from the channel, provider and event id, and the
// fields System then Data then the Sigma aliases the tables add. The event
// shares no memory with rec, whose buffers readers reuse; Source and ID are
// left for the caller.
func (n *Normalizer) Normalize(rec *Record) *event.Event {
	ev := &event.Event{Time: rec.Time}
	// Room for the aliases a mapped event gains, so appending them rarely
	// reallocates.
	ev.Fields = make([]event.Field, 0, len(rec.System)+len(rec.Data)+8)
	copyFields(&ev.Fields, rec.System, rec.Data)
	if v, ok := ev.Get("Computer"); ok {
		ev.Host = v.Text()
	}
	if ev.Time.IsZero() {
		if v, ok := ev.Get("TimeCreated_SystemTime"); ok {
			if t, err := event.ParseTime(v.Text()); err == nil {
				ev.Time = t
			}
		}
	}
	n.maps.NormalizeWindows(ev)
	return ev
}

// copyFields appends copies of the fields whose strings live in one new
// string: a reader may build its strings over reused buffers, and one
// allocation for all of them is cheaper than one per string.
func copyFields(dst *[]event.Field, groups ...[]event.Field) {
	size := 0
	for _, g := range groups {
		for _, f := range g {
			size += len(f.Name) + valueSize(f.Value)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, g := range groups {
		for _, f := range g {
			b.WriteString(f.Name)
			writeValue(&b, f.Value)
		}
	}
	arena := b.String()
	off := 0
	take := func(n int) string {
		s := arena[off : off+n]
		off += n
		return s
	}
	for _, g := range groups {
		for _, f := range g {
			name := take(len(f.Name))
			*dst = append(*dst, event.Field{Name: name, Value: rebase(f.Value, take)})
		}
	}
}

func valueSize(v event.Value) int {
	n := len(v.Str)
	for _, it := range v.Items {
		n += valueSize(it)
	}
	return n
}

func writeValue(b *strings.Builder, v event.Value) {
	b.WriteString(v.Str)
	for _, it := range v.Items {
		writeValue(b, it)
	}
}

func rebase(v event.Value, take func(int) string) event.Value {
	v.Str = take(len(v.Str))
	if v.Items != nil {
		items := make([]event.Value, len(v.Items))
		for i, it := range v.Items {
			items[i] = rebase(it, take)
		}
		v.Items = items
	}
	return v
}
