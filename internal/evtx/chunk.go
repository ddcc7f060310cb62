package evtx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/ingest/winevent"
)

const (
	fileHeaderSize  = 4096
	chunkSize       = 65536
	chunkHeaderSize = 512
	recordHeaderLen = 24
	maxInterned     = 1 << 14
)

var (
	fileSignature   = []byte("ElfFile\x00")
	chunkSignature  = []byte("ElfChnk\x00")
	recordSignature = []byte{0x2a, 0x2a, 0x00, 0x00}
)

// posErr is an error to deliver before the record with index at.
type posErr struct {
	at  int
	err error
}

// chunkResult is one decoded chunk, handed from a worker to the goroutine
// that calls fn; it is recycled once delivered.
type chunkResult struct {
	index    int
	records  []winevent.Record
	fields   []event.Field
	errs     []posErr
	valid    bool
	declared int
	bytes    int64
	ioErr    error
}

func (r *chunkResult) reset(index int) {
	r.index = index
	clear(r.records) // drop references to the previous chunk's strings
	r.records = r.records[:0]
	clear(r.fields)
	r.fields = r.fields[:0]
	r.errs = r.errs[:0]
	r.valid = false
	r.declared = 0
	r.bytes = 0
	r.ioErr = nil
}

// decoder is one worker's state: the chunk buffer and the per-chunk name
// and template caches, reused chunk after chunk.
type decoder struct {
	buf       []byte
	chunk     []byte
	names     map[uint32]string
	intern    map[string]string
	templates map[uint32]*template
	tmplUsed  []*template
	tmplPool  []*template
	values    []substValue
	steps     int // template ops replayed for the current record
	rendered  int // value bytes rendered for the current record
	rawOps    [][]op
	text      textBuf
	build     builder
}

