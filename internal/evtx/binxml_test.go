package evtx

import (
	"errors"
	"strings"
	"testing"
)

func TestEntity(t *testing.T) {
	for name, want := range map[string]string{"lt": "<", "gt": ">", "amp": "&", "quot": `"`, "apos": "'", "nbsp": "&nbsp;"} {
		if got := entity(name); got != want {
			t.Errorf("entity(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestElementWithoutDependencyID: binary XML in a substitution may leave
// out the element's dependency identifier; the reader notices from the
// name offset and reads the element anyway.
func TestElementWithoutDependencyID(t *testing.T) {
	tmpl := func(e *emitter) {
		e.open("Event", false)
		e.closeStart()
		e.leaf("System", func() { e.leaf("EventID", func() { e.subst(0, typeUInt16, false) }) })
		e.subst(1, typeBinXML, false)
		e.end()
	}
	nested := func(e *emitter) {
		e.u8(0x01) // <UserData> without dependency id
		e.u32(0)
		e.name("UserData")
		e.closeStart()
		e.leaf("Param", func() { e.text("v") })
		e.end()
		e.u8(0x00)
	}
	c := genChunk(1, []genRecord{{id: 1, body: func(e *emitter) {
		e.raw(0x0f, 0x01, 0x01, 0x00)
		e.templateInstance(0, tmpl, []tvalue{{typ: typeUInt16, data: le16(5)}, {typ: typeBinXML, nested: nested}})
	}}})
	recs, errs, _, err := decodeAll(t, genFile(c), 1)
	if err != nil || len(errs) != 0 || len(recs) != 1 {
		t.Fatalf("err %v, errors %v, %d records", err, errs, len(recs))
	}
	if v, ok := field(recs[0].data, "Param"); !ok || v.Text() != "v" {
		t.Errorf("data %v, want Param=v", recs[0].data)
	}
}

// TestMalformedBinXML: each record body is broken in one way; the record is
// reported as ErrBinXML with its id, and the record after it still reads.
func TestMalformedBinXML(t *testing.T) {
	frag := func(e *emitter) { e.raw(0x0f, 0x01, 0x01, 0x00) }
	tests := []struct {
		name string
		body func(e *emitter)
		msg  string
	}{
		{"unknown token", func(e *emitter) { frag(e); e.u8(0x1f) }, "unexpected token"},
		{"truncated element start", func(e *emitter) { frag(e); e.raw(0x01, 0xff, 0xff, 0, 0) }, "truncated"},
		{"name offset forward", func(e *emitter) { frag(e); e.raw(0x01, 0xff, 0xff, 0, 0, 0, 0); e.u32(60000) }, "name offset"},
		{"element not closed", func(e *emitter) { frag(e); e.open("Event", false); e.closeStart() }, "not closed"},
		{"bad start close", func(e *emitter) { frag(e); e.open("Event", false); e.u8(0x04) }, "close start"},
		{"value of wrong type", func(e *emitter) {
			frag(e)
			e.open("Event", false)
			e.closeStart()
			e.raw(0x05, 0x08, 0, 0)
			e.end()
		}, "value token of type"},
		{"template offset out of range", func(e *emitter) { frag(e); e.raw(0x0c, 0x01, 0, 0, 0, 0); e.u32(70000); e.u32(0) }, "template offset"},
		{"too many template values", func(e *emitter) {
			frag(e)
			e.templateInstance(0, sysmonTemplate, nil)
			e.b = e.b[:len(e.b)-4]
			e.u32(1 << 30)
		}, "value count"},
		{"value size mismatch", func(e *emitter) {
			frag(e)
			vals := sysmonValues(1, "x")
			vals[2] = tvalue{typ: typeUInt16, data: []byte{1}}
			e.templateInstance(0, sysmonTemplate, vals)
		}, "bad size"},
		{"template in template", func(e *emitter) {
			frag(e)
			e.templateInstance(0, func(e *emitter) { e.u8(0x0c) }, nil)
		}, "in template definition"},
		{"empty", func(e *emitter) { frag(e) }, "no event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := genChunk(1, []genRecord{
				{id: 1, body: tt.body},
				{id: 2, body: func(e *emitter) {
					frag(e)
					e.templateInstance(0, sysmonTemplate, sysmonValues(2, "ok.exe"))
				}},
			})
			recs, errs, _, err := decodeAll(t, genFile(c), 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || recs[0].id != 2 {
				t.Errorf("records %v, want record 2 only", recs)
			}
			var ce *CorruptError
			if len(errs) != 1 || !errors.As(errs[0], &ce) || ce.RecordID != 1 || !errors.Is(ce, ErrBinXML) || !strings.Contains(ce.Error(), tt.msg) {
				t.Errorf("errors %v, want one ErrBinXML for record 1 mentioning %q", errs, tt.msg)
			}
		})
	}
}
