// Package correlate runs Sigma correlation rules (specification v2.1) over
// the stream of base-rule matches the detection engine produces: it keeps a
// window of state per (correlation, group-by values), decides when a
// correlation fires, and feeds a correlation's own firing back to the
// correlations that reference it (chains).
//
// Time comes from the events, never from a wall clock, so replaying history
// gives the same alerts as live detection; Advance lets a server close
// windows on wall-clock time when no event arrives.
//
// # When a correlation fires
//
// A condition that only has lower bounds (gt, gte; or none, for temporal
// types) is evaluated on every matching event over a sliding window
// (event_count, value_count, temporal, temporal_ordered): an event at time t
// sees every earlier event of its group at t' with t-t' <= timespan (the
// window is inclusive at its edge). When the condition becomes true the group
// fires once, its accumulated state is cleared, and it is muted for one
// timespan: events keep accumulating but cannot fire until an event arrives
// later than firing time + timespan. So a sustained burst fires at most once
// per timespan, and two alerts of one group never share evidence.
//
// A condition with an upper bound (lt, lte, eq, neq, or a range such as
// "gt: 100, lte: 200") cannot be decided before the window is over — 150
// events might still become 500 — and value_avg and value_percentile are
// properties of the whole window. These use a tumbling window per group that
// starts at the group's first event and closes at first event + timespan; the
// condition is evaluated once, when the window closes (on a later event of
// the group, on Advance, or when the group expires). A group with no event in
// its window fires nothing, so "lt: 5" means "at least one and fewer than
// five". value_sum with lower bounds only also uses that tumbling window but
// fires as soon as the sum crosses, once per window.
//
// value_percentile is not defined precisely by the specification; its
// example ("a process name seen in less than 1% of the processes", field
// Image, lte: 1) is implemented: the aggregate is the share in percent of the
// group's events taken by the rarest value of the field in the window.
//
// # Groups, aliases, chains
//
// Group-by fields are read from the matched event (exact name, then without
// regard to case; the event's typed Host stands in for Host, Hostname,
// host.name, Computer and ComputerName). An event lacking a group-by field
// takes no part, as with a SQL or Splunk "by" clause; Stats.NoGroup counts
// them. An alias in group-by reads, for each referenced rule, the field the
// aliases map names for that rule's name or id.
//
// A correlation referenced by another is fed to it when it fires, as an
// event at the firing time whose fields are the group-by values followed by
// the fields of the latest evidence event. Such an intermediate correlation
// emits no alert of its own unless a referencing correlation says
// generate: true, the same rule Referenced reports for base rules.
//
// # Bounded memory
//
// Per group only what the condition needs is kept: event_count keeps the
// timestamps of at most the threshold's number of recent events (the count
// can only matter up to the threshold); value_count keeps at most that many
// distinct values (the most recently seen ones); temporal types keep one
// timestamp per referenced rule; value_sum and value_avg keep a sum and a
// count; value_percentile counts occurrences of at most Config.MaxValues
// distinct values (later new values count in the total only). Thresholds
// above Config.MaxValues are rejected by New. Evidence events are bounded by
// Config.MaxEventsPerAlert. Live groups across all correlations are bounded by
// Config.MaxGroups; beyond it the least recently updated group is dropped and
// counted in Stats.Evicted.
//
// This package depends only on internal/event and the rule AST in
// internal/sigma; it must not depend on the detection engine or any store.
package correlate

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

// Sentinel errors returned by New and RestoreState.
var (
	// ErrInvalid: a correlation cannot run as written (no rules, no
	// timespan, a missing condition or field, an empty group-by name).
	ErrInvalid = errors.New("invalid correlation")
	// ErrUnknownType: the correlation type is not one of the specification's.
	ErrUnknownType = errors.New("unknown correlation type")
	// ErrCycle: correlations reference each other in a loop.
	ErrCycle = errors.New("correlation cycle")
	// ErrDuplicate: two correlations share an id or a name, so references
	// and saved state would be ambiguous.
	ErrDuplicate = errors.New("duplicate correlation id or name")
	// ErrLimit: a condition needs more per-group state than Config.MaxValues.
	ErrLimit = errors.New("correlation exceeds state limit")
	// ErrState: saved state could not be read.
	ErrState = errors.New("invalid correlation state")
)

// Defaults for Config's zero values.
const (
	DefaultMaxGroups         = 100_000
	DefaultMaxEventsPerAlert = 10
	DefaultMaxValues         = 10_000
)

