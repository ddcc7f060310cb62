package auditd

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/vigilsoc/vigil/internal/event"
)

// eventKey identifies one audit event: the serial alone repeats across
// reboots and hosts.
type eventKey struct {
	node   string
	serial uint64
	nanos  int64
}

type openEvent struct {
	key     eventKey
	records []Record
}

// grouper collects records into events over a small window.
type grouper struct {
	d    *Decoder
	open []*openEvent // oldest first
}

func (g *grouper) add(rec Record, emit func(*event.Event) error) error {
	k := eventKey{rec.Node, rec.Serial, rec.Time.UnixNano()}
	var cur *openEvent
	for _, o := range g.open {
		if o.key == k {
			cur = o
			break
		}
	}
	if cur == nil {
		cur = &openEvent{key: k}
		g.open = append(g.open, cur)
	}
	if rec.Type != "EOE" {
		cur.records = append(cur.records, rec)
	}
	if rec.Type == "EOE" {
		return g.flush(cur, emit)
	}
	for len(g.open) > g.d.maxOpen {
		if err := g.flush(g.open[0], emit); err != nil {
			return err
		}
	}
	return nil
}

func (g *grouper) flush(o *openEvent, emit func(*event.Event) error) error {
	for i, x := range g.open {
		if x == o {
			g.open = append(g.open[:i], g.open[i+1:]...)
			break
		}
	}
	if len(o.records) == 0 {
		return nil
	}
	return emit(g.d.build(o.records))
}

func (g *grouper) flushAll(emit func(*event.Event) error) error {
	for len(g.open) > 0 {
		if err := g.flush(g.open[0], emit); err != nil {
			return err
		}
	}
	return nil
}

var (
	execveArg      = regexp.MustCompile(`^a[0-9]+$`)
	execveArgPiece = regexp.MustCompile(`^(a[0-9]+)\[([0-9]+)\]$`)
	execveArgLen   = regexp.MustCompile(`^a[0-9]+_len$`)
)

// build turns the records of one event into a normalised event.
func (d *Decoder) build(records []Record) *event.Event {
	ev := &event.Event{
		Time:      records[0].Time,
		Host:      records[0].Node,
		Logsource: d.maps.AuditdLogsource(),
	}
	hasExecve := false
	var types []event.Value
	for _, r := range records {
		if r.Type == "EXECVE" {
			hasExecve = true
		}
		if !containsText(types, r.Type) {
			types = append(types, event.S(r.Type))
		}
	}
	if len(types) == 1 {
		ev.Fields = append(ev.Fields, event.Field{Name: "type", Value: types[0]})
	} else {
		ev.Fields = append(ev.Fields, event.Field{Name: "type", Value: event.L(types...)})
	}
	if ev.Host != "" {
		ev.Fields = append(ev.Fields, event.Field{Name: "node", Value: event.S(ev.Host)})
	}
	ev.Fields = append(ev.Fields, event.Field{Name: "serial", Value: event.S(strconv.FormatUint(records[0].Serial, 10))})

	for _, r := range records {
		// Long EXECVE arguments come in pieces (a1_len=N a1[0]=.. a1[1]=..).
		pieces := map[string]*strings.Builder{}
		var pieceOrder []string
		for i, f := range r.Fields {
			name, val := f.Name, f.Value.Str
			quoted := r.Quoted(i)
			switch {
			case r.Type == "EXECVE" && execveArgLen.MatchString(name):
				continue
			case r.Type == "EXECVE" && execveArgPiece.MatchString(name):
				m := execveArgPiece.FindStringSubmatch(name)
				b, ok := pieces[m[1]]
				if !ok {
					b = &strings.Builder{}
					pieces[m[1]] = b
					pieceOrder = append(pieceOrder, m[1])
				}
				b.WriteString(d.decode(val, quoted, true))
				continue
			case r.Type == "EXECVE" && execveArg.MatchString(name):
				val = d.decode(val, quoted, true)
			case r.Type == "SYSCALL" && hasExecve && execveArg.MatchString(name):
				// Register values; EXECVE's a0.. are the arguments rules
				// mean.
				continue
			case d.maps.AuditdEncoded(name):
				val = d.decode(val, quoted, false)
				if name == "proctitle" {
					val = strings.TrimRight(strings.ReplaceAll(val, "\x00", " "), " ")
				}
			}
			merge(ev, name, val)
		}
		for _, name := range pieceOrder {
			merge(ev, name, pieces[name].String())
		}
	}
	d.addSyscallName(ev)
	return ev
}

// decode undoes auditd's hex encoding of a bare value. Only untrusted-string
// keys are encoded, and a bare value there is always hex (or "(null)").
func (d *Decoder) decode(val string, quoted, arg bool) string {
	if quoted || val == "" || len(val)%2 != 0 || val == "(null)" {
		return val
	}
	b := make([]byte, len(val)/2)
	for i := 0; i < len(b); i++ {
		hi, ok1 := unhex(val[2*i])
		lo, ok2 := unhex(val[2*i+1])
		if !ok1 || !ok2 {
			return val
		}
		b[i] = hi<<4 | lo
	}
	if !arg {
		// key can hold several keys separated by 0x01; keep the text.
		return strings.ReplaceAll(string(b), "\x01", ",")
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// merge adds a field, or turns an existing field into a list when the new
// value differs from those it holds.
func merge(ev *event.Event, name, val string) {
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if f.Name != name {
			continue
		}
		if f.Value.Kind == event.List {
			if !containsText(f.Value.Items, val) {
				f.Value.Items = append(f.Value.Items, event.S(val))
			}
			return
		}
		if f.Value.Str != val {
			f.Value = event.L(f.Value, event.S(val))
		}
		return
	}
	ev.Fields = append(ev.Fields, event.Field{Name: name, Value: event.S(val)})
}

func containsText(vs []event.Value, s string) bool {
	for _, v := range vs {
		if v.Str == s {
			return true
		}
	}
	return false
}

// addSyscallName adds SYSCALL (the name rules match) from arch and syscall
// when the log is not enriched.
func (d *Decoder) addSyscallName(ev *event.Event) {
	if _, ok := ev.Get("SYSCALL"); ok {
		return
	}
	arch, ok1 := ev.Get("arch")
	nr, ok2 := ev.Get("syscall")
	if !ok1 || !ok2 || arch.Kind != event.String || nr.Kind != event.String {
		return
	}
	n, err := strconv.Atoi(nr.Str)
	if err != nil {
		return
	}
	if name, ok := d.maps.SyscallName(arch.Str, n); ok {
		ev.Fields = append(ev.Fields, event.Field{Name: "SYSCALL", Value: event.S(name)})
	}
}
