package correlate

import (
	"math"
	"slices"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// unset marks a temporal position with no event yet.
const unset = math.MinInt64

// group is the state of one (correlation, group-by values). Which fields are
// in use depends on the rule's kind and mode; times are Unix nanoseconds.
type group struct {
	rule *rule
	key  string
	by   []event.Field

	open  bool  // tumbling: a window is open
	first int64 // tumbling: window start
	last  int64 // latest event time seen
	muted bool  // sliding and tumblingArrival: no firing until after mutedUntil
	until int64

	n     int     // tumbling: events in the window (saturating at rule.limit for counts)
	sum   float64 // value_sum, value_avg
	times []int64 // sliding event_count: times[th:] oldest first, at most rule.need
	th    int
	vals  []seen // value_count: oldest first (sliding) or a set (tumbling)
	freq  map[string]int
	pos   []int64 // temporal: latest time per position; ordered sliding: chain start per prefix
	end   []int64 // ordered sliding: chain end per prefix
	step  int     // ordered tumbling: positions matched in order so far

	ev     []*event.Event   // evidence: ring (evNext is the oldest when full) or per position
	evNext int              //
	chains [][]*event.Event // ordered sliding: evidence of the chain ending at each prefix

	gprev, gnext *group // engine-wide list, most recently updated first
	cprev, cnext *group // the rule's list
}

type seen struct {
	v string
	t int64
}

// sub is a-b saturating, so that odd timestamps cannot wrap a comparison.
func sub(a, b int64) int64 {
	r := a - b
	if b > 0 && r > a {
		return math.MinInt64
	}
	if b < 0 && r < a {
		return math.MaxInt64
	}
	return r
}

func (e *Engine) feed(rt route, ruleID, ruleName string, ev *event.Event, now int64) {
	r := rt.rule
	e.expire(r, now, 2) // amortised clean-up of groups nobody touches
	buf, ok := r.groupKey(e.keyBuf[:0], ruleID, ruleName, ev)
	e.keyBuf = buf
	if !ok {
		e.stats.NoGroup++
		return
	}
	g := r.groups[string(buf)]
	if g == nil {
		g = e.newGroup(r, string(buf), r.groupFields(ruleID, ruleName, ev))
		g.last = now
	} else {
		e.touch(g)
	}
	switch r.mode {
	case sliding:
		e.slide(g, rt.positions, ev, now)
	default:
		e.tumble(g, rt.positions, ev, now)
	}
	if now > g.last {
		g.last = now
	}
}

func (e *Engine) newGroup(r *rule, key string, by []event.Field) *group {
	g := &group{rule: r, key: key, by: by}
	g.init()
	e.insert(g)
	return g
}

// insert links g in front of both lists, evicting the least recently
// updated group first when MaxGroups is reached.
func (e *Engine) insert(g *group) {
	if e.live >= e.cfg.MaxGroups {
		e.evict()
	}
	r := g.rule
	r.groups[g.key] = g
	g.gprev, g.gnext, g.cprev, g.cnext = nil, e.head, nil, r.head
	if e.head != nil {
		e.head.gprev = g
	}
	e.head = g
	if e.tail == nil {
		e.tail = g
	}
	if r.head != nil {
		r.head.cprev = g
	}
	r.head = g
	if r.tail == nil {
		r.tail = g
	}
	e.live++
}

func (g *group) init() {
	r := g.rule
	if r.kind.positional() {
		if g.pos == nil {
			g.pos = make([]int64, r.positions)
		}
		for i := range g.pos {
			g.pos[i] = unset
		}
		if r.kind == temporalOrdered && r.mode == sliding {
			if g.end == nil {
				g.end = make([]int64, r.positions)
			}
			for i := range g.end {
				g.end[i] = unset
			}
			g.chains = make([][]*event.Event, r.positions)
		}
		g.ev = make([]*event.Event, r.evidence)
	}
}

func (e *Engine) touch(g *group) {
	if e.head != g {
		e.unlinkGlobal(g)
		g.gnext = e.head
		e.head.gprev = g
		e.head = g
	}
	r := g.rule
	if r.head != g {
		unlinkRule(g)
		g.cnext = r.head
		r.head.cprev = g
		r.head = g
	}
}

func (e *Engine) unlinkGlobal(g *group) {
	if g.gprev != nil {
		g.gprev.gnext = g.gnext
	} else {
		e.head = g.gnext
	}
	if g.gnext != nil {
		g.gnext.gprev = g.gprev
	} else {
		e.tail = g.gprev
	}
	g.gprev, g.gnext = nil, nil
}

func unlinkRule(g *group) {
	r := g.rule
	if g.cprev != nil {
		g.cprev.cnext = g.cnext
	} else {
		r.head = g.cnext
	}
	if g.cnext != nil {
		g.cnext.cprev = g.cprev
	} else {
		r.tail = g.cprev
	}
	g.cprev, g.cnext = nil, nil
}

func (e *Engine) remove(g *group) {
	e.unlinkGlobal(g)
	unlinkRule(g)
	delete(g.rule.groups, g.key)
	e.live--
}

func (e *Engine) evict() {
	g := e.tail
	if g == nil {
		return
	}
	e.remove(g)
	e.stats.Evicted++
	// Log at powers of two: the first eviction and then ever more rarely.
	if n := e.stats.Evicted; n&(n-1) == 0 {
		e.log.Warn("correlation state full, evicting least recently updated groups",
			"max_groups", e.cfg.MaxGroups, "evicted", n)
	}
}

// expire frees up to budget (negative: all) of the rule's groups whose
// window has passed, oldest first, closing tumbling windows on the way. A
// full pass (negative budget) also closes windows of live groups.
func (e *Engine) expire(r *rule, now int64, budget int) {
	for g := r.tail; g != nil && budget != 0; budget-- {
		if sub(now, g.last) <= r.span {
			break
		}
		prev := g.cprev
		if r.mode != sliding {
			e.close(g)
		}
		e.remove(g)
		e.stats.Expired++
		g = prev
	}
	if budget < 0 && r.mode == tumblingClose {
		for g := r.tail; g != nil; g = g.cprev {
			if g.open && sub(now, g.first) > r.span {
				e.close(g)
			}
		}
	}
}

// slide adds an event to a sliding window and fires when the condition
// becomes true.
func (e *Engine) slide(g *group, positions []int, ev *event.Event, now int64) {
	r := g.rule
	cutoff := sub(now, r.span)
	var n int
	var first int64
	switch r.kind {
	case eventCount:
		for g.th < len(g.times) && g.times[g.th] < cutoff {
			g.th++
		}
		if len(g.times)-g.th >= r.need {
			g.th++ // the oldest can no longer matter
		}
		if g.th > 0 && len(g.times) == cap(g.times) {
			g.times = append(g.times[:0], g.times[g.th:]...)
			g.th = 0
		}
		// Kept sorted, so that a slightly late event expires in its turn.
		g.times = append(g.times, now)
		for i := len(g.times) - 1; i > g.th && g.times[i-1] > now; i-- {
			g.times[i-1], g.times[i] = now, g.times[i-1]
		}
		n, first = len(g.times)-g.th, g.times[g.th]
		e.keep(g, ev, now)
	case valueCount:
		v, ok := r.value(ev)
		if !ok {
			return
		}
		g.vals = pruneVals(g.vals, cutoff)
		g.vals = see(g.vals, v, now, r.need)
		n, first = len(g.vals), g.vals[0].t
		e.keep(g, ev, now)
	case temporal:
		for _, p := range positions {
			g.pos[p] = max(g.pos[p], now)
			if p < len(g.ev) {
				g.ev[p] = copyEvent(g.ev[p], ev, now)
			}
		}
		first = now
		for _, t := range g.pos {
			if t != unset && t >= cutoff {
				n++
				first = min(first, t)
			}
		}
	case temporalOrdered:
		for i, t := range g.pos {
			if t != unset && t < cutoff {
				g.pos[i], g.end[i], g.chains[i] = unset, unset, nil
			}
		}
		// Highest position first, so that one event of a rule listed
		// twice advances a chain by one step only.
		var clone *event.Event
		for j := len(positions) - 1; j >= 0; j-- {
			p := positions[j]
			if p > 0 && (g.pos[p-1] == unset || now < g.end[p-1]) {
				continue // out of order: the earlier step has not happened
			}
			if clone == nil && r.evidence > 0 {
				clone = copyEvent(nil, ev, now)
			}
			if p == 0 {
				g.pos[0], g.end[0] = now, now
				g.chains[0] = appendEvidence(nil, clone, r.evidence)
				continue
			}
			g.pos[p], g.end[p] = g.pos[p-1], now
			g.chains[p] = appendEvidence(slices.Clone(g.chains[p-1]), clone, r.evidence)
		}
		for i, t := range g.pos {
			if t == unset {
				break
			}
			n, first = i+1, t
		}
	}
	if n == 0 || (g.muted && now <= g.until) || !r.holds(float64(n)) {
		return
	}
	a := Alert{
		Rule:  r.src,
		Group: g.by,
		Count: n,
		Value: float64(n),
		First: time.Unix(0, first).UTC(),
		Last:  time.Unix(0, now).UTC(),
	}
	switch r.kind {
	case temporal:
		for p, x := range g.ev {
			if x != nil && g.pos[p] != unset && g.pos[p] >= cutoff {
				a.Events = append(a.Events, x)
			}
		}
		sortEvents(a.Events)
	case temporalOrdered:
		a.Events = g.chains[n-1]
	case eventCount:
		// From the first counted event: a muted group may hold older
		// events in the window than the threshold's worth it counts.
		a.Events = g.takeEvidence(first)
	default:
		a.Events = g.takeEvidence(cutoff)
	}
	g.times, g.th, g.vals, g.ev, g.evNext = g.times[:0], 0, g.vals[:0], nil, 0
	g.init()
	g.muted, g.until = true, now+r.span
	e.fire(g.rule, a)
}

// tumble adds an event to a window anchored at the group's first event.
func (e *Engine) tumble(g *group, positions []int, ev *event.Event, now int64) {
	r := g.rule
	if g.open && sub(now, g.first) > r.span {
		e.close(g)
	}
	if !g.open {
		g.open, g.first = true, now
	}
	switch r.kind {
	case eventCount:
		g.n = min(g.n+1, r.limit)
		e.keep(g, ev, now)
	case valueCount:
		g.n = min(g.n+1, math.MaxInt32)
		if v, ok := r.value(ev); ok && len(g.vals) < r.limit &&
			!slices.ContainsFunc(g.vals, func(s seen) bool { return s.v == v }) {
			g.vals = append(g.vals, seen{v: v, t: now})
		}
		e.keep(g, ev, now)
	case temporal:
		g.n = min(g.n+1, math.MaxInt32)
		for _, p := range positions {
			g.pos[p] = max(g.pos[p], now)
			if p < len(g.ev) {
				g.ev[p] = copyEvent(g.ev[p], ev, now)
			}
		}
	case temporalOrdered:
		g.n = min(g.n+1, math.MaxInt32)
		// Greedy in-order matching finds the longest ordered prefix.
		if slices.Contains(positions, g.step) {
			if g.step < len(g.ev) {
				g.ev[g.step] = copyEvent(g.ev[g.step], ev, now)
			}
			g.pos[g.step] = now
			g.step++
		}
	case valueSum, valueAvg:
		x, ok := r.number(ev)
		if !ok {
			return
		}
		g.n = min(g.n+1, math.MaxInt32)
		g.sum += x
		e.keep(g, ev, now)
	case valuePercentile:
		v, ok := r.value(ev)
		if !ok {
			return
		}
		g.n = min(g.n+1, math.MaxInt32)
		if g.freq == nil {
			g.freq = map[string]int{}
		}
		if _, known := g.freq[v]; known || len(g.freq) < r.limit {
			g.freq[v]++
		}
		e.keep(g, ev, now)
	}
	if r.mode != tumblingArrival || (g.muted && now <= g.until) {
		return
	}
	if v, n, ok := g.value(); ok && r.holds(v) {
		e.fire(r, g.alert(v, n, now))
		g.muted, g.until = true, g.first+r.span
	}
}

// close ends a tumbling window, firing if the condition is decided at close.
func (e *Engine) close(g *group) {
	if !g.open {
		return
	}
	r := g.rule
	if r.mode == tumblingClose {
		if v, n, ok := g.value(); ok && r.holds(v) {
			e.fire(r, g.alert(v, n, g.last))
		}
	}
	g.open, g.n, g.sum, g.step = false, 0, 0, 0
	g.vals, g.freq, g.ev, g.evNext = g.vals[:0], nil, nil, 0
	g.init()
}

// value is the aggregate of a tumbling window and the number of events
// behind it; ok is false when there is nothing to evaluate.
func (g *group) value() (v float64, n int, ok bool) {
	r := g.rule
	if g.n == 0 {
		return 0, 0, false
	}
	switch r.kind {
	case eventCount:
		return float64(g.n), g.n, true
	case valueCount:
		return float64(len(g.vals)), len(g.vals), true
	case temporal:
		for _, t := range g.pos {
			if t != unset {
				n++
			}
		}
		return float64(n), n, true
	case temporalOrdered:
		return float64(g.step), g.step, true
	case valueSum:
		return g.sum, g.n, true
	case valueAvg:
		return g.sum / float64(g.n), g.n, true
	case valuePercentile:
		// The share in percent of the rarest value in the window: "lte: 1"
		// finds a value seen in at most 1% of the group's events.
		rarest := math.MaxInt
		for _, c := range g.freq {
			rarest = min(rarest, c)
		}
		if rarest == math.MaxInt {
			return 0, 0, false
		}
		return float64(rarest) * 100 / float64(g.n), g.n, true
	}
	return 0, 0, false
}

func (g *group) alert(v float64, n int, last int64) Alert {
	a := Alert{
		Rule:  g.rule.src,
		Group: g.by,
		Count: n,
		Value: v,
		First: time.Unix(0, g.first).UTC(),
		Last:  time.Unix(0, max(last, g.first)).UTC(),
	}
	if g.rule.kind.positional() {
		for _, x := range g.ev {
			if x != nil {
				a.Events = append(a.Events, x)
			}
		}
		sortEvents(a.Events)
		g.ev = make([]*event.Event, len(g.ev))
	} else {
		a.Events = g.takeEvidence(math.MinInt64)
	}
	return a
}

func (e *Engine) fire(r *rule, a Alert) {
	e.stats.Fired++
	e.pending = append(e.pending, pendingAlert{rule: r, alert: a})
}

// keep records ev in the group's evidence ring.
func (e *Engine) keep(g *group, ev *event.Event, now int64) {
	k := g.rule.evidence
	if k == 0 {
		return
	}
	if len(g.ev) < k {
		g.ev = append(g.ev, copyEvent(nil, ev, now))
		return
	}
	g.ev[g.evNext] = copyEvent(g.ev[g.evNext], ev, now)
	g.evNext = (g.evNext + 1) % k
}

// takeEvidence hands the ring's events at or after cutoff to an alert,
// oldest first; the group starts a new ring.
func (g *group) takeEvidence(cutoff int64) []*event.Event {
	if len(g.ev) == 0 {
		return nil
	}
	out := make([]*event.Event, 0, len(g.ev))
	for i := range g.ev {
		x := g.ev[(g.evNext+i)%len(g.ev)]
		if x != nil && x.Time.UnixNano() >= cutoff {
			out = append(out, x)
		}
	}
	sortEvents(out)
	g.ev, g.evNext = nil, 0
	return out
}

func sortEvents(evs []*event.Event) {
	slices.SortStableFunc(evs, func(a, b *event.Event) int { return a.Time.Compare(b.Time) })
}

func appendEvidence(chain []*event.Event, ev *event.Event, k int) []*event.Event {
	if ev == nil || k == 0 {
		return chain
	}
	if len(chain) >= k {
		chain = append(chain[:0], chain[len(chain)-k+1:]...)
	}
	return append(chain, ev)
}

// copyEvent copies src into dst, reusing dst's field storage so that
// keeping evidence does not allocate once a group's ring is full. The copy's
// time is the time the engine used, in case the event had none.
func copyEvent(dst, src *event.Event, now int64) *event.Event {
	if dst == nil {
		dst = &event.Event{}
	}
	fields := append(dst.Fields[:0], src.Fields...)
	*dst = *src
	dst.Fields = fields
	for i := range fields {
		if fields[i].Value.Kind == event.List {
			fields[i].Value = cloneValue(fields[i].Value)
		}
	}
	if src.Time.IsZero() {
		dst.Time = time.Unix(0, now).UTC()
	}
	return dst
}

func pruneVals(vs []seen, cutoff int64) []seen {
	i := 0
	for i < len(vs) && vs[i].t < cutoff {
		i++
	}
	if i == 0 {
		return vs
	}
	return append(vs[:0], vs[i:]...)
}

// see records value v at time now in a list kept oldest first; beyond
// limit the least recently seen value is dropped, since it would leave the
// window first.
func see(vs []seen, v string, now int64, limit int) []seen {
	if i := slices.IndexFunc(vs, func(s seen) bool { return s.v == v }); i >= 0 {
		now = max(now, vs[i].t)
		vs = append(vs[:i], vs[i+1:]...)
	} else if len(vs) >= limit {
		vs = append(vs[:0], vs[len(vs)-limit+1:]...)
	}
	vs = append(vs, seen{v: v, t: now})
	for i := len(vs) - 1; i > 0 && vs[i-1].t > now; i-- { // keep sorted
		vs[i-1], vs[i] = vs[i], vs[i-1]
	}
	return vs
}

// value returns the condition field(s) of ev as one string; several fields
// are linked by AND, so the distinct unit is the combination.
func (r *rule) value(ev *event.Event) (string, bool) {
	if len(r.fields) == 1 {
		v, ok := lookup(ev, r.fields[0])
		if !ok || v.Kind == event.Null {
			return "", false
		}
		if v.Kind != event.List {
			return v.Str, true
		}
		return string(appendText(nil, v)), true
	}
	var buf []byte
	for i, f := range r.fields {
		v, ok := lookup(ev, f)
		if !ok || v.Kind == event.Null {
			return "", false
		}
		if i > 0 {
			buf = append(buf, 0)
		}
		buf = appendText(buf, v)
	}
	return string(buf), true
}

func (r *rule) number(ev *event.Event) (float64, bool) {
	v, ok := lookup(ev, r.fields[0])
	if !ok {
		return 0, false
	}
	x, ok := v.Number()
	if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	return x, true
}
