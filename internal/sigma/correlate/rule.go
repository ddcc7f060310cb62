package correlate

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

type kind uint8

const (
	eventCount kind = iota + 1
	valueCount
	temporal
	temporalOrdered
	valueSum
	valueAvg
	valuePercentile
)

func kindOf(t sigma.CorrelationType) (kind, bool) {
	switch t {
	case sigma.EventCount:
		return eventCount, true
	case sigma.ValueCount:
		return valueCount, true
	case sigma.Temporal:
		return temporal, true
	case sigma.TemporalOrdered:
		return temporalOrdered, true
	case sigma.ValueSum:
		return valueSum, true
	case sigma.ValueAvg:
		return valueAvg, true
	case sigma.ValuePercentile:
		return valuePercentile, true
	}
	return 0, false
}

func (k kind) positional() bool { return k == temporal || k == temporalOrdered }

// mode is how and when a correlation's condition is evaluated; see the
// package comment.
type mode uint8

const (
	// sliding: on every event, over the last timespan; lower bounds only.
	sliding mode = iota + 1
	// tumblingArrival: on every event, over a window anchored at the
	// group's first event; value_sum with lower bounds only.
	tumblingArrival
	// tumblingClose: once, when the anchored window closes.
	tumblingClose
)

// rule is a compiled correlation.
type rule struct {
	src   *sigma.Correlation
	index int
	key   string // identity in saved state
	kind  kind
	mode  mode
	span  int64 // nanoseconds
	cmp   []sigma.Compare
	// need is the count at which a sliding condition becomes true; also the
	// capacity of the per-group timestamp ring or distinct-value list.
	need int
	// limit caps tumbling counters and distinct sets: beyond it the
	// condition's truth no longer changes.
	limit   int
	fields  []string // condition.field
	groupBy []string
	// aliases[i] maps a referenced rule id or name to the field that
	// groupBy[i] reads in that rule's events; nil when groupBy[i] is no alias.
	aliases   []map[string]string
	positions int // len(src.Rules)
	evidence  int // evidence events kept per group

	silent bool // referenced by another correlation without generate: true
	feeds  bool // referenced by another correlation

	groups     map[string]*group
	head, tail *group // least-recently-updated list of this rule's groups
}

