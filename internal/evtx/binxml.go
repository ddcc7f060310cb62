package evtx

import (
	"encoding/binary"
	"strconv"

	"github.com/vigilsoc/vigil/internal/event"
)

// Binary XML tokens; the 0x40 bit on some of them means "more follows".
const (
	tokEOF          = 0x00
	tokOpenStart    = 0x01
	tokCloseStart   = 0x02
	tokCloseEmpty   = 0x03
	tokEnd          = 0x04
	tokValue        = 0x05
	tokAttr         = 0x06
	tokCDATA        = 0x07
	tokCharRef      = 0x08
	tokEntityRef    = 0x09
	tokPITarget     = 0x0a
	tokPIData       = 0x0b
	tokTemplate     = 0x0c
	tokSubst        = 0x0d
	tokOptSubst     = 0x0e
	tokFragment     = 0x0f
	tokMore         = 0x40
	maxElementDepth = 64
	maxNestedBinXML = 8
	// maxSteps bounds the template ops replayed for one record. Real
	// records replay a few hundred; nested BinXml values that substitute
	// themselves many times could otherwise expand exponentially.
	maxSteps = 1 << 18
	// maxRendered bounds the value bytes rendered for one record: a chunk
	// holds 64 KiB, but one large value substituted thousands of times
	// would otherwise allocate gigabytes.
	maxRendered = 1 << 20
)

// cursor reads little-endian values from a chunk. Positions are relative to
// the chunk start because names and templates are addressed that way; end
// bounds the structure being read. Reads past end set bad and return zero,
// so parsing code checks once per structure instead of per read.
type cursor struct {
	b   []byte
	pos int
	end int
	bad bool
}

func (c *cursor) need(n int) bool {
	if n < 0 || c.pos+n > c.end {
		c.bad = true
		c.pos = c.end
		return false
	}
	return true
}

func (c *cursor) u8() byte {
	if !c.need(1) {
		return 0
	}
	v := c.b[c.pos]
	c.pos++
	return v
}

func (c *cursor) u16() uint16 {
	if !c.need(2) {
		return 0
	}
	v := binary.LittleEndian.Uint16(c.b[c.pos:])
	c.pos += 2
	return v
}

func (c *cursor) u32() uint32 {
	if !c.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(c.b[c.pos:])
	c.pos += 4
	return v
}

func (c *cursor) bytes(n int) []byte {
	if !c.need(n) {
		return nil
	}
	v := c.b[c.pos : c.pos+n]
	c.pos += n
	return v
}

func (c *cursor) peek() (byte, bool) {
	if c.pos >= c.end {
		return 0, false
	}
	return c.b[c.pos], true
}

func (c *cursor) fail(msg string) error {
	return &binxmlError{pos: c.pos, msg: msg}
}

// opKind is one step of a compiled template.
type opKind uint8

const (
	opOpen       opKind = iota // start tag; str is the name
	opAttr                     // attribute; str is the name, value ops follow
	opCloseStart               // end of start tag, content follows
	opCloseEmpty               // end of an empty element
	opEnd                      // end tag
	opText                     // literal text in str
	opSubst                    // substitution id of type typ
)

type op struct {
	kind     opKind
	optional bool
	typ      byte
	id       uint16
	str      string
}

// template is a compiled template definition. Compiling once per chunk and
// replaying it per record is what makes decoding cheap: a chunk holds a few
// templates and hundreds of records instantiating them.
type template struct {
	ops []op
}

// substValue is one template instance value: its type and where its bytes
// are in the chunk.
type substValue struct {
	typ  byte
	off  int
	size int
}

// readName reads a name reference at c: a chunk offset, followed by the
// name itself when the offset points right here (its first use).
func (d *decoder) readName(c *cursor) (string, error) {
	off := int(c.u32())
	if c.bad {
		return "", c.fail("truncated name reference")
	}
	if off == c.pos {
		hdr := c.bytes(8)
		if hdr == nil {
			return "", c.fail("truncated inline name")
		}
		n := int(binary.LittleEndian.Uint16(hdr[6:]))
		if c.bytes(2*n+2) == nil {
			return "", c.fail("truncated inline name")
		}
	} else if off > c.pos || off < chunkHeaderSize {
		return "", c.fail("name offset out of range")
	}
	return d.nameAt(c, off)
}

