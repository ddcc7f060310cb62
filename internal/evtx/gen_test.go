package evtx

import (
	"encoding/binary"
	"hash/crc32"
	"unicode/utf16"
)

// This file builds small EVTX files in code, so that unit tests need no
// corpus and can corrupt exactly the byte they mean to.

// emitter writes binary XML into a chunk buffer; offsets are chunk-relative
// because that is how names and templates are referenced.
type emitter struct {
	b     []byte
	names map[string]int
}

func (e *emitter) pos() int                 { return len(e.b) }
func (e *emitter) u8(v byte)                { e.b = append(e.b, v) }
func (e *emitter) u16(v uint16)             { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *emitter) u32(v uint32)             { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *emitter) u64(v uint64)             { e.b = binary.LittleEndian.AppendUint64(e.b, v) }
func (e *emitter) raw(b ...byte)            { e.b = append(e.b, b...) }
func (e *emitter) patch32(at int, v uint32) { binary.LittleEndian.PutUint32(e.b[at:], v) }

func utf16le(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}

// name writes a name reference, defining the name inline on first use.
func (e *emitter) name(s string) {
	if off, ok := e.names[s]; ok {
		e.u32(uint32(off))
		return
	}
	off := e.pos() + 4
	e.names[s] = off
	e.u32(uint32(off))
	e.u32(0) // next string in hash bucket
	e.u16(0) // hash, unchecked
	e.u16(uint16(len([]rune(s))))
	e.raw(utf16le(s)...)
	e.u16(0)
}

// open writes an element start; attrs says whether an attribute list follows.
func (e *emitter) open(name string, attrs bool) {
	if attrs {
		e.u8(0x41)
	} else {
		e.u8(0x01)
	}
	e.u16(0xffff)
	e.u32(0) // data size, not used by the reader
	e.name(name)
	if attrs {
		e.u32(0) // attribute list size, not used by the reader
	}
}

func (e *emitter) attr(name string, more bool) {
	if more {
		e.u8(0x46)
	} else {
		e.u8(0x06)
	}
	e.name(name)
}

func (e *emitter) text(s string) {
	e.u8(0x05)
	e.u8(typeString)
	e.u16(uint16(len(utf16.Encode([]rune(s)))))
	e.raw(utf16le(s)...)
}

func (e *emitter) subst(id uint16, typ byte, optional bool) {
	if optional {
		e.u8(0x0e)
	} else {
		e.u8(0x0d)
	}
	e.u16(id)
	e.u8(typ)
}

func (e *emitter) closeStart() { e.u8(0x02) }
func (e *emitter) closeEmpty() { e.u8(0x03) }
func (e *emitter) end()        { e.u8(0x04) }

// leaf writes <name>body</name>.
func (e *emitter) leaf(name string, body func()) {
	e.open(name, false)
	e.closeStart()
	body()
	e.end()
}

// tvalue is one template instance value.
type tvalue struct {
	typ  byte
	data []byte
	// nested, when set, writes BinXml value data at its final chunk
	// position (type 0x21), so that inline names get the right offsets.
	nested func(e *emitter)
}

// templateInstance writes a template instance. The definition is written
// inline when defOff is 0 (the returned offset lets later records reuse
// it); body writes the definition's element.
func (e *emitter) templateInstance(defOff int, body func(e *emitter), values []tvalue) int {
	e.u8(0x0c)
	e.u8(0x01)
	e.u32(0x1234)
	if defOff == 0 {
		defOff = e.pos() + 4
		e.u32(uint32(defOff))
		e.u32(0)                   // next definition
		e.raw(make([]byte, 16)...) // template GUID
		sizeAt := e.pos()
		e.u32(0)
		start := e.pos()
		e.raw(0x0f, 0x01, 0x01, 0x00)
		body(e)
		e.u8(0x00)
		e.patch32(sizeAt, uint32(e.pos()-start))
	} else {
		e.u32(uint32(defOff))
	}
	e.u32(uint32(len(values)))
	descAt := e.pos()
	for range values {
		e.u32(0)
	}
	for i, v := range values {
		start := e.pos()
		if v.nested != nil {
			v.nested(e)
		} else {
			e.raw(v.data...)
		}
		binary.LittleEndian.PutUint16(e.b[descAt+4*i:], uint16(e.pos()-start))
		e.b[descAt+4*i+2] = v.typ
	}
	return defOff
}

// genRecord describes one record for genChunk.
type genRecord struct {
	id   uint64
	body func(e *emitter) // writes the record's binary XML
}