func compile(cfg Config, c *sigma.Correlation, index int) (*rule, error) {
	var errs []error
	bad := func(err error, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %w: %s", where(c), err, fmt.Sprintf(format, args...)))
	}
	r := &rule{
		src:       c,
		index:     index,
		span:      int64(c.Timespan),
		groupBy:   c.GroupBy,
		positions: len(c.Rules),
		evidence:  cfg.MaxEventsPerAlert,
		groups:    map[string]*group{},
	}
	switch {
	case c.ID != "":
		r.key = "id:" + c.ID
	case c.Name != "":
		r.key = "name:" + c.Name
	default:
		r.key = "title:" + c.Title + "@" + c.Path
	}
	k, ok := kindOf(c.Type)
	if !ok {
		errs = append(errs, fmt.Errorf("%s: %w %q", where(c), ErrUnknownType, c.Type))
	}
	r.kind = k
	if c.Timespan <= 0 {
		bad(ErrInvalid, "timespan must be positive")
	}
	if len(c.Rules) == 0 {
		bad(ErrInvalid, "no rules referenced")
	}
	for _, ref := range c.Rules {
		if ref == "" {
			bad(ErrInvalid, "empty rule reference")
		}
	}
	if c.Condition != nil {
		r.cmp = c.Condition.Compares
		r.fields = c.Condition.Field
	}
	for _, cmp := range r.cmp {
		switch cmp.Op {
		case sigma.OpGT, sigma.OpGTE, sigma.OpLT, sigma.OpLTE, sigma.OpEQ, sigma.OpNEQ:
		default:
			bad(ErrInvalid, "unknown condition operator %q", cmp.Op)
		}
		if math.IsNaN(cmp.Value) || math.IsInf(cmp.Value, 0) {
			bad(ErrInvalid, "condition %s is not a finite number", cmp.Op)
		}
	}
	if ok && !k.positional() && len(r.cmp) == 0 {
		bad(ErrInvalid, "%s needs a condition", c.Type)
	}
	switch {
	case ok && c.Type.NeedsField() && len(r.fields) == 0:
		bad(ErrInvalid, "%s needs condition.field", c.Type)
	case ok && !c.Type.NeedsField() && len(r.fields) > 0:
		bad(ErrInvalid, "%s takes no condition.field", c.Type)
	case len(r.fields) > 1 && k != valueCount:
		bad(ErrInvalid, "%s aggregates one field, not %d", c.Type, len(r.fields))
	}
	for _, f := range r.fields {
		if f == "" {
			bad(ErrInvalid, "empty condition.field")
		}
	}
	for _, g := range c.GroupBy {
		if g == "" {
			bad(ErrInvalid, "empty group-by field")
		}
	}
	r.aliases = make([]map[string]string, len(c.GroupBy))
	for alias, m := range c.Aliases {
		used := false
		for i, g := range c.GroupBy {
			if g == alias {
				r.aliases[i], used = m, true
			}
		}
		if !used {
			// Harmless but almost certainly a typo in group-by or aliases.
			cfg.Logger.Warn("correlation alias not used in group-by", "correlation", where(c), "alias", alias)
		}
		for ref, field := range m {
			if field == "" {
				bad(ErrInvalid, "alias %q maps %q to an empty field", alias, ref)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	rising := true
	for _, cmp := range r.cmp {
		if cmp.Op != sigma.OpGT && cmp.Op != sigma.OpGTE {
			rising = false
		}
	}
	switch {
	case k == valueAvg || k == valuePercentile || !rising:
		r.mode = tumblingClose
	case k == valueSum:
		r.mode = tumblingArrival
	default:
		r.mode = sliding
	}
	// need and limit size per-group state, so only the kinds whose state is
	// a list of timestamps or values are held to MaxValues.
	bounded := k == eventCount || k == valueCount
	switch {
	case len(r.cmp) == 0: // temporal without condition: every rule
		// One event of a rule listed twice fills both positions, so
		// positions, not distinct rules, are what must all be seen.
		r.need = len(c.Rules)
	default:
		r.need = 1
		for _, cmp := range r.cmp {
			n := 1.0
			switch cmp.Op {
			case sigma.OpGTE:
				n = math.Ceil(cmp.Value)
			case sigma.OpGT:
				n = math.Floor(cmp.Value) + 1
			}
			n = min(n, float64(math.MaxInt32))
			if bounded && r.mode == sliding && n > float64(cfg.MaxValues) {
				return nil, fmt.Errorf("%s: %w: condition needs %v events or values, limit is %d", where(c), ErrLimit, n, cfg.MaxValues)
			}
			r.need = max(r.need, int(n))
		}
	}
	// A tumbling count only has to be exact up to one past the largest
	// bound; beyond it the condition's truth no longer changes.
	r.limit = math.MaxInt32
	if k == valueCount && r.mode == tumblingClose {
		r.limit = 1
		for _, cmp := range r.cmp {
			n := math.Floor(cmp.Value) + 2
			if n > float64(cfg.MaxValues) {
				return nil, fmt.Errorf("%s: %w: condition %s %v, limit is %d", where(c), ErrLimit, cmp.Op, cmp.Value, cfg.MaxValues)
			}
			r.limit = max(r.limit, int(n))
		}
	}
	if k == valuePercentile {
		r.limit = cfg.MaxValues
	}
	if k.positional() {
		r.evidence = min(r.evidence, r.positions)
	}
	return r, nil
}

// shape names what a group's saved state depends on besides the rule's
// identity: state saved under another shape is dropped on restore, since the
// rule changed between runs.
func (r *rule) shape() string {
	return fmt.Sprintf("%s/%s/%d/%d/%d/%s", r.src.Type, modeName(r.mode), r.positions, r.need, r.limit, strings.Join(r.groupBy, ","))
}

func (r *rule) holds(x float64) bool {
	if len(r.cmp) == 0 { // temporal default: every referenced rule
		return x >= float64(r.need)
	}
	for _, cmp := range r.cmp {
		if !cmp.Holds(x) {
			return false
		}
	}
	return true
}

// groupKey appends the group-by values of ev, as seen by the matched rule,
// to buf. ok is false when a group-by field is missing: such an event has no
// group and takes no part (as a SQL or Splunk "by" clause drops it).
func (r *rule) groupKey(buf []byte, ruleID, ruleName string, ev *event.Event) ([]byte, bool) {
	for i, name := range r.groupBy {
		field := name
		if m := r.aliases[i]; m != nil {
			if f, ok := m[ruleName]; ok && ruleName != "" {
				field = f
			} else if f, ok := m[ruleID]; ok && ruleID != "" {
				field = f
			}
		}
		v, ok := lookup(ev, field)
		if !ok || v.Kind == event.Null {
			return buf, false
		}
		if i > 0 {
			buf = append(buf, 0)
		}
		buf = appendText(buf, v)
	}
	return buf, true
}

// groupFields returns the group-by values as fields named by group-by.
func (r *rule) groupFields(ruleID, ruleName string, ev *event.Event) []event.Field {
	out := make([]event.Field, 0, len(r.groupBy))
	for i, name := range r.groupBy {
		field := name
		if m := r.aliases[i]; m != nil {
			if f, ok := m[ruleName]; ok && ruleName != "" {
				field = f
			} else if f, ok := m[ruleID]; ok && ruleID != "" {
				field = f
			}
		}
		v, _ := lookup(ev, field)
		out = append(out, event.Field{Name: name, Value: cloneValue(v)})
	}
	return out
}

// keyOf is the group key of saved group-by values; it must agree with
// groupKey.
func keyOf(fields []event.Field) string {
	var buf []byte
	for i, f := range fields {
		if i > 0 {
			buf = append(buf, 0)
		}
		buf = appendText(buf, f.Value)
	}
	return string(buf)
}

// appendText writes a value so that distinct values give distinct bytes
// within one field; list items are separated by a byte that text rarely holds.
func appendText(buf []byte, v event.Value) []byte {
	if v.Kind == event.List {
		buf = append(buf, 1)
		for i, it := range v.Items {
			if i > 0 {
				buf = append(buf, 2)
			}
			buf = appendText(buf, it)
		}
		return buf
	}
	return append(buf, v.Str...)
}

// hostFields are the names under which rules commonly group by host. Events
// from agents and receivers carry the host in the typed core, not as a field.
var hostFields = [...]string{"Host", "Hostname", "host.name", "ComputerName", "Computer"}

// lookup reads a field as Sigma does (exact name, then case-insensitive),
// falling back to the event's host for the usual host field names.
func lookup(ev *event.Event, name string) (event.Value, bool) {
	if v, ok := ev.GetFold(name); ok {
		return v, true
	}
	if ev.Host != "" {
		for _, h := range hostFields {
			if strings.EqualFold(h, name) {
				return event.S(ev.Host), true
			}
		}
	}
	return event.Value{}, false
}

func cloneValue(v event.Value) event.Value {
	if v.Kind != event.List {
		return v
	}
	items := make([]event.Value, len(v.Items))
	for i, it := range v.Items {
		items[i] = cloneValue(it)
	}
	v.Items = items
	return v
}

// checkCycles reports correlations that reference each other in a loop,
// including a correlation that references itself.
func checkCycles(rules []*rule) error {
	byRef := map[string]*rule{}
	for _, r := range rules {
		if r.src.ID != "" {
			byRef[r.src.ID] = r
		}
		if r.src.Name != "" {
			byRef[r.src.Name] = r
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(rules))
	var stack []*rule
	var errs []error
	var visit func(r *rule)
	visit = func(r *rule) {
		color[r.index] = grey
		stack = append(stack, r)
		for _, ref := range r.src.Rules {
			next, ok := byRef[ref]
			if !ok {
				continue
			}
			switch color[next.index] {
			case white:
				visit(next)
			case grey:
				var names []string
				for i := len(stack) - 1; i >= 0; i-- {
					names = append([]string{title(stack[i].src)}, names...)
					if stack[i] == next {
						break
					}
				}
				names = append(names, title(next.src))
				errs = append(errs, fmt.Errorf("%s: %w: %s", where(r.src), ErrCycle, strings.Join(names, " -> ")))
			}
		}
		stack = stack[:len(stack)-1]
		color[r.index] = black
	}
	for _, r := range rules {
		if color[r.index] == white {
			visit(r)
		}
	}
	return errors.Join(errs...)
}

func title(c *sigma.Correlation) string {
	for _, s := range []string{c.Name, c.ID, c.Title} {
		if s != "" {
			return s
		}
	}
	return "?"
}