// Config configures an Engine. Zero values take the defaults.
type Config struct {
	// MaxGroups bounds the live group states across all correlations.
	MaxGroups int
	// MaxEventsPerAlert bounds the events kept per group as evidence; a
	// negative value keeps none.
	MaxEventsPerAlert int
	// MaxValues bounds the per-group timestamps, distinct values and value
	// frequencies a single condition may need; a correlation whose threshold
	// is larger is rejected by New.
	MaxValues int
	Logger    *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxGroups <= 0 {
		c.MaxGroups = DefaultMaxGroups
	}
	if c.MaxEventsPerAlert == 0 {
		c.MaxEventsPerAlert = DefaultMaxEventsPerAlert
	}
	if c.MaxEventsPerAlert < 0 {
		c.MaxEventsPerAlert = 0
	}
	if c.MaxValues <= 0 {
		c.MaxValues = DefaultMaxValues
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Alert is one firing of a correlation.
type Alert struct {
	Rule *sigma.Correlation
	// Group holds the group-by values, named as in group-by (alias names
	// for aliased fields).
	Group []event.Field
	// Count is the number the condition was evaluated on for count types
	// (events, distinct values, matched rules); for value_sum, value_avg and
	// value_percentile it is the number of events aggregated.
	Count int
	// Value is the aggregate the condition was evaluated on: equal to Count
	// for count types, the sum, the average, or for value_percentile the
	// share in percent of the rarest value.
	Value       float64
	First, Last time.Time
	// Events are the most recent evidence events, oldest first, at most
	// Config.MaxEventsPerAlert; for temporal types the latest event of each
	// referenced rule.
	Events []*event.Event
}

// Stats are counters for monitoring.
type Stats struct {
	Groups int // live group states
	// Evicted counts groups dropped because MaxGroups was reached.
	Evicted uint64
	// Expired counts groups removed because their window had passed.
	Expired uint64
	// Fired counts alerts, including those of correlations referenced by
	// other correlations (which are not emitted unless generate asks).
	Fired uint64
	// NoGroup counts events ignored because a group-by field was missing.
	NoGroup uint64
}

// Engine holds compiled correlations and their live state. It is not safe
// for concurrent use; the detection pipeline owns one per worker.
type Engine struct {
	cfg    Config
	log    *slog.Logger
	rules  []*rule
	byKey  map[string]*rule   // state identity -> rule, for RestoreState
	routes map[string][]route // referenced rule id or name -> where it feeds
	refs   map[string]bool    // referenced id or name -> some referrer has generate: true

	// Global least-recently-updated list of groups, for MaxGroups eviction.
	head, tail *group
	live       int

	keyBuf  []byte
	pending []pendingAlert
	stats   Stats
	// latest is the latest event time seen; an event without a time is
	// taken to happen then.
	latest int64
}

// route says that matches of one referenced rule feed a correlation.
type route struct {
	rule *rule
	// positions are the indexes in the correlation's rules list that name
	// the matched rule (normally one).
	positions []int
}

type pendingAlert struct {
	rule  *rule
	alert Alert
}

// New compiles correlations. Whether the base rules they reference exist is
// the caller's concern; unknown types, unusable conditions, duplicate
// identities and cycles among correlations are errors, all reported at once.
func New(cfg Config, correlations []*sigma.Correlation) (*Engine, error) {
	cfg = cfg.withDefaults()
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Logger,
		byKey:  map[string]*rule{},
		routes: map[string][]route{},
		refs:   map[string]bool{},
	}
	var errs []error
	ids := map[string]*sigma.Correlation{}
	for i, c := range correlations {
		if c == nil {
			errs = append(errs, fmt.Errorf("correlation %d: %w: nil", i, ErrInvalid))
			continue
		}
		for _, id := range []string{c.ID, c.Name} {
			if id == "" {
				continue
			}
			if prev, ok := ids[id]; ok && prev != c {
				errs = append(errs, fmt.Errorf("%s: %w: %q also used by %s", where(c), ErrDuplicate, id, where(prev)))
				continue
			}
			ids[id] = c
		}
		r, err := compile(cfg, c, len(e.rules))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := e.byKey[r.key]; ok {
			errs = append(errs, fmt.Errorf("%s: %w: same identity as %s", where(c), ErrDuplicate, where(prev.src)))
			continue
		}
		e.byKey[r.key] = r
		e.rules = append(e.rules, r)
	}
	if err := checkCycles(e.rules); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, r := range e.rules {
		for pos, ref := range r.src.Rules {
			e.addRoute(ref, r, pos)
			e.refs[ref] = e.refs[ref] || r.src.Generate
		}
	}
	for _, r := range e.rules {
		// A correlation referenced by another one is an intermediate step
		// of a chain: like a base rule, it alerts on its own only when a
		// referencing correlation says generate: true.
		gen, ref := e.Referenced(r.src.ID, r.src.Name)
		r.silent = ref && !gen
		r.feeds = len(e.routes[r.src.ID]) > 0 || len(e.routes[r.src.Name]) > 0
	}
	return e, nil
}

func (e *Engine) addRoute(ref string, r *rule, pos int) {
	rs := e.routes[ref]
	for i := range rs {
		if rs[i].rule == r {
			rs[i].positions = append(rs[i].positions, pos)
			return
		}
	}
	e.routes[ref] = append(rs, route{rule: r, positions: []int{pos}})
}

func where(c *sigma.Correlation) string {
	name := c.Title
	if name == "" {
		name = c.ID
	}
	if c.Path != "" {
		return fmt.Sprintf("%s:%d (%s)", c.Path, c.Line, name)
	}
	return fmt.Sprintf("correlation %q", name)
}

// Referenced reports whether any correlation references the rule by id or
// name, and whether one of those says generate: true. The caller suppresses
// a referenced rule's own alerts unless generate is true.
func (e *Engine) Referenced(ruleID, ruleName string) (generate bool, referenced bool) {
	if ruleID != "" {
		if g, ok := e.refs[ruleID]; ok {
			referenced, generate = true, g
		}
	}
	if ruleName != "" {
		if g, ok := e.refs[ruleName]; ok {
			referenced, generate = true, generate || g
		}
	}
	return generate, referenced
}

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	s := e.stats
	s.Groups = e.live
	return s
}

