package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/vigilsoc/vigil/internal/ingest/winevent"
)

// Decoder decodes EVTX files, keeping its chunk buffers and caches from one
// file to the next: a caller reading many files (a directory of logs)
// saves re-allocating them per file. A Decoder is not safe for concurrent
// use; use one per goroutine.
type Decoder struct {
	opts    Options
	decs    []*decoder
	results []*chunkResult
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opts Options) *Decoder {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	return &Decoder{opts: opts}
}

// DecodeFile decodes the EVTX file at path with a new Decoder; see Decode.
func DecodeFile(ctx context.Context, path string, opts Options, fn func(*winevent.Record) error) (Stats, error) {
	return NewDecoder(opts).DecodeFile(ctx, path, fn)
}

// Decode decodes with a new Decoder; see Decoder.Decode.
func Decode(ctx context.Context, r io.ReaderAt, size int64, opts Options, fn func(*winevent.Record) error) (Stats, error) {
	return NewDecoder(opts).Decode(ctx, r, size, fn)
}

// DecodeFile decodes the EVTX file at path; see Decode. Errors name the path.
func (dc *Decoder) DecodeFile(ctx context.Context, path string, fn func(*winevent.Record) error) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("evtx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Stats{}, fmt.Errorf("evtx: %w", err)
	}
	stats, err := dc.Decode(ctx, f, st.Size(), fn)
	if err != nil {
		return stats, fmt.Errorf("%s: %w", path, err)
	}
	return stats, nil
}

// Decode reads the EVTX data of the given size from r and calls fn for every
// event record, in file order, from one goroutine at a time. The record
// passed to fn, and its field slices, are reused once fn returns: callers
// that keep it must convert or copy it first. An error from fn stops
// decoding and is returned.
//
// Corrupt chunks and records go to Options.OnError as *CorruptError and are
// skipped; they do not end decoding. Decode returns an error wrapping
// ErrNotEVTX when the data does not start with the EVTX file signature, a
// *CorruptError wrapping ErrTruncated when the file header is cut short,
// the context's error when it is cancelled, and read errors from r.
func (dc *Decoder) Decode(ctx context.Context, r io.ReaderAt, size int64, fn func(*winevent.Record) error) (Stats, error) {
	var stats Stats
	hdr := make([]byte, fileHeaderSize)
	n, err := r.ReadAt(hdr[:min(int64(fileHeaderSize), max(size, 0))], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return stats, fmt.Errorf("evtx: reading file header: %w", err)
	}
	stats.Bytes = int64(n)
	if n < len(fileSignature) || !bytes.Equal(hdr[:len(fileSignature)], fileSignature) {
		return stats, ErrNotEVTX
	}
	if n < fileHeaderSize {
		return stats, &CorruptError{Offset: int64(n), Chunk: -1, Err: fmt.Errorf("%w: file header of %d bytes", ErrTruncated, n)}
	}
	d := delivery{opts: dc.opts, fn: fn, stats: &stats}
	if sum, want := crc32.ChecksumIEEE(hdr[:120]), binary.LittleEndian.Uint32(hdr[124:]); sum != want {
		// The chunks describe themselves, so a bad file header costs nothing
		// but the report.
		d.report(&CorruptError{Offset: 124, Chunk: -1, Err: fmt.Errorf("%w: file header crc32 %#08x, stored %#08x", ErrChecksum, sum, want)})
	}
	chunks := int((size - fileHeaderSize + chunkSize - 1) / chunkSize)
	workers := min(dc.opts.Workers, max(chunks, 1))
	for len(dc.decs) < workers {
		dc.decs = append(dc.decs, newDecoder())
	}
	for len(dc.results) < 2*workers {
		dc.results = append(dc.results, &chunkResult{})
	}
	if workers == 1 {
		err = decodeSerial(ctx, r, size, chunks, dc.decs[0], dc.results[0], &d)
	} else {
		err = decodeParallel(ctx, r, size, chunks, dc.decs[:workers], dc.results[:2*workers], &d)
	}
	return stats, err
}

// delivery hands decoded chunks to the caller and keeps the counts.
type delivery struct {
	opts  Options
	fn    func(*winevent.Record) error
	stats *Stats
}

func (d *delivery) report(err error) {
	d.stats.Corrupt++
	if d.opts.OnError != nil {
		d.opts.OnError(err)
	}
}

func (d *delivery) deliver(res *chunkResult) error {
	if res.ioErr != nil {
		return res.ioErr
	}
	d.stats.Bytes += res.bytes
	if res.valid {
		d.stats.Chunks++
		d.stats.Declared += res.declared
	}
	e := 0
	for i := range res.records {
		for ; e < len(res.errs) && res.errs[e].at <= i; e++ {
			d.report(res.errs[e].err)
		}
		d.stats.Records++
		if err := d.fn(&res.records[i]); err != nil {
			return err
		}
	}
	for ; e < len(res.errs); e++ {
		d.report(res.errs[e].err)
	}
	return nil
}

// readChunk reads chunk i into the decoder's buffer and decodes it.
func readChunk(r io.ReaderAt, size int64, i int, dec *decoder, res *chunkResult) {
	res.reset(i)
	off := int64(fileHeaderSize) + int64(i)*chunkSize
	n := int(min(chunkSize, size-off))
	got, err := r.ReadAt(dec.buf[:n], off)
	if err != nil && !(errors.Is(err, io.EOF) && got == n) {
		res.ioErr = fmt.Errorf("evtx: reading chunk %d at offset %d: %w", i, off, err)
		return
	}
	res.bytes = int64(n)
	dec.chunk = dec.buf[:n]
	dec.decodeChunk(i, off, res)
}

func decodeSerial(ctx context.Context, r io.ReaderAt, size int64, chunks int, dec *decoder, res *chunkResult, d *delivery) error {
	for i := range chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		readChunk(r, size, i, dec, res)
		if err := d.deliver(res); err != nil {
			return err
		}
	}
	return nil
}

type job struct {
	index int
	res   *chunkResult
	done  chan struct{}
}

// decodeParallel decodes chunks on several workers. A dispatcher hands out
// chunk indices and queues each job in file order; the caller's goroutine
// waits for the jobs in that order, so delivery order does not depend on
// which worker finishes first. A fixed pool of results bounds memory.
func decodeParallel(ctx context.Context, r io.ReaderAt, size int64, chunks int, decs []*decoder, results []*chunkResult, d *delivery) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan *chunkResult, len(results))
	for _, res := range results {
		free <- res
	}
	jobs := make(chan *job)
	order := make(chan *job, len(results))
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(jobs)
		defer close(order)
		for i := range chunks {
			var res *chunkResult
			select {
			case res = <-free:
			case <-ctx.Done():
				return
			}
			j := &job{index: i, res: res, done: make(chan struct{})}
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	})
	for _, dec := range decs {
		wg.Go(func() {
			for j := range jobs {
				readChunk(r, size, j.index, dec, j.res)
				close(j.done)
			}
		})
	}
	var err error
	delivered := 0
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
		}
		if err = ctx.Err(); err != nil {
			break
		}
		if err = d.deliver(j.res); err != nil {
			break
		}
		delivered++
		free <- j.res
	}
	if err == nil && delivered < chunks {
		// The dispatcher stopped early: the context was cancelled while
		// the last queued chunk was being delivered.
		err = ctx.Err()
	}
	cancel()
	// Drain so the dispatcher is never stuck sending to order.
	for range order {
	}
	wg.Wait()
	return err
}
