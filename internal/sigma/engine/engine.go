// Package engine runs compiled Sigma detection rules over events: it turns
// each rule's detection into a tree of value matchers (internal/sigma/match),
// applies global filters, routes events to rules by log source and, per log
// source, keeps an index of the literals each rule needs so that an event is
// fully evaluated only against the rules it could match.
//
// The index also holds "blockers": literals whose presence makes one of a
// rule's exclusions certain ("and not Image|startswith: C:\Windows\"), so
// a woken rule whose filter certainly holds is dropped without evaluation.
// Most rules name a common program and exclude its usual locations; on
// mostly benign process events, blockers halve the rules evaluated.
//
// Rules compile concurrently (they are independent until the index is
// built); results are gathered in load order, so rule order, errors and
// field ids do not depend on scheduling. Config.Profile counts, per rule,
// full evaluations, matches and time spent (Engine.Profile).
//
// It depends on internal/event, internal/sigma and internal/sigma/match
// only; correlation rules are run elsewhere (internal/sigma/correlate).
package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

// ErrCompile wraps every error reported for a rule or filter that does not
// compile.
var ErrCompile = errors.New("rule does not compile")

// Config configures an Engine.
type Config struct {
	// Placeholders gives the values of %name% placeholders used with the
	// expand modifier. A placeholder with no values matches nothing.
	Placeholders map[string][]string
	// Logger receives a summary of what was compiled; nil discards it.
	Logger *slog.Logger
	// CategoryMatches reports whether a rule whose logsource names
	// ruleCategory sees events of eventCategory (both lower-cased), for
	// taxonomies where one rule category spans several event categories
	// (registry_event covers registry_add, registry_delete, registry_set
	// and registry_rename). nil means exact equality; equal categories
	// always match whatever it says. It is called only when a new event
	// log source is first routed, never per event.
	CategoryMatches func(ruleCategory, eventCategory string) bool
	// Profile makes the engine count, per rule, its full evaluations, its
	// matches and the time spent evaluating it (see Engine.Profile). It
	// costs two clock reads per evaluation; off, the hot path pays one
	// predictable branch per candidate.
	Profile bool
}

// maxRoutes bounds the cache from an event's log source as written to its
// index; past it, the log source is canonicalised on every event (under
// the lock, but without rebuilding anything).
const maxRoutes = 4096

// Engine matches events against a set of compiled rules. It is safe for
// concurrent use: per-call scratch space comes from a sync.Pool, and the
// per-log-source indexes are built once under a lock and then only read.
type Engine struct {
	rules  []*compiledRule
	byRule map[*sigma.Rule]*compiledRule
	logger *slog.Logger
	catFn  func(ruleCategory, eventCategory string) bool
	fields *fieldNames
	// profile is Config.Profile.
	profile bool

	// known holds the lower-cased product, category and service values
	// the rules name.
	known [3]map[string]bool

	mu sync.RWMutex
	// routes maps log sources as events write them to their index; canon
	// maps canonical log sources (see canonical) to the index built for
	// them.
	routes map[event.Logsource]*route
	canon  map[event.Logsource]*route

	scratch sync.Pool
}

type compiledRule struct {
	rule *sigma.Rule
	root *node // evaluation order tuned by reorder
	// written is the tree in the order the rule is written, for Explain.
	written *node
	// ls is the rule's log source, lower-cased for comparison.
	ls event.Logsource
	// clauses are the index's necessary trigger sets (at most
	// maxClauses); the rule is evaluated only when each has a hit.
	clauses [][]trigger
	indexed bool
	// blockers are literals any of which makes the rule false.
	blockers   []blocker
	unresolved []string
	profile    bool
	prof       ruleCounters
}

// ruleCounters are a rule's Config.Profile counts, added to atomically by
// concurrent Match calls.
type ruleCounters struct {
	evals, matches, nanos atomic.Int64
}

// route is everything one distinct event log source needs: the rules that
// apply to it and their literal index.
type route struct {
	rules  []*compiledRule
	words  int
	always []uint64 // rules without triggers: evaluated for every event
	// more[c-1] marks the rules with a clause c > 0, which must also hit.
	more   [maxClauses - 1][]uint64
	fields []fieldIndex
	// blocks is set when some rule has blockers.
	blocks bool
}