// nameAt returns the name stored at chunk offset off, cached per chunk and
// interned across chunks so that names allocate once per decoder.
func (d *decoder) nameAt(c *cursor, off int) (string, error) {
	if s, ok := d.names[uint32(off)]; ok {
		return s, nil
	}
	if off < 0 || off+8 > len(d.chunk) {
		return "", &binxmlError{pos: c.pos, msg: "name offset out of range"}
	}
	n := int(binary.LittleEndian.Uint16(d.chunk[off+6:]))
	if off+8+2*n > len(d.chunk) {
		return "", &binxmlError{pos: off, msg: "name runs past chunk end"}
	}
	raw := d.chunk[off+8 : off+8+2*n]
	d.text.b = appendUTF16(d.text.b[:0], raw)
	s, ok := d.intern[string(d.text.b)]
	if !ok {
		s = string(d.text.b)
		d.intern[s] = s
	}
	d.names[uint32(off)] = s
	return s, nil
}

// compileElement compiles one element (its start token at c) and everything
// inside it, appending to ops.
func (d *decoder) compileElement(c *cursor, ops []op, depth int) ([]op, error) {
	if depth > maxElementDepth {
		return ops, c.fail("elements nested too deep")
	}
	start := c.pos
	tok := c.u8()
	// The 2-byte dependency identifier is absent in some producers' output
	// (binary XML in substitutions); a name offset that cannot be right
	// tells us to read the header again without it.
	c.u16()
	c.u32() // data size: not needed, the end token bounds the element
	nameOff := int(c.u32())
	// Names live in records, after the chunk header, and before or at
	// their first use.
	if !c.bad && (nameOff < chunkHeaderSize || nameOff > c.pos || nameOff+8 > len(c.b)) {
		c.pos = start + 1
		c.u32()
		nameOff = int(c.u32())
	}
	if c.bad {
		return ops, c.fail("truncated element start")
	}
	c.pos -= 4
	name, err := d.readName(c)
	if err != nil {
		return ops, err
	}
	ops = append(ops, op{kind: opOpen, str: name})
	if tok&tokMore != 0 {
		c.u32() // attribute list size
		for {
			t, ok := c.peek()
			if !ok || t&^tokMore != tokAttr {
				break
			}
			c.pos++
			aname, err := d.readName(c)
			if err != nil {
				return ops, err
			}
			ops = append(ops, op{kind: opAttr, str: aname})
			if ops, err = d.compileValues(c, ops); err != nil {
				return ops, err
			}
		}
	}
	switch c.u8() {
	case tokCloseEmpty:
		return append(ops, op{kind: opCloseEmpty}), nil
	case tokCloseStart:
		ops = append(ops, op{kind: opCloseStart})
	default:
		if c.bad {
			return ops, c.fail("truncated element")
		}
		c.pos--
		return ops, c.fail("expected close start element token")
	}
	for {
		t, ok := c.peek()
		if !ok {
			return ops, c.fail("element not closed")
		}
		switch t &^ tokMore {
		case tokEnd:
			c.pos++
			return append(ops, op{kind: opEnd}), nil
		case tokOpenStart:
			if ops, err = d.compileElement(c, ops, depth+1); err != nil {
				return ops, err
			}
		case tokPITarget, tokPIData:
			if err = d.skipPI(c); err != nil {
				return ops, err
			}
		case tokValue, tokSubst, tokOptSubst, tokCDATA, tokCharRef, tokEntityRef:
			if ops, err = d.compileValue(c, ops); err != nil {
				return ops, err
			}
		default:
			return ops, c.fail("unexpected token 0x" + strconv.FormatUint(uint64(t), 16) + " in element content")
		}
	}
}

// compileValues compiles the value parts of an attribute.
func (d *decoder) compileValues(c *cursor, ops []op) ([]op, error) {
	for {
		t, ok := c.peek()
		if !ok {
			return ops, nil
		}
		switch t &^ tokMore {
		case tokValue, tokSubst, tokOptSubst, tokCharRef, tokEntityRef, tokCDATA:
			var err error
			if ops, err = d.compileValue(c, ops); err != nil {
				return ops, err
			}
		default:
			return ops, nil
		}
	}
}

