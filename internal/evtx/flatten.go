package evtx

import (
	"strconv"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// section is the part of the event an element belongs to.
type section uint8

const (
	secRoot section = iota
	secSystem
	secEventData
	secUserData
	// secSkip holds what else <Event> may carry (RenderingInfo in forwarded
	// events, ProcessingErrorData): rendered text and diagnostics whose
	// element names (Level, Channel, ...) would shadow System's. The JSON
	// reader in winevent ignores them too.
	secSkip
)

type frame struct {
	name     string
	sect     section
	dataName string
	text     acc
	hasChild bool
	hasAttr  bool
}

type nameKey struct{ elem, attr string }

// builder flattens the element stream of one record into a winevent.Record
// as the winevent package documents: System children by name, attributes as
// Element_Attribute, EventData items by their Name, UserData leaves by name.
type builder struct {
	stack  []frame
	fields []event.Field // arena for the chunk's records
	sys    []event.Field // this record's System fields, before copying to the arena
	data   []event.Field
	// unnamed counts EventData items without a Name (Data1, Data2, ...).
	unnamed int
	time    time.Time
	hasTime bool
	// joined interns Element_Attribute names across records.
	joined    map[nameKey]string
	dataNames []string
}

func (b *builder) reset() {
	b.stack = b.stack[:0]
	b.sys = b.sys[:0]
	b.data = b.data[:0]
	b.unnamed = 0
	b.time = time.Time{}
	b.hasTime = false
}

func (b *builder) joinName(elem, attr string) string {
	k := nameKey{elem, attr}
	if s, ok := b.joined[k]; ok {
		return s
	}
	s := elem + "_" + attr
	b.joined[k] = s
	return s
}

func (b *builder) dataName(i int) string {
	for len(b.dataNames) <= i {
		b.dataNames = append(b.dataNames, "Data"+strconv.Itoa(len(b.dataNames)))
	}
	return b.dataNames[i]
}

func (b *builder) open(name string) bool {
	if len(b.stack) >= maxElementDepth*maxNestedBinXML {
		return false
	}
	f := frame{name: name}
	if n := len(b.stack); n > 0 {
		parent := &b.stack[n-1]
		parent.hasChild = true
		f.sect = parent.sect
		if n == 1 {
			switch name {
			case "System":
				f.sect = secSystem
			case "EventData":
				f.sect = secEventData
			case "UserData":
				f.sect = secUserData
			default:
				f.sect = secSkip
			}
		}
	}
	b.stack = append(b.stack, f)
	return true
}

func (b *builder) attr(name string, v val) {
	n := len(b.stack)
	if n < 3 {
		return // attributes of <Event>, <System>, <EventData>, <UserData>: namespaces
	}
	f := &b.stack[n-1]
	f.hasAttr = true
	switch f.sect {
	case secSystem:
		b.sys = append(b.sys, event.Field{Name: b.joinName(f.name, name), Value: v.v})
		if v.hasT && name == "SystemTime" && f.name == "TimeCreated" {
			b.time, b.hasTime = v.t, true
		} else if name == "SystemTime" && f.name == "TimeCreated" {
			if t, err := time.Parse(time.RFC3339Nano, v.v.Str); err == nil {
				b.time, b.hasTime = t, true
			}
		}
	case secEventData:
		if n == 3 && name == "Name" {
			f.dataName = v.v.Text()
			return
		}
		if n == 3 {
			return
		}
		b.data = append(b.data, event.Field{Name: b.joinName(f.name, name), Value: v.v})
	case secUserData:
		if name == "xmlns" || len(name) > 6 && name[:6] == "xmlns:" {
			return
		}
		b.data = append(b.data, event.Field{Name: b.joinName(f.name, name), Value: v.v})
	}
}

func (b *builder) text(v val) {
	if n := len(b.stack); n > 0 {
		b.stack[n-1].text.add(v)
	}
}

func (b *builder) close() {
	n := len(b.stack)
	if n == 0 {
		return
	}
	f := b.stack[n-1]
	b.stack = b.stack[:n-1]
	if n < 3 {
		return
	}
	text := f.text.val.v
	if f.text.n == 0 {
		text = event.S("")
	}
	switch f.sect {
	case secSystem:
		if f.text.n > 0 {
			if f.name == "EventID" && text.Kind == event.String {
				// Literal text in a template-less record: keep EventID
				// numeric as every other source has it.
				if n, err := strconv.ParseUint(text.Str, 10, 32); err == nil {
					text = event.NumText(text.Str, float64(n))
				}
			}
			b.sys = append(b.sys, event.Field{Name: f.name, Value: text})
		}
	case secEventData:
		if n == 3 {
			name := f.dataName
			if name == "" {
				if f.name == "Data" {
					b.unnamed++
					name = b.dataName(b.unnamed)
				} else {
					name = f.name
				}
			}
			b.data = append(b.data, event.Field{Name: name, Value: text})
			return
		}
		fallthrough
	case secUserData:
		if !f.hasChild {
			if f.text.n > 0 || !f.hasAttr {
				b.data = append(b.data, event.Field{Name: f.name, Value: text})
			}
		}
	}
}