// The candidate bitsets: one section per clause number, then one for the
// rules a blocker rules out.
const (
	blockSection = maxClauses
	bitSections  = maxClauses + 1
)

// fieldIndex finds, in one field's text, the literals that wake rules.
type fieldIndex struct {
	name string
	fid  int32
	lits *gramIndex
	// patRules maps a pattern to the clauses it satisfies, each encoded
	// as route position<<2 | clause number, blockSection for a blocker (so
	// bitSections <= 4).
	patRules [][]int32
}

type scratch struct {
	route  *route          // the route of ls
	ls     event.Logsource // as the last event wrote it
	bits   []uint64
	fields fieldTable
	scan   scanScratch
}

// New compiles the collection's rules and applies its filters. Rules and
// filters that do not compile are reported (wrapping ErrCompile) and left
// out; the rest work. The collection's own parse errors are not repeated.
//
// A filter applies to every loaded rule whose id or name it lists, whatever
// its log source; the filter's own logsource is informational here.
// Correlation rules are not run by the engine: the caller hands
// coll.Correlations to internal/sigma/correlate, feeding it the matches.
func New(cfg Config, coll *sigma.Collection) (*Engine, []sigma.FileError) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		byRule:  map[*sigma.Rule]*compiledRule{},
		logger:  logger,
		routes:  map[event.Logsource]*route{},
		canon:   map[event.Logsource]*route{},
		known:   [3]map[string]bool{{}, {}, {}},
		catFn:   cfg.CategoryMatches,
		fields:  newFieldNames(),
		profile: cfg.Profile,
	}
	e.scratch.New = func() any { return &scratch{} }
	var errs []sigma.FileError

	// Filters first: each becomes "and not (filter)" on the rules it names.
	filters := map[string][]*node{}
	for _, f := range coll.Filters {
		c := &compiler{path: f.Path, placeholders: cfg.Placeholders, unresolved: map[string]bool{}}
		root := c.detection(f.Detection)
		for _, n := range c.leaves {
			n.fid = e.fields.id(n.field)
		}
		if len(c.errs) > 0 || root == nil {
			if len(c.errs) == 0 {
				c.errorf(f.Line, 0, fmt.Errorf("%w: filter %q has no condition", ErrCompile, f.Title))
			}
			errs = append(errs, c.errs...)
			continue
		}
		for _, ref := range f.Rules {
			filters[ref] = append(filters[ref], root)
		}
	}
	// Rules are independent until the index is built: compile them on
	// every core, then gather the results in load order so that errors,
	// field ids and rule order do not depend on scheduling.
	results := make([]ruleResult, len(coll.Rules))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(coll.Rules)/16))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(coll.Rules) {
					return
				}
				results[i] = compileRule(cfg.Placeholders, coll.Rules[i], filters)
			}
		})
	}
	wg.Wait()

	used := map[string]bool{}
	for _, res := range results {
		if len(res.errs) > 0 {
			errs = append(errs, res.errs...)
			continue
		}
		for _, key := range res.filtered {
			used[key] = true
		}
		for _, n := range res.leaves {
			n.fid = e.fields.id(n.field)
		}
		cr := res.rule
		cr.profile = cfg.Profile
		e.known[0][cr.ls.Product] = true
		e.known[1][cr.ls.Category] = true
		e.known[2][cr.ls.Service] = true
		e.rules = append(e.rules, cr)
		e.byRule[cr.rule] = cr
	}
	for ref := range filters {
		if !used[ref] {
			logger.Warn("sigma filter names a rule that is not loaded", "rule", ref)
		}
	}
	st := e.Stats()
	logger.Info("sigma rules compiled", "rules", st.Rules, "indexed", st.Indexed, "always_evaluated", st.Always, "failed", len(errs))
	return e, errs
}

// ruleResult is what compiling one rule yields, before the engine-wide
// steps (field ids, log source sets) that must run in load order.
type ruleResult struct {
	rule     *compiledRule
	errs     []sigma.FileError
	leaves   []*node  // field leaves in the order the rule names them
	filtered []string // filter keys applied
}