// compileValue compiles one value part: text, substitution or reference.
func (d *decoder) compileValue(c *cursor, ops []op) ([]op, error) {
	tok := c.u8() &^ tokMore
	switch tok {
	case tokValue:
		if vt := c.u8(); vt != typeString && !c.bad {
			return ops, c.fail("value token of type 0x" + strconv.FormatUint(uint64(vt), 16))
		}
		fallthrough
	case tokCDATA:
		n := int(c.u16())
		raw := c.bytes(2 * n)
		if c.bad {
			return ops, c.fail("truncated text")
		}
		return append(ops, op{kind: opText, str: d.text.utf16(raw)}), nil
	case tokSubst, tokOptSubst:
		id := c.u16()
		vt := c.u8()
		if c.bad {
			return ops, c.fail("truncated substitution")
		}
		return append(ops, op{kind: opSubst, id: id, typ: vt, optional: tok == tokOptSubst}), nil
	case tokCharRef:
		r := rune(c.u16())
		if c.bad {
			return ops, c.fail("truncated character reference")
		}
		return append(ops, op{kind: opText, str: string(r)}), nil
	case tokEntityRef:
		name, err := d.readName(c)
		if err != nil {
			return ops, err
		}
		return append(ops, op{kind: opText, str: entity(name)}), nil
	}
	return ops, c.fail("unexpected value token")
}

func entity(name string) string {
	switch name {
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "amp":
		return "&"
	case "quot":
		return `"`
	case "apos":
		return "'"
	}
	return "&" + name + ";"
}

// skipPI steps over a processing instruction target or data token; Windows
// event XML carries nothing in them that rules match.
func (d *decoder) skipPI(c *cursor) error {
	switch c.u8() {
	case tokPITarget:
		_, err := d.readName(c)
		return err
	default:
		n := int(c.u16())
		if c.bytes(2*n) == nil {
			return c.fail("truncated PI data")
		}
	}
	return nil
}

// templateAt returns the compiled template whose definition is at chunk
// offset off, compiling and caching it on first use.
func (d *decoder) templateAt(c *cursor, off int) (*template, error) {
	if t, ok := d.templates[uint32(off)]; ok {
		return t, nil
	}
	if off < 0 || off+24 > len(d.chunk) {
		return nil, c.fail("template offset out of range")
	}
	size := int(binary.LittleEndian.Uint32(d.chunk[off+20:]))
	tc := cursor{b: d.chunk, pos: off + 24, end: off + 24 + size}
	if tc.end > len(d.chunk) || size < 0 {
		return nil, c.fail("template definition runs past chunk end")
	}
	var t *template
	if n := len(d.tmplPool); n > 0 {
		t = d.tmplPool[n-1]
		d.tmplPool = d.tmplPool[:n-1]
		t.ops = t.ops[:0]
	} else {
		t = &template{}
	}
	ops, err := d.compileDoc(&tc, t.ops)
	t.ops = ops
	if err != nil {
		d.tmplPool = append(d.tmplPool, t)
		return nil, err
	}
	d.templates[uint32(off)] = t
	d.tmplUsed = append(d.tmplUsed, t)
	return t, nil
}

// compileDoc compiles a template definition body: fragment header, one
// element, end of data.
func (d *decoder) compileDoc(c *cursor, ops []op) ([]op, error) {
	for {
		t, ok := c.peek()
		if !ok {
			return ops, nil
		}
		switch t &^ tokMore {
		case tokEOF:
			c.pos++
			return ops, nil
		case tokFragment:
			c.bytes(4)
		case tokOpenStart:
			var err error
			if ops, err = d.compileElement(c, ops, 0); err != nil {
				return ops, err
			}
		case tokPITarget, tokPIData:
			if err := d.skipPI(c); err != nil {
				return ops, err
			}
		default:
			return ops, c.fail("unexpected token 0x" + strconv.FormatUint(uint64(t), 16) + " in template definition")
		}
	}
}

// document decodes a binary XML document (a record's event, or a nested
// BinXml value) between c.pos and c.end into the builder.
func (d *decoder) document(c *cursor, nest int) error {
	if nest > maxNestedBinXML {
		return c.fail("binary XML nested too deep")
	}
	for {
		t, ok := c.peek()
		if !ok {
			return nil
		}
		switch t &^ tokMore {
		case tokEOF:
			return nil
		case tokFragment:
			if c.bytes(4) == nil {
				return c.fail("truncated fragment header")
			}
		case tokTemplate:
			if err := d.templateInstance(c, nest); err != nil {
				return err
			}
		case tokOpenStart:
			// An element without a template: compile it on the spot. The
			// scratch ops are per nesting level because a nested document
			// runs while its parent's ops are still being executed.
			for len(d.rawOps) <= nest {
				d.rawOps = append(d.rawOps, nil)
			}
			ops, err := d.compileElement(c, d.rawOps[nest][:0], 0)
			d.rawOps[nest] = ops
			if err != nil {
				return err
			}
			if err := d.exec(ops, nil, nest); err != nil {
				return err
			}
		case tokPITarget, tokPIData:
			if err := d.skipPI(c); err != nil {
				return err
			}
		default:
			return c.fail("unexpected token 0x" + strconv.FormatUint(uint64(t), 16) + " in document")
		}
	}
}