// Observe feeds one base-rule match. The event's time is the clock: events
// should arrive in roughly increasing time order. emit receives every alert
// this match causes, including those of chained correlations; it may be nil.
// The event is copied where it is kept as evidence, so the caller may reuse it.
func (e *Engine) Observe(ruleID, ruleName string, ev *event.Event, emit func(Alert)) {
	if ev == nil {
		return
	}
	e.observe(ruleID, ruleName, ev)
	e.drain(emit)
}

func (e *Engine) observe(ruleID, ruleName string, ev *event.Event) {
	var now int64
	if ev.Time.IsZero() {
		now = e.latest
	} else {
		now = ev.Time.UnixNano()
		e.latest = max(e.latest, now)
	}
	var byID []route
	if ruleID != "" {
		byID = e.routes[ruleID]
	}
	for i := range byID {
		e.feed(byID[i], ruleID, ruleName, ev, now)
	}
	if ruleName == "" || ruleName == ruleID {
		return
	}
next:
	for _, rt := range e.routes[ruleName] {
		// A correlation naming the same rule by id and by name sees each
		// match once.
		for i := range byID {
			if byID[i].rule == rt.rule {
				continue next
			}
		}
		e.feed(rt, ruleID, ruleName, ev, now)
	}
}

// drain delivers queued alerts. Alerts are queued rather than delivered
// while state is being changed so that a chained correlation's processing
// (which may evict groups) never runs in the middle of another's.
func (e *Engine) drain(emit func(Alert)) {
	for i := 0; i < len(e.pending); i++ {
		p := e.pending[i]
		e.pending[i] = pendingAlert{}
		if !p.rule.silent && emit != nil {
			emit(p.alert)
		}
		if p.rule.feeds {
			e.observe(p.rule.src.ID, p.rule.src.Name, chainEvent(p.alert))
		}
	}
	e.pending = e.pending[:0]
}

// chainEvent is what a correlation's firing looks like to the correlations
// that reference it: at the time of the firing, with the group-by values
// first and then the fields of the latest evidence event, so a referencing
// correlation may group by fields the inner one did not (the specification's
// temporal_ordered example groups by User over a rule that may group by
// ComputerName).
func chainEvent(a Alert) *event.Event {
	ev := &event.Event{Time: a.Last}
	ev.Fields = append(ev.Fields, a.Group...)
	var latest *event.Event
	for _, x := range a.Events {
		if x != nil && (latest == nil || !x.Time.Before(latest.Time)) {
			latest = x
		}
	}
	if latest != nil {
		ev.Host = latest.Host
		ev.Logsource = latest.Logsource
		for _, f := range latest.Fields {
			if _, ok := ev.Get(f.Name); !ok {
				ev.Fields = append(ev.Fields, f)
			}
		}
	}
	return ev
}

// Advance closes every window that ended before now, emitting alerts of
// conditions decided at window close (upper bounds, value_avg,
// value_percentile), and frees expired groups. Observe does the same lazily
// for the groups it touches. emit may be nil.
//
// now must be on the events' clock: a server detecting live events may pass
// the wall clock, but one replaying history must pass the replay's time (or
// not call Advance), or every window would close at once. Advance takes emit,
// unlike a plain expiry, because a window that closes can decide an alert.
func (e *Engine) Advance(now time.Time, emit func(Alert)) {
	t := now.UnixNano()
	for _, r := range e.rules {
		e.expire(r, t, -1)
	}
	e.drain(emit)
}