// compileRule compiles r and applies the filters naming it. It touches no
// engine state, so rules compile concurrently.
func compileRule(placeholders map[string][]string, r *sigma.Rule, filters map[string][]*node) ruleResult {
	c := &compiler{path: r.Path, placeholders: placeholders, unresolved: map[string]bool{}}
	root := c.detection(r.Detection)
	if root == nil && len(c.errs) == 0 {
		c.errorf(r.Line, 0, fmt.Errorf("%w: %q has no condition", ErrCompile, r.Title))
	}
	if len(c.errs) > 0 {
		return ruleResult{errs: c.errs}
	}
	var res ruleResult
	for _, key := range []string{r.ID, r.Name} {
		if key == "" {
			continue
		}
		for _, f := range filters[key] {
			res.filtered = append(res.filtered, key)
			root = &node{kind: nodeAnd, kids: []*node{root, {kind: nodeNot, kids: []*node{f}}}}
		}
	}
	memo := clauseMemo{} // reorder's copies share the leaves with root
	cr := &compiledRule{rule: r, root: memo.reorder(root), written: root, ls: lowerLogsource(r.Logsource)}
	cr.clauses = indexClauses(memo.clauses(root))
	cr.indexed = cr.clauses != nil
	cr.blockers = ruleBlockers(root)
	for u := range c.unresolved {
		cr.unresolved = append(cr.unresolved, u)
	}
	slices.Sort(cr.unresolved)
	res.rule, res.leaves = cr, c.leaves
	return res
}

// Stats describes how well the rules are indexed.
type Stats struct {
	Rules   int // compiled rules
	Indexed int // rules woken only by their literals
	Always  int // rules evaluated for every event of their log source
}

// Stats reports index coverage.
func (e *Engine) Stats() Stats {
	st := Stats{Rules: len(e.rules)}
	for _, r := range e.rules {
		if r.indexed {
			st.Indexed++
		} else {
			st.Always++
		}
	}
	return st
}

// Rules returns the compiled rules in load order.
func (e *Engine) Rules() []*sigma.Rule {
	out := make([]*sigma.Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.rule
	}
	return out
}

// Unresolved returns the expand placeholders of r that had no configured
// values (the items using them match nothing).
func (e *Engine) Unresolved(r *sigma.Rule) []string {
	if cr := e.byRule[r]; cr != nil {
		return cr.unresolved
	}
	return nil
}

// Match calls fn for every rule that matches ev, in load order. It does not
// allocate for events that match nothing once the event's log source has
// been seen. fn must not keep ev beyond the call if the caller reuses it.
func (e *Engine) Match(ev *event.Event, fn func(r *sigma.Rule)) {
	s := e.scratch.Get().(*scratch)
	// Events come in runs from one source: the last route is remembered
	// per scratch, sparing the shared map's hashing and lock.
	rt := s.route
	if rt == nil || ev.Logsource != s.ls {
		rt = e.route(ev.Logsource)
		s.route, s.ls = rt, ev.Logsource
	}
	if len(rt.rules) == 0 {
		e.scratch.Put(s)
		return
	}
	if cap(s.bits) < bitSections*rt.words {
		s.bits = make([]uint64, bitSections*rt.words)
	}
	pos := s.fields.resolve(e.fields, ev)
	cand := rt.mark(ev, pos, s.bits[:bitSections*rt.words], &s.scan)
	for w, word := range cand {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &= word - 1
			r := rt.rules[w<<6|b]
			if r.profile {
				if r.evalProfiled(ev, pos) {
					fn(r.rule)
				}
				continue
			}
			if r.root.eval(ev, pos) {
				fn(r.rule)
			}
		}
	}
	e.scratch.Put(s)
}

// evalProfiled is root.eval that also updates the rule's profile counts.
func (r *compiledRule) evalProfiled(ev *event.Event, pos []int32) bool {
	t0 := time.Now()
	ok := r.root.eval(ev, pos)
	r.prof.nanos.Add(int64(time.Since(t0)))
	r.prof.evals.Add(1)
	if ok {
		r.prof.matches.Add(1)
	}
	return ok
}

// RuleProfile is one rule's evaluation cost since the engine was built.
type RuleProfile struct {
	Rule *sigma.Rule
	// Evaluations counts full evaluations: events the index let through
	// to the rule's condition.
	Evaluations int64
	Matches     int64
	// Time is the total time spent in those evaluations (wall clock, so
	// it includes any time the goroutine was descheduled).
	Time time.Duration
}

