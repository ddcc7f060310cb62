// Package auditd decodes raw Linux audit logs (audit.log, or audisp/syslog
// lines carrying the same records) into normalised events with logsource
// {product: linux, service: auditd} and the field names SigmaHQ's auditd
// rules use: the records' own keys (type, SYSCALL, exe, comm, key, a0..aN,
// name, nametype, ...), hex-encoded values decoded.
//
// The records of one audit event (SYSCALL, EXECVE, CWD, PATH, PROCTITLE,
// ..., sharing the msg=audit(time:serial) stamp) become one event: "type"
// lists the record types, and a key that appears in several records with
// different values (PATH's name, nametype) becomes a list. Rules match a
// list when any item matches, so `type: EXECVE` and `a0: curl` and
// `type: SYSCALL` and `exe|endswith: /curl` all see the same event.
//
// It depends on the event model and the mapping tables only.
package auditd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/fieldmap"
)

// Defaults for Config's zero values.
const (
	DefaultMaxLineBytes = 1 << 20
	// DefaultMaxOpenEvents bounds how many events wait for more records.
	// The kernel writes an event's records together and ends multi-record
	// events with EOE, so a small window is enough to regroup records that
	// interleave, and it bounds memory on a log that never ends events.
	DefaultMaxOpenEvents = 16
)

// Errors a line can fail with (inside a *LineError).
var (
	ErrNoMappings  = errors.New("auditd: no field mappings")
	ErrLineTooLong = errors.New("line longer than the limit")
	ErrNoHeader    = errors.New("no msg=audit(TIME:SERIAL) stamp")
	ErrBadHeader   = errors.New("malformed msg=audit(TIME:SERIAL) stamp")
	ErrNoType      = errors.New("no type= before the stamp")
)

// LineError is a line that could not be decoded.
type LineError struct {
	Line int // 1-based
	Err  error
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }

func (e *LineError) Unwrap() error { return e.Err }

// Config configures a Decoder.
type Config struct {
	// Mappings supply the encoded-key list, syscall names and logsource;
	// required.
	Mappings *fieldmap.Mappings
	// MaxLineBytes is the longest accepted line; 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// MaxOpenEvents is how many incomplete events are held while records
	// of other events arrive; 0 means DefaultMaxOpenEvents.
	MaxOpenEvents int
}

// Decoder decodes audit logs. It holds no per-call state and is safe for
// concurrent use.
type Decoder struct {
	maps    *fieldmap.Mappings
	maxLine int
	maxOpen int
}

