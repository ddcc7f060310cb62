// Package evtx reads Windows XML Event Log (EVTX) files and hands each event
// record to the caller as a *winevent.Record, its values rendered as text the
// way Windows renders them in event XML (Sigma rules match that text).
//
// The reader streams: it reads one 64 KiB chunk at a time through an
// io.ReaderAt, so memory per file is constant whatever its size. Chunks are
// independent (each carries its own string and template tables), so several
// workers decode them in parallel while records are still delivered in file
// order. A corrupt chunk or record is reported as a *CorruptError carrying its
// file offset and decoding goes on with the next record or chunk. Decode and
// DecodeFile read one input; a Decoder (NewDecoder) reads many in turn and
// keeps its buffers between them.
//
// The format follows the public EVTX description (libevtx documentation by
// J. Metz, after A. Schuster and [MS-EVEN6]). This package must not depend on
// any Vigil package other than internal/event and internal/ingest/winevent.
package evtx

import (
	"errors"
	"fmt"
)

// Sentinel errors; a *CorruptError wraps one of them.
var (
	// ErrNotEVTX means the input does not start with the EVTX file signature;
	// callers may try another format.
	ErrNotEVTX = errors.New("evtx: not an EVTX file")
	// ErrChecksum means a stored CRC32 does not match the data.
	ErrChecksum = errors.New("evtx: checksum mismatch")
	// ErrSignature means a chunk or record does not start with its signature.
	ErrSignature = errors.New("evtx: bad signature")
	// ErrTruncated means a structure runs past the end of its container.
	ErrTruncated = errors.New("evtx: truncated")
	// ErrBinXML means the binary XML of a record is malformed.
	ErrBinXML = errors.New("evtx: malformed binary XML")
)

// CorruptError reports a corrupt file header, chunk or record. Decoding goes
// on after it; the Options.OnError callback receives it.
type CorruptError struct {
	// Offset is the file offset of the bad byte when known, else of the
	// structure (chunk or record) that is bad.
	Offset int64
	// Chunk is the chunk index (0 for the first chunk after the file
	// header), or -1 for the file header.
	Chunk int
	// RecordID is the record's identifier from its header, 0 when the error
	// concerns a whole chunk or the record header itself is unreadable.
	RecordID uint64
	Err      error
}

func (e *CorruptError) Error() string {
	switch {
	case e.Chunk < 0:
		return fmt.Sprintf("evtx: file header at offset %d: %v", e.Offset, e.Err)
	case e.RecordID != 0:
		return fmt.Sprintf("evtx: chunk %d record %d at offset %d: %v", e.Chunk, e.RecordID, e.Offset, e.Err)
	}
	return fmt.Sprintf("evtx: chunk %d at offset %d: %v", e.Chunk, e.Offset, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

// binxmlError is a binary XML fault at a chunk-relative position; the chunk
// decoder turns it into a *CorruptError with the file offset.
type binxmlError struct {
	pos int
	msg string
}

func (e *binxmlError) Error() string { return e.msg }
func (e *binxmlError) Unwrap() error { return ErrBinXML }

// Options tune Decode.
type Options struct {
	// Workers is the number of goroutines decoding chunks; 0 means
	// GOMAXPROCS. With 1 everything runs on the calling goroutine.
	Workers int
	// OnError receives every *CorruptError (corrupt file header, chunk or
	// record), in file order, from the goroutine that calls fn. Nil ignores
	// them; they are counted in Stats.Corrupt either way.
	//
	// What is skipped: a record that does not parse; a chunk whose header
	// fails its checksum unless the records checksum it holds still matches
	// the records. When only the records checksum fails, the records that
	// parse are still delivered (the damage may be in one value's text).
	OnError func(error)
}

// Stats counts what Decode saw.
type Stats struct {
	// Chunks is the number of chunks whose header was valid.
	Chunks int
	// Records is the number of records handed to fn.
	Records int
	// Declared is the number of records the valid chunk headers declare
	// (last - first record number + 1, summed).
	Declared int
	// Corrupt is the number of corrupt errors reported.
	Corrupt int
	// Bytes is the number of input bytes read.
	Bytes int64
}