// Profile returns every rule's counts in load order, or nil when
// Config.Profile was not set. It may be called while Match runs; the
// counts of one rule are then not read at one instant.
func (e *Engine) Profile() []RuleProfile {
	if !e.profile {
		return nil
	}
	out := make([]RuleProfile, len(e.rules))
	for i, r := range e.rules {
		out[i] = RuleProfile{Rule: r.rule, Evaluations: r.prof.evals.Load(), Matches: r.prof.matches.Load(), Time: time.Duration(r.prof.nanos.Load())}
	}
	return out
}

// mark finds the candidate rules for ev: bits (2*rt.words long) receives
// the hits on first clauses, with the always-evaluated rules, then those on
// second clauses; the first half, returned, ends up holding the rules
// whose every clause hit.
func (rt *route) mark(ev *event.Event, pos []int32, bits []uint64, sc *scanScratch) []uint64 {
	cand := bits[:rt.words]
	copy(cand, rt.always)
	clear(bits[rt.words:])
	for i := range rt.fields {
		fi := &rt.fields[i]
		if p := pos[fi.fid]; p >= 0 {
			fi.scan(ev.Fields[p].Value, bits, sc, i)
		}
	}
	for c := range rt.more {
		// A rule with a further clause is a candidate only if it hit too.
		need, hit := rt.more[c], bits[(c+1)*rt.words:(c+2)*rt.words]
		for w := range cand {
			cand[w] &^= need[w] &^ hit[w]
		}
	}
	if rt.blocks {
		blocked := bits[blockSection*rt.words : (blockSection+1)*rt.words]
		for w := range cand {
			cand[w] &^= blocked[w]
		}
	}
	return cand
}

// scan marks the clauses satisfied by literals in v's text; a list's
// items are scanned one by one, as matchers match a list when any item
// matches. bits holds the first-clause bitset then the second-clause one;
// slot is the field's position in its route, which picks its part of the
// value cache.
func (fi *fieldIndex) scan(v event.Value, bits []uint64, sc *scanScratch, slot int) {
	if v.Kind == event.List {
		for _, it := range v.Items {
			fi.scan(it, bits, sc, slot)
		}
		return
	}
	if v.Kind == event.Null || v.Str == "" {
		return
	}
	ce, cached := sc.cached(fi, slot, v.Str)
	var hits []int32
	if cached {
		hits = ce.hits[:ce.n]
	} else {
		sc.lower = lowerInto(sc.lower, v.Str)
		sc.hits = fi.lits.scanLower(sc.lower, sc.hits[:0])
		hits = sc.hits
		if ce != nil {
			// A miss: remember the hits unless there are too many.
			ce.reset(fi, v.Str)
			if len(hits) <= len(ce.hits) {
				ce.n = uint8(copy(ce.hits[:], hits))
			} else {
				ce.fi = nil
			}
		}
	}
	pr := fi.patRules
	words := len(bits) / bitSections
	for _, p := range hits {
		for _, code := range pr[p] {
			ri := int(code >> 2)
			bits[int(code&3)*words+(ri>>6)] |= 1 << (uint(ri) & 63)
		}
	}
}

// Explain returns the names of the fields whose items made r match ev
// (keyword searches give the fields the keyword was found in); nil when r
// does not match. It is for display and not tuned for speed.
func (e *Engine) Explain(r *sigma.Rule, ev *event.Event) []string {
	cr := e.byRule[r]
	if cr == nil {
		return nil
	}
	var out []string
	if !cr.written.explain(ev, e.fields.fieldsOf(ev), &out) {
		return nil
	}
	seen := map[string]bool{}
	uniq := out[:0]
	for _, f := range out {
		if f != "" && !seen[f] {
			seen[f] = true
			uniq = append(uniq, f)
		}
	}
	return uniq
}

func lowerLogsource(ls event.Logsource) event.Logsource {
	return event.Logsource{Product: strings.ToLower(ls.Product), Category: strings.ToLower(ls.Category), Service: strings.ToLower(ls.Service)}
}

// applies reports whether a rule with log source rule sees events from ev
// (both lower-cased): every attribute the rule sets must equal the event's
// (the category may instead be one catFn accepts), and an event with no log
// source at all is seen by every rule.
func applies(rule, ev event.Logsource, catFn func(string, string) bool) bool {
	if ev.IsZero() {
		return true
	}
	return (rule.Product == "" || rule.Product == ev.Product) &&
		(rule.Category == "" || rule.Category == ev.Category ||
			(catFn != nil && ev.Category != otherValue && catFn(rule.Category, ev.Category))) &&
		(rule.Service == "" || rule.Service == ev.Service)
}

