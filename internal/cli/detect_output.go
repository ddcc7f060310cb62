package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigilsoc/vigil/internal/detect"
	"github.com/vigilsoc/vigil/internal/event"
)

// detectionWriter writes detections in one output format.
type detectionWriter interface {
	Write(d *detect.Detection) error
	Close() error
}

func newDetectionWriter(format string, w io.Writer, colour bool, width int) (detectionWriter, error) {
	switch format {
	case "jsonl", "json":
		return &jsonlWriter{w: bufio.NewWriterSize(w, 64<<10)}, nil
	case "csv":
		cw := csv.NewWriter(w)
		err := cw.Write([]string{"time", "level", "rule_id", "rule_title", "host", "source", "matched", "event"})
		return &csvWriter{w: cw}, err
	case "table":
		return &tableWriter{w: bufio.NewWriter(w), colour: colour, width: width}, nil
	}
	return nil, fmt.Errorf("%w: unknown format %q (want jsonl, table or csv)", errUsage, format)
}

// jsonDetection is the --format jsonl record; its field names are a contract.
type jsonDetection struct {
	RuleID    string          `json:"rule_id"`
	RuleTitle string          `json:"rule_title"`
	Level     string          `json:"level"`
	Kind      string          `json:"kind"`
	Tags      []string        `json:"tags,omitempty"`
	Source    string          `json:"source"`
	Time      string          `json:"time,omitempty"`
	Host      string          `json:"host,omitempty"`
	Logsource event.Logsource `json:"logsource"`
	Matched   []string        `json:"matched,omitempty"`
	Event     json.RawMessage `json:"event"`
	Group     json.RawMessage `json:"group,omitempty"`
	Count     int             `json:"count,omitempty"`
	Value     float64         `json:"value,omitempty"`
}

type jsonlWriter struct{ w *bufio.Writer }

func (j *jsonlWriter) Write(d *detect.Detection) error {
	rec := jsonDetection{
		RuleID: d.RuleID, RuleTitle: d.RuleTitle, Level: d.Level.String(), Kind: string(d.Kind),
		Tags: d.Tags, Matched: d.Matched, Count: d.Count, Value: d.Value,
		Event: json.RawMessage("{}"),
	}
	if t := d.Time(); !t.IsZero() {
		rec.Time = t.UTC().Format(time.RFC3339Nano)
	}
	if d.Event != nil {
		rec.Source, rec.Host, rec.Logsource = d.Event.Source, d.Event.Host, d.Event.Logsource
		rec.Event = event.MarshalFields(d.Event.Fields)
	}
	if len(d.Group) > 0 {
		rec.Group = event.MarshalFields(d.Group)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = j.w.Write(b)
	return err
}

func (j *jsonlWriter) Close() error { return j.w.Flush() }

type csvWriter struct{ w *csv.Writer }

func (c *csvWriter) Write(d *detect.Detection) error {
	var host, source, ev string
	if d.Event != nil {
		host, source = d.Event.Host, d.Event.Source
		ev = string(event.MarshalFields(d.Event.Fields))
	}
	t := ""
	if tt := d.Time(); !tt.IsZero() {
		t = tt.UTC().Format(time.RFC3339Nano)
	}
	return c.w.Write([]string{t, d.Level.String(), d.RuleID, d.RuleTitle, host, source, strings.Join(d.Matched, ";"), ev})
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// tableWriter prints one aligned line per detection for people: time, level,
// rule, host, and the most telling fields of the event, cut to the terminal.
type tableWriter struct {
	w      *bufio.Writer
	colour bool
	width  int
	header bool
}

// The columns' widths; the last column takes what is left of the line.
const (
	colTime  = 20
	colLevel = 8
	colRule  = 44
	colHost  = 18
)

// keyFields are shown in the last column, in this order, when present.
var keyFields = []string{"CommandLine", "Image", "TargetFilename", "QueryName", "DestinationHostname", "DestinationIp", "TargetObject", "ScriptBlockText", "ImageLoaded", "ServiceName", "TargetUserName"}

func (t *tableWriter) Write(d *detect.Detection) error {
	if !t.header {
		t.header = true
		fmt.Fprintf(t.w, "%-*s %-*s %-*s %-*s %s\n", colTime, "TIME", colLevel, "LEVEL", colRule, "RULE", colHost, "HOST", "DETAILS")
	}
	ts := ""
	if tt := d.Time(); !tt.IsZero() {
		ts = tt.UTC().Format("2006-01-02 15:04:05")
	}
	var host, details string
	if d.Event != nil {
		host = d.Event.Host
		details = summarise(d.Event, d.Matched)
		if d.Event.Source != "" {
			details += "  [" + filepath.Base(d.Event.Source) + "]"
		}
	}
	if d.Kind == detect.KindCorrelation {
		details = fmt.Sprintf("correlation: count=%d %s", d.Count, string(event.MarshalFields(d.Group)))
	}
	level := fmt.Sprintf("%-*s", colLevel, cut(d.Level.String(), colLevel))
	if t.colour {
		level = levelColour(d.Level) + level + "\x1b[0m"
	}
	line := fmt.Sprintf("%-*s %s %-*s %-*s ", colTime, ts, level, colRule, cut(d.RuleTitle, colRule), colHost, cut(host, colHost))
	rest := 1 << 20
	if t.width > 0 {
		rest = t.width - (colTime + colLevel + colRule + colHost + 4)
		if rest < 20 {
			rest = 20
		}
	}
	_, err := fmt.Fprintf(t.w, "%s%s\n", line, cut(details, rest))
	return err
}

func (t *tableWriter) Close() error { return t.w.Flush() }

// summarise picks the fields worth showing: the matched ones first, then the
// usual suspects.
func summarise(ev *event.Event, matched []string) string {
	var parts []string
	seen := map[string]bool{}
	add := func(name string) {
		if seen[name] || len(parts) >= 3 {
			return
		}
		if v, ok := ev.Get(name); ok && v.Text() != "" {
			seen[name] = true
			parts = append(parts, name+"="+strings.Join(strings.Fields(v.Text()), " "))
		}
	}
	for _, m := range matched {
		add(m)
	}
	for _, k := range keyFields {
		add(k)
	}
	return strings.Join(parts, "  ")
}

// cut shortens s to n runes, marking the cut with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func levelColour(l detect.Level) string {
	switch l {
	case detect.LevelCritical:
		return "\x1b[1;35m"
	case detect.LevelHigh:
		return "\x1b[1;31m"
	case detect.LevelMedium:
		return "\x1b[33m"
	case detect.LevelLow:
		return "\x1b[36m"
	}
	return "\x1b[2m"
}