// genChunk builds a 64 KiB chunk holding the records, with valid checksums.
func genChunk(first uint64, records []genRecord) []byte {
	e := &emitter{b: make([]byte, chunkHeaderSize, chunkSize), names: map[string]int{}}
	copy(e.b, chunkSignature)
	last := first
	lastOff := 0
	for _, r := range records {
		start := e.pos()
		lastOff = start
		e.raw(recordSignature...)
		e.u32(0)
		e.u64(r.id)
		e.u64(132000000000000000)
		r.body(e)
		e.u32(0)
		size := uint32(e.pos() - start)
		e.patch32(start+4, size)
		e.patch32(e.pos()-4, size)
		last = r.id
	}
	free := e.pos()
	c := make([]byte, chunkSize)
	copy(c, e.b)
	binary.LittleEndian.PutUint64(c[8:], first)
	binary.LittleEndian.PutUint64(c[16:], last)
	binary.LittleEndian.PutUint64(c[24:], first)
	binary.LittleEndian.PutUint64(c[32:], last)
	binary.LittleEndian.PutUint32(c[40:], 128)
	binary.LittleEndian.PutUint32(c[44:], uint32(lastOff))
	binary.LittleEndian.PutUint32(c[48:], uint32(free))
	fixChunkCRC(c)
	return c
}

// fixChunkCRC recomputes a chunk's records and header checksums.
func fixChunkCRC(c []byte) {
	free := binary.LittleEndian.Uint32(c[48:])
	binary.LittleEndian.PutUint32(c[52:], crc32.ChecksumIEEE(c[chunkHeaderSize:free]))
	sum := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:chunkHeaderSize])
	binary.LittleEndian.PutUint32(c[124:], sum)
}

// genFile joins a file header and chunks.
func genFile(chunks ...[]byte) []byte {
	h := make([]byte, fileHeaderSize)
	copy(h, fileSignature)
	binary.LittleEndian.PutUint64(h[16:], uint64(max(len(chunks)-1, 0)))
	binary.LittleEndian.PutUint32(h[32:], 128)
	binary.LittleEndian.PutUint16(h[36:], 1)
	binary.LittleEndian.PutUint16(h[38:], 3)
	binary.LittleEndian.PutUint16(h[40:], fileHeaderSize)
	binary.LittleEndian.PutUint16(h[42:], uint16(len(chunks)))
	binary.LittleEndian.PutUint32(h[124:], crc32.ChecksumIEEE(h[:120]))
	out := h
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// sysmonTemplate writes a template shaped like a Sysmon/Security event:
// System with attributes and typed values, EventData with named Data items
// of several types, an unnamed item, and references.
func sysmonTemplate(e *emitter) {
	e.open("Event", true)
	e.attr("xmlns", false)
	e.text("http://schemas.microsoft.com/win/2004/08/events/event")
	e.closeStart()
	e.leaf("System", func() {
		e.open("Provider", true)
		e.attr("Name", true)
		e.subst(0, typeString, false)
		e.attr("Guid", false)
		e.subst(1, typeGUID, false)
		e.closeEmpty()
		e.leaf("EventID", func() { e.subst(2, typeUInt16, false) })
		e.open("TimeCreated", true)
		e.attr("SystemTime", false)
		e.subst(3, typeFileTime, false)
		e.closeEmpty()
		e.leaf("EventRecordID", func() { e.subst(4, typeUInt64, false) })
		e.leaf("Keywords", func() { e.subst(5, typeHex64, false) })
		e.leaf("Channel", func() { e.text("Microsoft-Windows-Sysmon/Operational") })
		e.leaf("Computer", func() { e.subst(6, typeString, false) })
		e.open("Security", true)
		e.attr("UserID", false)
		e.subst(7, typeSID, true)
		e.closeEmpty()
	})
	e.leaf("EventData", func() {
		data := func(name string, id uint16, typ byte, optional bool) {
			e.open("Data", true)
			e.attr("Name", false)
			e.text(name)
			e.closeStart()
			e.subst(id, typ, optional)
			e.end()
		}
		data("Image", 8, typeString, false)
		data("CommandLine", 9, typeString, false)
		data("ProcessId", 10, typeUInt32, false)
		data("LogonId", 11, typeHex64, false)
		data("Elevated", 12, typeBool, false)
		data("Blob", 13, typeBinary, false)
		data("Delta", 14, typeInt32, false)
		data("When", 15, typeSysTime, false)
		data("Missing", 16, typeString, true)
		data("Names", 17, typeString|typeArray, false)
		data("Size", 18, typeSizeT, false)
		// An unnamed item made of text, a character reference and an
		// entity reference: "a<b&#65;".
		e.leaf("Data", func() {
			e.u8(0x45)
			e.u8(typeString)
			e.u16(1)
			e.raw(utf16le("a")...)
			e.u8(0x49)
			e.name("lt")
			e.u8(0x48)
			e.u16('b')
			e.u8(0x08)
			e.u16('A')
		})
	})
	e.end()
}

func sysmonValues(id uint64, image string) []tvalue {
	sid := []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0} // S-1-5-18
	st := make([]byte, 16)
	for i, v := range []uint16{2024, 3, 2, 19, 23, 34, 25, 123} {
		binary.LittleEndian.PutUint16(st[2*i:], v)
	}
	return []tvalue{
		{typ: typeString, data: utf16le("Microsoft-Windows-Sysmon")},
		{typ: typeGUID, data: []byte{0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c, 0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9}},
		{typ: typeUInt16, data: le16(1)},
		// 2019-03-19T23:34:25.1234567Z
		{typ: typeFileTime, data: le64(131975120651234567)},
		{typ: typeUInt64, data: le64(id)},
		{typ: typeHex64, data: le64(0x8000000000000000)},
		{typ: typeString, data: utf16le("HOST-1\x00")},
		{typ: typeSID, data: sid},
		{typ: typeString, data: utf16le(image)},
		{typ: typeString, data: utf16le(`"` + image + `" /c whoami`)},
		{typ: typeUInt32, data: le32(4242)},
		{typ: typeHex64, data: le64(0x3e7)},
		{typ: typeBool, data: le32(1)},
		{typ: typeBinary, data: []byte{0xde, 0xad, 0x01}},
		{typ: typeInt32, data: le32(0xffffffff)},
		{typ: typeSysTime, data: st},
		{typ: typeNull},
		{typ: typeString | typeArray, data: utf16le("one\x00two\x00")},
		{typ: typeSizeT, data: le64(0x10)},
	}
}