// templateInstance reads a template instance at c (token 0x0c), its
// definition when it is stored inline, and its values, then replays the
// template into the builder.
func (d *decoder) templateInstance(c *cursor, nest int) error {
	c.pos++
	c.u8()  // unknown
	c.u32() // template identifier
	defOff := int(c.u32())
	if c.bad {
		return c.fail("truncated template instance")
	}
	if defOff == c.pos {
		// Definition stored inline on first use: skip over it.
		hdr := c.bytes(24)
		if hdr == nil {
			return c.fail("truncated template definition")
		}
		if c.bytes(int(binary.LittleEndian.Uint32(hdr[20:]))) == nil {
			return c.fail("template definition runs past record end")
		}
	}
	t, err := d.templateAt(c, defOff)
	if err != nil {
		return err
	}
	n := int(c.u32())
	if c.bad || n > (c.end-c.pos)/4 {
		return c.fail("bad template value count")
	}
	base := len(d.values)
	desc := c.bytes(4 * n)
	off := c.pos
	for i := range n {
		size := int(binary.LittleEndian.Uint16(desc[4*i:]))
		d.values = append(d.values, substValue{typ: desc[4*i+2], off: off, size: size})
		off += size
	}
	if off > c.end {
		d.values = d.values[:base]
		return c.fail("template values run past record end")
	}
	c.pos = off
	vals := d.values[base : base+n]
	err = d.exec(t.ops, vals, nest)
	d.values = d.values[:base]
	return err
}

// exec replays compiled ops with substitution values into the builder.
func (d *decoder) exec(ops []op, vals []substValue, nest int) error {
	b := &d.build
	var (
		inAttr   bool
		attrName string
		attr     acc
	)
	finishAttr := func() {
		if inAttr && attr.n > 0 {
			b.attr(attrName, attr.val)
		}
		inAttr = false
	}
	d.steps += len(ops)
	if d.steps > maxSteps {
		return &binxmlError{msg: "record expands to too many elements"}
	}
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case opOpen:
			finishAttr()
			if !b.open(o.str) {
				return &binxmlError{msg: "elements nested too deep"}
			}
		case opAttr:
			finishAttr()
			inAttr, attrName, attr = true, o.str, acc{}
		case opCloseStart:
			finishAttr()
		case opCloseEmpty:
			finishAttr()
			b.close()
		case opEnd:
			b.close()
		case opText:
			v := val{v: event.S(o.str)}
			if inAttr {
				attr.add(v)
			} else {
				b.text(v)
			}
		case opSubst:
			var sv substValue
			if int(o.id) < len(vals) {
				sv = vals[o.id]
			}
			if sv.typ == typeNull {
				if inAttr && !o.optional {
					attr.add(val{v: event.S("")})
				}
				continue
			}
			raw := d.chunk[sv.off : sv.off+sv.size]
			if sv.typ == typeBinXML {
				if inAttr {
					continue
				}
				nc := cursor{b: d.chunk, pos: sv.off, end: sv.off + sv.size}
				if err := d.document(&nc, nest+1); err != nil {
					return err
				}
				continue
			}
			if d.rendered += sv.size; d.rendered > maxRendered {
				return &binxmlError{pos: sv.off, msg: "record renders too much value data"}
			}
			v, ok := d.text.render(sv.typ, raw)
			if !ok {
				return &binxmlError{pos: sv.off, msg: "value of type 0x" + strconv.FormatUint(uint64(sv.typ), 16) + " has bad size " + strconv.Itoa(sv.size)}
			}
			if inAttr {
				attr.add(v)
			} else {
				b.text(v)
			}
		}
	}
	finishAttr()
	return nil
}

// acc accumulates the parts of an attribute value or element text. One part
// keeps its type; several are joined as text.
type acc struct {
	n   int
	val val
}

func (a *acc) add(v val) {
	if a.n == 0 {
		a.val = v
	} else {
		a.val = val{v: event.S(a.val.v.Text() + v.v.Text())}
	}
	a.n++
}
