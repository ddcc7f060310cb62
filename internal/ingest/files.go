// Package ingest reads event files of any supported format into normalised
// events: it recognises the format from the content (not the name), and hands
// the file to the format's decoder (internal/evtx, internal/ingest/jsonl,
// internal/ingest/auditd), normalising Windows records on the way.
//
// Decoders report bad records and lines through OnError and go on; only an
// unreadable file is an error of ReadFile.
package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/evtx"
	"github.com/vigilsoc/vigil/internal/fieldmap"
	"github.com/vigilsoc/vigil/internal/ingest/auditd"
	"github.com/vigilsoc/vigil/internal/ingest/jsonl"
	"github.com/vigilsoc/vigil/internal/ingest/winevent"
)

// Format is an input file format.
type Format string

// The formats ReadFile understands.
const (
	FormatEVTX   Format = "evtx"
	FormatJSONL  Format = "jsonl"
	FormatAuditd Format = "auditd"
)

// ErrUnknownFormat is returned for a file whose content is none of the formats.
var ErrUnknownFormat = errors.New("unrecognised file format (want EVTX, JSON lines or Linux audit log)")

// Sniff tells the format from a file's first bytes (after gzip decompression
// for the text formats).
func Sniff(head []byte) (Format, error) {
	if bytes.HasPrefix(head, []byte("ElfFile\x00")) {
		return FormatEVTX, nil
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	switch {
	case len(trimmed) == 0:
		return FormatJSONL, nil // empty file: nothing to read, not an error
	case trimmed[0] == '{':
		return FormatJSONL, nil
	case bytes.HasPrefix(trimmed, []byte("type=")) || bytes.HasPrefix(trimmed, []byte("node=")):
		return FormatAuditd, nil
	}
	return "", ErrUnknownFormat
}

// Config configures a Reader.
type Config struct {
	// Mappings are the logsource and field tables; nil loads the embedded ones.
	Mappings *fieldmap.Mappings
	// EVTXWorkers decode an EVTX file's chunks in parallel; 0 means GOMAXPROCS.
	EVTXWorkers int
	// OnError receives per-record and per-line errors (corrupt EVTX chunks,
	// bad JSON lines), already naming the file. Nil ignores them; they are
	// counted either way.
	OnError func(error)
}

// Reader reads event files. It is safe for concurrent use.
type Reader struct {
	cfg    Config
	norm   *winevent.Normalizer
	jsonl  *jsonl.Decoder
	auditd *auditd.Decoder
	// evtxDecoders keeps EVTX decoders (their buffers and name caches) for
	// reuse across files; a decoder serves one file at a time.
	evtxDecoders sync.Pool
}

// New returns a Reader.
func New(cfg Config) (*Reader, error) {
	if cfg.Mappings == nil {
		m, err := fieldmap.New(fieldmap.Config{})
		if err != nil {
			return nil, fmt.Errorf("loading field mappings: %w", err)
		}
		cfg.Mappings = m
	}
	norm, err := winevent.NewNormalizer(winevent.NormalizerConfig{Mappings: cfg.Mappings})
	if err != nil {
		return nil, err
	}
	jd, err := jsonl.NewDecoder(jsonl.Config{Mappings: cfg.Mappings})
	if err != nil {
		return nil, err
	}
	ad, err := auditd.NewDecoder(auditd.Config{Mappings: cfg.Mappings})
	if err != nil {
		return nil, err
	}
	r := &Reader{cfg: cfg, norm: norm, jsonl: jd, auditd: ad}
	r.evtxDecoders.New = func() any {
		pd := &pooledDecoder{}
		pd.dec = evtx.NewDecoder(evtx.Options{Workers: cfg.EVTXWorkers, OnError: func(e error) { pd.onErr(e) }})
		return pd
	}
	return r, nil
}

// pooledDecoder is an EVTX decoder whose error callback is set per file.
type pooledDecoder struct {
	dec   *evtx.Decoder
	onErr func(error)
}

// FileStats says what was read from one file.
type FileStats struct {
	Path   string
	Format Format
	Events int
	// Bytes is the file's size on disk.
	Bytes int64
	// Errors counts bad records or lines that were skipped.
	Errors int
}

// ReadFile decodes the file at path and calls fn for each event, with Source
// set to path. fn runs on one goroutine at a time; the event is the caller's
// to keep. An error from fn stops reading and is returned.
func (r *Reader) ReadFile(ctx context.Context, path string, fn func(*event.Event) error) (FileStats, error) {
	st := FileStats{Path: path}
	f, err := os.Open(path)
	if err != nil {
		return st, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return st, err
	}
	st.Bytes = info.Size()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return st, err
	}
	head = head[:n]
	onErr := func(e error) {
		st.Errors++
		if r.cfg.OnError != nil {
			r.cfg.OnError(fmt.Errorf("%s: %w", path, e))
		}
	}

	if bytes.HasPrefix(head, []byte("ElfFile\x00")) {
		st.Format = FormatEVTX
		pd := r.evtxDecoders.Get().(*pooledDecoder)
		defer r.evtxDecoders.Put(pd)
		pd.onErr = onErr
		_, err := pd.dec.Decode(ctx, f, st.Bytes,
			func(rec *winevent.Record) error {
				ev := r.norm.Normalize(rec)
				ev.Source = path
				st.Events++
				return fn(ev)
			})
		return st, err
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return st, err
	}
	var text io.Reader = bufio.NewReaderSize(f, 256<<10)
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(text)
		if err != nil {
			return st, fmt.Errorf("gzip: %w", err)
		}
		defer gz.Close()
		br := bufio.NewReaderSize(gz, 256<<10)
		head, _ = br.Peek(512)
		text = br
	}
	st.Format, err = Sniff(head)
	if err != nil {
		return st, err
	}
	emit := func(ev *event.Event) error {
		ev.Source = path
		st.Events++
		return fn(ev)
	}
	switch st.Format {
	case FormatAuditd:
		_, err = r.auditd.Decode(ctx, text, emit, func(le *auditd.LineError) { onErr(le) })
	default:
		_, err = r.jsonl.Decode(ctx, text, emit, func(le *jsonl.LineError) { onErr(le) })
	}
	return st, err
}

// Input is a file to read.
type Input struct {
	Path string
	// Found is true for a file found inside a named directory, false for a
	// file named directly. A found file in no known format is skipped with
	// a notice; a named one is an error.
	Found bool
}

// ExpandPaths turns files and directories into the list of files to read, in
// a stable order. Inside directories only files whose names look like event
// logs are taken (.evtx, .json, .jsonl, .ndjson, .log, and these with .gz);
// a file named directly is always taken. Paths that cannot be read are
// returned as errors beside the files that can.
func ExpandPaths(paths []string) ([]Input, []error) {
	var files []Input
	var errs []error
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !info.IsDir() {
			files = append(files, Input{Path: p})
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			if !d.IsDir() && looksLikeLog(d.Name()) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
		sort.Strings(found)
		for _, f := range found {
			files = append(files, Input{Path: f, Found: true})
		}
	}
	return files, errs
}

func looksLikeLog(name string) bool {
	name = strings.ToLower(strings.TrimSuffix(strings.ToLower(name), ".gz"))
	for _, ext := range []string{".evtx", ".json", ".jsonl", ".ndjson", ".log"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return strings.HasPrefix(filepath.Base(name), "audit.log")
}