func (e *Engine) route(ls event.Logsource) *route {
	e.mu.RLock()
	rt := e.routes[ls]
	e.mu.RUnlock()
	if rt != nil {
		return rt
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if rt := e.routes[ls]; rt != nil {
		return rt
	}
	key := e.canonical(ls)
	rt = e.canon[key]
	if rt == nil {
		rt = e.buildRoute(key)
		e.canon[key] = rt
	}
	if len(e.routes) < maxRoutes {
		e.routes[ls] = rt
	}
	return rt
}

// otherValue stands for a log source value that no rule names: all such
// values select the same rules, so they share one index. It cannot equal
// a lower-cased rule value.
const otherValue = "\x00other"

// canonical lower-cases ls and replaces values no rule names by
// otherValue. The canonical log sources are bounded by the rules' own
// values, so hostile or chaotic sources cannot make the engine build
// indexes without end.
func (e *Engine) canonical(ls event.Logsource) event.Logsource {
	c := lowerLogsource(ls)
	if c.Product != "" && !e.known[0][c.Product] {
		c.Product = otherValue
	}
	if c.Category != "" && !e.knownCategory(c.Category) {
		c.Category = otherValue
	}
	if c.Service != "" && !e.known[2][c.Service] {
		c.Service = otherValue
	}
	return c
}

// knownCategory reports whether some rule sees events of category cat
// (lower-cased) by name: its own, or one the CategoryMatches function
// relates to it. An event category only reachable through the function
// must keep its name, or the rules naming its parent would not see it.
func (e *Engine) knownCategory(cat string) bool {
	if e.known[1][cat] {
		return true
	}
	if e.catFn == nil || cat == otherValue {
		return false
	}
	for rc := range e.known[1] {
		if rc != "" && e.catFn(rc, cat) {
			return true
		}
	}
	return false
}

// buildRoute selects the rules that apply to an event log source and
// builds one automaton per triggered field over their literals.
func (e *Engine) buildRoute(ls event.Logsource) *route {
	rt := &route{}
	for _, r := range e.rules {
		if applies(r.ls, ls, e.catFn) {
			rt.rules = append(rt.rules, r)
		}
	}
	rt.words = (len(rt.rules) + 63) / 64
	rt.always = make([]uint64, rt.words)
	for c := range rt.more {
		rt.more[c] = make([]uint64, rt.words)
	}
	type patKey struct {
		lit    string
		anchor anchor
	}
	type fieldPats struct {
		pats    []string
		anchors []anchor
		index   map[patKey]int
		rules   [][]int32
	}
	byField := map[string]*fieldPats{}
	var order []string
	add := func(field, lit string, an anchor, code int32) {
		fp := byField[field]
		if fp == nil {
			fp = &fieldPats{index: map[patKey]int{}}
			byField[field] = fp
			order = append(order, field)
		}
		k := patKey{lit, an}
		p, ok := fp.index[k]
		if !ok {
			p = len(fp.pats)
			fp.index[k] = p
			fp.pats = append(fp.pats, lit)
			fp.anchors = append(fp.anchors, an)
			fp.rules = append(fp.rules, nil)
		}
		if rs := fp.rules[p]; len(rs) == 0 || rs[len(rs)-1] != code {
			fp.rules[p] = append(rs, code)
		}
	}
	for i, r := range rt.rules {
		for _, b := range r.blockers {
			rt.blocks = true
			add(b.field, b.lit, b.anchor, int32(i<<2|blockSection))
		}
		if !r.indexed {
			rt.always[i>>6] |= 1 << (uint(i) & 63)
			continue
		}
		for c := 1; c < len(r.clauses); c++ {
			rt.more[c-1][i>>6] |= 1 << (uint(i) & 63)
		}
		for ci, clause := range r.clauses {
			for _, t := range clause {
				add(t.field, t.lit, 0, int32(i<<2|ci))
			}
		}
	}
	for _, f := range order {
		fp := byField[f]
		rt.fields = append(rt.fields, fieldIndex{name: f, fid: e.fields.ids[f], lits: newAnchoredGramIndex(fp.pats, fp.anchors), patRules: fp.rules})
	}
	return rt
}
