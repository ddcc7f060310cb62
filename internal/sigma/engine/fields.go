package engine

import (
	"strings"
	"unicode/utf8"

	"github.com/vigilsoc/vigil/internal/event"
)

// fieldNames interns the field names rules use: each gets a small id, so
// that an event's fields are resolved once per event into a table indexed
// by id instead of every matcher and every index scanning the event's
// fields by name.
//
// A name resolves the way lookup does: the first field with exactly that
// name, else the first whose name is equal under strings.EqualFold.
type fieldNames struct {
	ids   map[string]int32
	names []string
	// fold maps ASCII-lower-cased ASCII names to their ids: for ASCII
	// names, EqualFold is ASCII case folding.
	fold map[string][]int32
	// unicode lists the ids of non-ASCII names, which EqualFold may relate
	// to ASCII event names (the Kelvin sign folds to k): checked one by one.
	unicode []int32
}

func newFieldNames() *fieldNames {
	return &fieldNames{ids: map[string]int32{}, fold: map[string][]int32{}}
}

func (fn *fieldNames) id(name string) int32 {
	if id, ok := fn.ids[name]; ok {
		return id
	}
	id := int32(len(fn.names))
	fn.ids[name] = id
	fn.names = append(fn.names, name)
	if isASCII(name) {
		k := lowerASCII(name)
		fn.fold[k] = append(fn.fold[k], id)
	} else {
		fn.unicode = append(fn.unicode, id)
	}
	return id
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fieldTable is the resolution of one event's fields: pos[id] is the index
// in ev.Fields of the field the name with that id resolves to, or -1.
// Events from one source usually list the same names in the same order, so
// the table remembers the names it was built from and is reused while they
// repeat; comparing names is much cheaper than resolving them.
type fieldTable struct {
	pos   []int32
	set   []int32 // ids whose pos is not -1
	names []string
	buf   [64]byte
}

// resolve returns pos for ev, rebuilding it when ev's field names differ
// from those of the previous event resolved with t.
func (t *fieldTable) resolve(fn *fieldNames, ev *event.Event) []int32 {
	if len(t.pos) != len(fn.names) {
		t.pos = make([]int32, len(fn.names))
		for i := range t.pos {
			t.pos[i] = -1
		}
		t.set, t.names = t.set[:0], t.names[:0]
		t.rebuild(fn, ev)
		return t.pos
	}
	if len(ev.Fields) == len(t.names) {
		same := true
		for i := range ev.Fields {
			if ev.Fields[i].Name != t.names[i] {
				same = false
				break
			}
		}
		if same {
			return t.pos
		}
	}
	t.rebuild(fn, ev)
	return t.pos
}

func (t *fieldTable) rebuild(fn *fieldNames, ev *event.Event) {
	for _, id := range t.set {
		t.pos[id] = -1
	}
	t.set = t.set[:0]
	t.names = t.names[:0]
	for i := range ev.Fields {
		name := ev.Fields[i].Name
		t.names = append(t.names, name)
		if id, ok := fn.ids[name]; ok && t.pos[id] < 0 {
			t.pos[id] = int32(i)
			t.set = append(t.set, id)
		}
	}
	// Exact names are placed; the rest take the first field equal to them
	// under case folding.
	if len(t.set) == len(fn.names) {
		return
	}
	for i := range ev.Fields {
		name := ev.Fields[i].Name
		if isASCII(name) && len(name) <= len(t.buf) {
			b := t.buf[:len(name)]
			for j := 0; j < len(name); j++ {
				b[j] = lowerByte(name[j])
			}
			for _, id := range fn.fold[string(b)] {
				t.place(id, i)
			}
			for _, id := range fn.unicode {
				if t.pos[id] < 0 && strings.EqualFold(name, fn.names[id]) {
					t.place(id, i)
				}
			}
			continue
		}
		for id := range fn.names {
			if t.pos[id] < 0 && strings.EqualFold(name, fn.names[id]) {
				t.place(int32(id), i)
			}
		}
	}
}

func (t *fieldTable) place(id int32, i int) {
	if t.pos[id] < 0 {
		t.pos[id] = int32(i)
		t.set = append(t.set, id)
	}
}

// fieldsOf resolves ev without a reusable table, for the paths that are
// not tuned for speed (Explain, tests).
func (fn *fieldNames) fieldsOf(ev *event.Event) []int32 {
	var t fieldTable
	return t.resolve(fn, ev)
}