func newDecoder() *decoder {
	return &decoder{
		buf:       make([]byte, chunkSize),
		names:     make(map[uint32]string),
		intern:    make(map[string]string),
		templates: make(map[uint32]*template),
		build:     builder{joined: make(map[nameKey]string)},
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decodeChunk decodes the chunk in d.chunk (file offset off, index i) into
// res. Corruption is recorded in res.errs; decoding continues where it can.
func (d *decoder) decodeChunk(i int, off int64, res *chunkResult) {
	c := d.chunk
	corrupt := func(at int, relOff int, id uint64, err error) {
		res.errs = append(res.errs, posErr{at: at, err: &CorruptError{Offset: off + int64(relOff), Chunk: i, RecordID: id, Err: err}})
	}
	if len(c) < chunkSize {
		if !allZero(c) {
			corrupt(0, 0, 0, fmt.Errorf("%w: chunk of %d bytes at end of file", ErrTruncated, len(c)))
		}
		return
	}
	if !bytes.Equal(c[:8], chunkSignature) {
		if !allZero(c[:chunkHeaderSize]) {
			corrupt(0, 0, 0, fmt.Errorf("%w: chunk header", ErrSignature))
		}
		return
	}
	free := int(binary.LittleEndian.Uint32(c[48:]))
	recordsOK := free >= chunkHeaderSize && free <= chunkSize &&
		crc32.ChecksumIEEE(c[chunkHeaderSize:free]) == binary.LittleEndian.Uint32(c[52:])
	sum := crc32.Update(crc32.ChecksumIEEE(c[:120]), crc32.IEEETable, c[128:chunkHeaderSize])
	if want := binary.LittleEndian.Uint32(c[124:]); sum != want {
		corrupt(0, 124, 0, fmt.Errorf("%w: chunk header crc32 %#08x, stored %#08x", ErrChecksum, sum, want))
		if !recordsOK {
			return
		}
		// The free space offset and records checksum agree with the
		// records, so the damage is elsewhere in the header: read them.
	}
	first := binary.LittleEndian.Uint64(c[8:])
	last := binary.LittleEndian.Uint64(c[16:])
	if last < first || last-first >= chunkSize/recordHeaderLen {
		corrupt(0, 8, 0, fmt.Errorf("%w: record numbers %d..%d", ErrSignature, first, last))
		return
	}
	res.valid = true
	res.declared = int(last - first + 1)
	lastRecOff := int(binary.LittleEndian.Uint32(c[44:]))
	if free < chunkHeaderSize || free > chunkSize {
		corrupt(0, 48, 0, fmt.Errorf("%w: free space offset %d", ErrTruncated, free))
		free = chunkSize
	} else if !recordsOK {
		corrupt(0, 52, 0, fmt.Errorf("%w: event records crc32 %#08x, stored %#08x", ErrChecksum, crc32.ChecksumIEEE(c[chunkHeaderSize:free]), binary.LittleEndian.Uint32(c[52:])))
	}

	clear(d.names)
	clear(d.templates)
	// The interning maps outlive chunks; garbage input could grow them
	// without bound, so they start over past a size real logs never reach.
	if len(d.intern) > maxInterned {
		clear(d.intern)
	}
	if len(d.build.joined) > maxInterned {
		clear(d.build.joined)
	}
	d.tmplPool = append(d.tmplPool, d.tmplUsed...)
	d.tmplUsed = d.tmplUsed[:0]

	pos := chunkHeaderSize
	for pos+recordHeaderLen <= free {
		if !bytes.Equal(c[pos:pos+4], recordSignature) {
			if allZero(c[pos:free]) {
				break
			}
			corrupt(len(res.records), pos, 0, fmt.Errorf("%w: record", ErrSignature))
			pos = nextRecord(c, pos, free)
			continue
		}
		size := int(binary.LittleEndian.Uint32(c[pos+4:]))
		id := binary.LittleEndian.Uint64(c[pos+8:])
		if size < recordHeaderLen+4 || pos+size > free {
			corrupt(len(res.records), pos+4, id, fmt.Errorf("%w: record size %d", ErrTruncated, size))
			pos = nextRecord(c, pos, free)
			continue
		}
		if cp := int(binary.LittleEndian.Uint32(c[pos+size-4:])); cp != size {
			corrupt(len(res.records), pos+size-4, id, fmt.Errorf("%w: record size %d, copy %d", ErrTruncated, size, cp))
			pos = nextRecord(c, pos, free)
			continue
		}
		if err := d.record(pos, size, id, res); err != nil {
			at := pos
			var be *binxmlError
			if errors.As(err, &be) && be.pos > 0 {
				at = be.pos
			}
			corrupt(len(res.records), at, id, err)
		}
		if pos == lastRecOff {
			break
		}
		pos += size
	}
}

// nextRecord finds the next record signature after pos, or returns end.
func nextRecord(c []byte, pos, end int) int {
	if k := bytes.Index(c[pos+1:end], recordSignature); k >= 0 {
		return pos + 1 + k
	}
	return end
}

// record decodes the record at chunk offset pos and appends it to res.
func (d *decoder) record(pos, size int, id uint64, res *chunkResult) error {
	b := &d.build
	b.reset()
	d.steps, d.rendered = 0, 0
	cur := cursor{b: d.chunk, pos: pos + recordHeaderLen, end: pos + size - 4}
	if err := d.document(&cur, 0); err != nil {
		return err
	}
	if len(b.sys) == 0 && len(b.data) == 0 {
		return &binxmlError{pos: pos + recordHeaderLen, msg: "record holds no event"}
	}
	start := len(res.fields)
	res.fields = append(res.fields, b.sys...)
	mid := len(res.fields)
	res.fields = append(res.fields, b.data...)
	end := len(res.fields)
	rec := winevent.Record{
		System:   res.fields[start:mid:mid],
		Data:     res.fields[mid:end:end],
		RecordID: id,
	}
	if b.hasTime {
		rec.Time = b.time
	}
	res.records = append(res.records, rec)
	return nil
}
