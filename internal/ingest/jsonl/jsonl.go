// Package jsonl decodes newline-delimited JSON events (NDJSON, optionally
// gzip-compressed) into normalised events. Each line may be any of:
//
//   - a normalised event: {"time","host","logsource":{..},"fields":{..}};
//   - a Windows event: {"Event":{"System":{..},"EventData":{..}}} in any of
//     the shapes winevent.ParseJSON reads;
//   - an ECS document (Winlogbeat, Elastic Agent, Auditbeat): "@timestamp"
//     and ECS objects such as "winlog", "event", "process", "host";
//   - a flat event keyed by Sigma field names ({"Image":..,"CommandLine":..}),
//     nested objects flattened with dots.
//
// A bad line is reported with its number and decoding goes on: one
// malformed event must not cost the rest of the batch.
//
// It depends on the event model, the mapping tables and winevent only.
package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/fieldmap"
	"github.com/vigilsoc/vigil/internal/ingest/winevent"
)

// DefaultMaxLineBytes bounds one line when Config leaves it zero: large
// enough for a PowerShell script-block event, small enough that one corrupt
// line without newlines cannot take the process's memory.
const DefaultMaxLineBytes = 1 << 20

// Errors a line can fail with (inside a *LineError).
var (
	ErrNoMappings  = errors.New("jsonl: no field mappings")
	ErrLineTooLong = errors.New("line longer than the limit")
	ErrNotObject   = errors.New("not a JSON object")
	ErrEmptyLine   = errors.New("empty line")
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
	// Mappings route Windows and ECS events; required.
	Mappings *fieldmap.Mappings
	// MaxLineBytes is the longest accepted line; 0 means DefaultMaxLineBytes.
	MaxLineBytes int
}

// Decoder decodes lines. It holds no per-call state and is safe for
// concurrent use.
type Decoder struct {
	maps    *fieldmap.Mappings
	win     *winevent.Normalizer
	maxLine int
}

// NewDecoder returns a Decoder, or ErrNoMappings.
func NewDecoder(cfg Config) (*Decoder, error) {
	if cfg.Mappings == nil {
		return nil, ErrNoMappings
	}
	win, err := winevent.NewNormalizer(winevent.NormalizerConfig{Mappings: cfg.Mappings})
	if err != nil {
		return nil, err
	}
	if cfg.MaxLineBytes <= 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	return &Decoder{maps: cfg.Mappings, win: win, maxLine: cfg.MaxLineBytes}, nil
}

// Stats counts what Decode read.
type Stats struct {
	Lines  int   // lines read, blank ones included
	Events int   // events handed to fn
	Errors int   // lines rejected
	Bytes  int64 // bytes of the lines read (after gunzip), newlines and over-long lines not counted
}

// Decode reads r line by line, calling fn for each event and onErr (when
// not nil) for each bad line; blank lines are skipped. Gzip input is
// recognised by its magic bytes. It stops at the first error from fn or
// from reading r, or when ctx is done, and returns that error with the
// counts so far.
func (d *Decoder) Decode(ctx context.Context, r io.Reader, fn func(ev *event.Event) error, onErr func(*LineError)) (Stats, error) {
	var st Stats
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return st, fmt.Errorf("jsonl: gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	var long []byte // a line spanning several buffer fills
	for {
		if st.Lines&255 == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
		line, tooLong, err := d.readLine(br, &long)
		if len(line) > 0 || tooLong || err == nil {
			st.Lines++
			st.Bytes += int64(len(line))
			if tooLong {
				st.Errors++
				if onErr != nil {
					onErr(&LineError{Line: st.Lines, Err: fmt.Errorf("%w (%d bytes)", ErrLineTooLong, d.maxLine)})
				}
			} else if len(bytes.TrimSpace(line)) > 0 {
				ev, derr := d.DecodeLine(line)
				if derr != nil {
					st.Errors++
					if onErr != nil {
						onErr(&LineError{Line: st.Lines, Err: derr})
					}
				} else {
					st.Events++
					if ferr := fn(ev); ferr != nil {
						return st, ferr
					}
				}
			}
		}
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("jsonl: reading line %d: %w", st.Lines+1, err)
		}
	}
}