// NewDecoder returns a Decoder, or ErrNoMappings.
func NewDecoder(cfg Config) (*Decoder, error) {
	if cfg.Mappings == nil {
		return nil, ErrNoMappings
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	if cfg.MaxOpenEvents <= 0 {
		cfg.MaxOpenEvents = DefaultMaxOpenEvents
	}
	return &Decoder{maps: cfg.Mappings, maxLine: cfg.MaxLineBytes, maxOpen: cfg.MaxOpenEvents}, nil
}

// Record is one audit record (one line).
type Record struct {
	Node   string // node= prefix, when the log names its host
	Type   string // SYSCALL, EXECVE, PATH, ...
	Time   time.Time
	Serial uint64
	// Fields are the record's key=value pairs in order, values unquoted
	// but not yet hex-decoded; the keys of an enriched log's trailing
	// section (after 0x1d: ARCH, SYSCALL, AUID, ...) follow.
	Fields []event.Field
	// quoted says, per field, whether the value was quoted: only bare
	// values are ever hex-encoded.
	quoted []bool
}

// Quoted reports whether field i's value was quoted in the log.
func (r *Record) Quoted(i int) bool { return i < len(r.quoted) && r.quoted[i] }

// Stats counts what Decode read.
type Stats struct {
	Lines   int   // lines read, blank ones included
	Records int   // records parsed
	Events  int   // events handed to fn
	Errors  int   // lines rejected
	Bytes   int64 // bytes of the lines read (after gunzip), newlines and over-long lines not counted
}

// Decode reads an audit log, grouping records into events, calling fn for
// each event and onErr (when not nil) for each bad line. Gzip input is
// recognised by its magic bytes. It stops at the first error from fn or
// from reading r, or when ctx is done.
func (d *Decoder) Decode(ctx context.Context, r io.Reader, fn func(ev *event.Event) error, onErr func(*LineError)) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("auditd: gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	g := grouper{d: d}
	emit := func(ev *event.Event) error {
		st.Events++
		return fn(ev)
	}
	var long []byte
	for {
		if st.Lines&255 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		line, tooLong, err := readLine(br, &long, d.maxLine)
		if len(line) > 0 || tooLong || err == nil {
			st.Lines++
			st.Bytes += int64(len(line))
			var lerr error
			switch {
			case tooLong:
				lerr = fmt.Errorf("%w (%d bytes)", ErrLineTooLong, d.maxLine)
			case len(bytes.TrimSpace(line)) == 0:
			default:
				rec, perr := ParseRecord(line)
				if perr != nil {
					lerr = perr
					break
				}
				st.Records++
				if ferr := g.add(rec, emit); ferr != nil {
					return st, ferr
				}
			}
			if lerr != nil {
				st.Errors++
				if onErr != nil {
					onErr(&LineError{Line: st.Lines, Err: lerr})
				}
			}
		}
		if err == io.EOF {
			return st, g.flushAll(emit)
		}
		if err != nil {
			if ferr := g.flushAll(emit); ferr != nil {
				return st, ferr
			}
			return st, fmt.Errorf("auditd: reading line %d: %w", st.Lines+1, err)
		}
	}
}

func readLine(br *bufio.Reader, long *[]byte, max int) (line []byte, tooLong bool, err error) {
	*long = (*long)[:0]
	size := 0
	for {
		chunk, err := br.ReadSlice('\n')
		size += len(chunk)
		if err == bufio.ErrBufferFull {
			if size <= max {
				*long = append(*long, chunk...)
			}
			continue
		}
		if bytes.HasSuffix(chunk, []byte("\n")) {
			size--
		}
		if size > max {
			return nil, true, err
		}
		if len(*long) > 0 {
			*long = append(*long, chunk...)
			chunk = *long
		}
		return bytes.TrimSuffix(chunk, []byte("\n")), false, err
	}
}

// ParseRecord parses one audit log line: an optional syslog or audisp
// prefix, then "[node=N ]type=T msg=audit(SEC.MSEC:SERIAL): key=value ...".
// The returned record shares no memory with line (its strings are slices
// of one copy of it).
func ParseRecord(line []byte) (Record, error) {
	s := strings.TrimRight(string(line), "\r\n ")
	var rec Record
	h := strings.Index(s, "msg=audit(")
	if h < 0 {
		return rec, ErrNoHeader
	}
	// The keys before the stamp: node= and type=.
	for _, kv := range fieldsBefore(s[:h]) {
		switch kv[0] {
		case "node":
			rec.Node = kv[1]
		case "type":
			rec.Type = kv[1]
		}
	}
	if rec.Type == "" {
		return rec, ErrNoType
	}
	rest := s[h+len("msg=audit("):]
	end := strings.Index(rest, ")")
	if end < 0 {
		return rec, ErrBadHeader
	}
	stamp := rest[:end]
	ts, serial, ok := strings.Cut(stamp, ":")
	if !ok {
		return rec, fmt.Errorf("%w: %q", ErrBadHeader, stamp)
	}
	n, err := strconv.ParseUint(serial, 10, 64)
	if err != nil {
		return rec, fmt.Errorf("%w: serial %q", ErrBadHeader, serial)
	}
	rec.Serial = n
	sec, frac, _ := strings.Cut(ts, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || secs < 0 {
		return rec, fmt.Errorf("%w: time %q", ErrBadHeader, ts)
	}
	var nanos int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || f < 0 {
			return rec, fmt.Errorf("%w: time %q", ErrBadHeader, ts)
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		nanos = f
	}
	rec.Time = time.Unix(secs, nanos).UTC()
	body := strings.TrimPrefix(rest[end+1:], ":")
	// Enriched logs append interpreted values after a 0x1d separator.
	body, enriched, _ := strings.Cut(body, "\x1d")
	parsePairs(body, &rec)
	parsePairs(enriched, &rec)
	return rec, nil
}

// fieldsBefore reads the key=value words before the stamp, ignoring a
// syslog prefix ("Mar 29 10:00:00 host audispd:") that has none.
func fieldsBefore(s string) [][2]string {
	var out [][2]string
	for _, w := range strings.Fields(s) {
		if k, v, ok := strings.Cut(w, "="); ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// parsePairs reads key=value pairs: values are "double quoted", 'single
// quoted' (USER_* records nest their own pairs in msg='...', read in turn),
// or bare words.
func parsePairs(s string, rec *Record) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return
		}
		eq := strings.IndexByte(s, '=')
		sp := strings.IndexAny(s, " \t")
		if eq < 0 || (sp >= 0 && sp < eq) {
			// A word without a value (some records carry free text):
			// skip it.
			if sp < 0 {
				return
			}
			s = s[sp:]
			continue
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		quoted := false
		switch {
		case strings.HasPrefix(s, `"`):
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				val, s = s[1:], ""
			} else {
				val, s = s[1:1+end], s[2+end:]
			}
			quoted = true
		case strings.HasPrefix(s, `'`):
			end := strings.IndexByte(s[1:], '\'')
			var inner string
			if end < 0 {
				inner, s = s[1:], ""
			} else {
				inner, s = s[1:1+end], s[2+end:]
			}
			if key == "msg" && strings.Contains(inner, "=") {
				parsePairs(inner, rec)
				continue
			}
			val, quoted = inner, true
		default:
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				val, s = s, ""
			} else {
				val, s = s[:end], s[end:]
			}
		}
		if key == "" {
			continue
		}
		rec.Fields = append(rec.Fields, event.Field{Name: key, Value: event.S(val)})
		rec.quoted = append(rec.quoted, quoted)
	}
}