// userDataTemplate writes <Event><System>..</System>{0x21 value}</Event>,
// the shape of events whose UserData is a nested binary XML value.
func userDataTemplate(e *emitter) {
	e.open("Event", false)
	e.closeStart()
	e.leaf("System", func() {
		e.leaf("EventID", func() { e.subst(0, typeUInt16, false) })
		e.leaf("Channel", func() { e.text("System") })
	})
	e.subst(1, typeBinXML, false)
	e.end()
}

// userDataValue writes the nested value: a fragment with a raw element tree
// <UserData><LogFileCleared xmlns="x"><SubjectUserName>bob</SubjectUserName>
// <Error Code="5"/></LogFileCleared></UserData>.
func userDataValue(e *emitter) {
	e.raw(0x0f, 0x01, 0x01, 0x00)
	e.leaf("UserData", func() {
		e.open("LogFileCleared", true)
		e.attr("xmlns", false)
		e.text("x")
		e.closeStart()
		e.leaf("SubjectUserName", func() { e.text("bob") })
		e.open("Error", true)
		e.attr("Code", false)
		e.text("5")
		e.closeEmpty()
		e.end()
	})
	e.u8(0x00)
}

// sampleChunk is a chunk of n Sysmon-like records (ids first..first+n-1)
// sharing one template, defined inline in the first record, followed by
// one UserData record when withUserData is set.
func sampleChunk(first uint64, n int, withUserData bool) []byte {
	var defOff int
	var recs []genRecord
	for i := range n {
		id := first + uint64(i)
		recs = append(recs, genRecord{id: id, body: func(e *emitter) {
			e.raw(0x0f, 0x01, 0x01, 0x00)
			off := e.templateInstance(defOff, sysmonTemplate, sysmonValues(id, `C:\Windows\System32\cmd.exe`))
			defOff = off
		}})
	}
	if withUserData {
		id := first + uint64(n)
		recs = append(recs, genRecord{id: id, body: func(e *emitter) {
			e.raw(0x0f, 0x01, 0x01, 0x00)
			e.templateInstance(0, userDataTemplate, []tvalue{
				{typ: typeUInt16, data: le16(104)},
				{typ: typeBinXML, nested: userDataValue},
			})
		}})
	}
	return genChunk(first, recs)
}

// rawRecord writes an event without a template: a processing instruction,
// then literal elements, including a RenderingInfo block that must not
// become fields, a CDATA section and a time given as text.
func rawRecord(e *emitter) {
	e.u8(0x0a) // PI target
	e.name("xml-stylesheet")
	e.u8(0x0b) // PI data
	e.u16(4)
	e.raw(utf16le("href")...)
	e.raw(0x0f, 0x01, 0x01, 0x00)
	e.leaf("Event", func() {
		e.leaf("System", func() {
			e.open("EventID", true)
			e.attr("Qualifiers", false)
			e.text("16384")
			e.closeStart()
			e.text("7036")
			e.end()
			e.open("TimeCreated", true)
			e.attr("SystemTime", false)
			e.text("2020-01-02T03:04:05.1234567Z")
			e.closeEmpty()
			e.open("Correlation", false)
			e.closeEmpty()
		})
		e.leaf("EventData", func() {
			e.open("Data", true)
			e.attr("Name", false)
			e.text("param1")
			e.closeStart()
			e.u8(0x07) // CDATA
			e.u16(3)
			e.raw(utf16le("x<y")...)
			e.end()
			e.leaf("Binary", func() { e.text("D9060000") })
		})
		e.leaf("RenderingInfo", func() {
			e.leaf("Level", func() { e.text("Information") })
		})
	})
	e.u8(0x00)
}