// readLine returns the next line without its newline. A line over the limit
// is consumed and reported with tooLong set. err is io.EOF after the last
// line.
func (d *Decoder) readLine(br *bufio.Reader, long *[]byte) (line []byte, tooLong bool, err error) {
	*long = (*long)[:0]
	size := 0
	for {
		chunk, err := br.ReadSlice('\n')
		size += len(chunk)
		if err == bufio.ErrBufferFull {
			// The slice is only valid until the next read: keep a copy,
			// unless the line is already too long to be used.
			if size <= d.maxLine {
				*long = append(*long, chunk...)
			}
			continue
		}
		if bytes.HasSuffix(chunk, []byte("\n")) {
			size--
		}
		if size > d.maxLine {
			return nil, true, err
		}
		if len(*long) > 0 {
			*long = append(*long, chunk...)
			chunk = *long
		}
		return bytes.TrimSuffix(chunk, []byte("\n")), false, err
	}
}

// DecodeLine decodes one line. The event does not share memory with line.
func (d *Decoder) DecodeLine(line []byte) (*event.Event, error) {
	return d.decodeLine(line, true)
}

// decodeLine is DecodeLine; fast false turns the normalised shape's one-pass
// path off, for tests that compare the two.
func (d *Decoder) decodeLine(line []byte, fast bool) (*event.Event, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, ErrEmptyLine
	}
	if line[0] != '{' {
		return nil, ErrNotObject
	}
	// The normalised shape (what Vigil itself and `vigil ingest` send) is
	// decoded in one pass when it is plainly that shape; anything else,
	// and a normalised event whose keys are written with escapes, is
	// classified by flattenLine first.
	if fast && startsNormalised(line) {
		ev, ok, err := event.DecodeNormalised(line)
		if ok {
			if err != nil {
				return nil, fmt.Errorf("normalised event: %w", err)
			}
			return ev, nil
		}
	}
	fields, keys, err := flattenLine(line)
	if err != nil {
		return nil, err
	}
	switch {
	case keys.windows:
		rec, err := winevent.ParseJSON(line)
		if err != nil {
			return nil, fmt.Errorf("windows event: %w", err)
		}
		return d.win.Normalize(rec), nil
	case keys.normalised:
		ev := &event.Event{}
		if err := ev.UnmarshalJSON(line); err != nil {
			return nil, fmt.Errorf("normalised event: %w", err)
		}
		return ev, nil
	}
	ev := &event.Event{Fields: fields}
	if fieldmap.IsECS(ev) {
		d.maps.NormalizeECS(ev)
		setTime(ev, "@timestamp")
		setHost(ev, "host.name", "host.hostname", "winlog.computer_name", "Computer", "agent.hostname")
		return ev, nil
	}
	if _, ok := ev.Get("EventID"); ok {
		_, hasChannel := ev.Get("Channel")
		_, hasProvider := ev.Get("Provider_Name")
		if hasChannel || hasProvider {
			d.maps.NormalizeWindows(ev)
		}
	}
	setTime(ev, "time", "timestamp", "@timestamp", "UtcTime", "TimeCreated", "TimeCreated_SystemTime", "TimeCreated.SystemTime")
	setHost(ev, "host", "hostname", "Computer", "host.name")
	return ev, nil
}

// startsNormalised reports whether the first key of the object in line
// is one of the normalised shape's, so that trying that shape first is not
// wasted on other lines.
func startsNormalised(line []byte) bool {
	rest := bytes.TrimLeft(line[1:], " \t\r\n")
	for _, k := range [...]string{`"id"`, `"time"`, `"host"`, `"logsource"`, `"source"`, `"fields"`} {
		if bytes.HasPrefix(rest, []byte(k)) {
			return true
		}
	}
	return false
}

// lineKeys classifies a line by its top-level keys.
type lineKeys struct {
	windows    bool // "Event" object, or "System" object with EventData/UserData
	normalised bool // "fields" object and only the normalised shape's keys
}

// setTime sets ev.Time from the first of the named fields that parses.
func setTime(ev *event.Event, names ...string) {
	for _, n := range names {
		v, ok := ev.Get(n)
		if !ok {
			continue
		}
		if t, ok := parseTime(v); ok {
			ev.Time = t
			return
		}
	}
}

func parseTime(v event.Value) (time.Time, bool) {
	if t, err := event.ParseTime(v.Str); err == nil {
		return t, true
	}
	// Unix seconds with a fraction, as Zeek and many shippers write them.
	if f, ok := v.Number(); ok && f > 0 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
	}
	return time.Time{}, false
}

func setHost(ev *event.Event, names ...string) {
	for _, n := range names {
		if v, ok := ev.Get(n); ok && v.Kind == event.String && v.Str != "" {
			ev.Host = v.Str
			return
		}
	}
}
