package engine

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// trigger is one (field, literal) pair: if the rule matches an event, the
// lower-cased text of that field contains the literal.
type trigger struct {
	field, lit string
}

// clauses derives necessary conditions for n as a conjunction of trigger
// sets: whenever n matches, every returned set has at least one pair that
// holds. An empty result means nothing can be derived (the rule must be
// evaluated for every event); an empty set within it means n never matches.
//
// AND needs all its children, so every child's sets stay necessary; OR
// needs one child, so its only derivable set is the union of one set from
// each child (the cheapest of each); NOT and keyword searches give none.
func clauses(n *node) [][]trigger {
	return clauseMemo{}.clauses(n)
}

// clauseMemo remembers the clauses of the nodes of one tree: reorder asks
// for the selectivity of every AND child at every level, which without it
// derives the sets of deep subtrees once per ancestor. The stored slices
// are shared, so callers only copy out of them.
type clauseMemo map[*node][][]trigger

func (m clauseMemo) clauses(n *node) [][]trigger {
	if cs, ok := m[n]; ok {
		return cs
	}
	cs := m.derive(n)
	m[n] = cs
	return cs
}

func (m clauseMemo) derive(n *node) [][]trigger {
	switch n.kind {
	case nodeField:
		if n.m.MatchesMissing() {
			return nil
		}
		lits, ok := n.m.Literals()
		if !ok || len(lits) == 0 {
			lits = n.runeLits
			if len(lits) == 0 {
				return nil
			}
		}
		set := make([]trigger, 0, len(lits))
		for _, l := range lits {
			if l == "" {
				return nil
			}
			set = append(set, trigger{field: n.field, lit: shorten(l)})
		}
		return [][]trigger{dedupe(set)}
	case nodeFalse:
		return [][]trigger{{}}
	case nodeAnd:
		var out [][]trigger
		for _, k := range n.kids {
			out = append(out, m.clauses(k)...)
		}
		return out
	case nodeOr:
		var set []trigger
		for _, k := range n.kids {
			cs := m.clauses(k)
			if len(cs) == 0 {
				return nil
			}
			set = append(set, cheapest(cs)...)
		}
		return [][]trigger{dedupe(set)}
	}
	return nil
}

func cheapest(cs [][]trigger) []trigger {
	best := cs[0]
	for _, c := range cs[1:] {
		if better(c, best) {
			best = c
		}
	}
	return best
}

// maxClauses is how many of a rule's necessary sets the index checks: a
// rule is evaluated only when each of them has a hit. Two catch the common
// "this program AND this argument" shape; more buy little (measured on the
// process-creation rules and synthetic events: three cut candidates from
// 5.4 to 4.7 per event, but the extra sets are made of commoner literals
// whose hits cost the prefilter as much as the evaluations saved). At most
// four: patRules keeps the clause number in two bits.
const maxClauses = 2

// indexClauses picks the cheapest sets of a rule, at most maxClauses of
// them, skipping duplicates. nil means the rule cannot be indexed.
func indexClauses(cs [][]trigger) [][]trigger {
	if len(cs) == 0 {
		return nil
	}
	sorted := append([][]trigger(nil), cs...)
	sortByCost(sorted)
	var out [][]trigger
	for _, c := range sorted {
		if len(c) == 0 {
			return [][]trigger{c} // never matches: one empty set says so
		}
		dup := false
		for _, o := range out {
			if sameSet(o, c) {
				dup = true
			}
		}
		if !dup {
			out = append(out, c)
		}
		if len(out) == maxClauses {
			break
		}
	}
	return out
}

func sortByCost(cs [][]trigger) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && better(cs[j], cs[j-1]); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

func sameSet(a, b []trigger) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[trigger]bool, len(a))
	for _, t := range a {
		m[t] = true
	}
	for _, t := range b {
		if !m[t] {
			return false
		}
	}
	return true
}

// better reports whether trigger set a is expected to wake its rule less
// often than b.
func better(a, b []trigger) bool {
	return cost(a) < cost(b)
}

// cost estimates how often a trigger set fires: the sum over its literals
// of a rough probability that an event's field holds the literal. Longer
// literals are rarer; fragments of what nearly every Windows event holds
// (system paths, the usual parent processes, vendor strings) are common
// whatever their length. The estimate only steers which AND branch
// indexes a rule; any choice is correct.
func cost(s []trigger) float64 {
	c := 0.0
	for _, t := range s {
		c += literalFrequency(t.lit)
	}
	return c
}

func literalFrequency(lit string) float64 {
	if commonLiteral(lit) {
		return 0.5
	}
	// One- and two-byte literals ("-", "/c") are in most command lines.
	switch len(lit) {
	case 1:
		return 0.7
	case 2:
		return 0.4
	}
	p := 0.2
	for i := 3; i < len(lit) && p > 1e-4; i++ {
		p *= 0.5
	}
	return p
}

// commonLiteral reports whether lit is part of a value that most Windows
// process events hold (so a rule woken by it is woken by nearly every
// event): the usual system paths and parents, vendor and integrity
// strings, and the most frequent program names.
func commonLiteral(lit string) bool {
	if lit == "" {
		return true // in every value, as strings.Contains says
	}
	if len(lit) <= maxLiteral {
		_, ok := commonFragments()[lit]
		return ok
	}
	for _, v := range commonValues {
		if strings.Contains(v, lit) {
			return true
		}
	}
	return false
}

// commonValues are the values commonLiteral looks in.
var commonValues = [...]string{
	`c:\windows\system32\svchost.exe -k netsvcs -p -s schedule`,
	`c:\windows\system32\windowspowershell\v1.0\powershell.exe`,
	`c:\windows\system32\services.exe`,
	`c:\windows\system32\conhost.exe`,
	`c:\windows\system32\runtimebroker.exe`,
	`c:\windows\system32\dllhost.exe`,
	`c:\windows\system32\cmd.exe`,
	`c:\windows\syswow64\`,
	`c:\windows\explorer.exe`,
	`c:\program files (x86)\microsoft\edge\application\msedge.exe`,
	`c:\program files\google\chrome\application\chrome.exe`,
	`c:\users\public\appdata\local\temp\`,
	`c:\users\default\appdata\roaming\microsoft\windows\`,
	`c:\programdata\microsoft\windows defender\platform\`,
	`microsoft® windows® operating system`,
	`microsoft corporation`,
	`nt authority\system`,
	`nt authority\local service`,
	`nt authority\network service`,
	`host process for windows services`,
	`windows command processor`,
	`windows powershell`,
	`console window host`,
	`s-1-16-16384`, `s-1-16-12288`, `s-1-16-8192`,
	`system`, `medium`, `high`, `low`,
	`.exe`, `.dll`, `.ps1`, `.bat`, `.tmp`,
}

// commonFragments holds every substring of commonValues up to maxLiteral
// bytes, which covers every call from the compiler (literals are shortened
// first): a map probe instead of ~40 substring searches, which made
// commonLiteral a third of engine.New. Built once, then only read.
var commonFragments = sync.OnceValue(func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, v := range commonValues {
		for i := range len(v) {
			for j := i + 1; j <= len(v) && j-i <= maxLiteral; j++ {
				m[v[i:j]] = struct{}{}
			}
		}
	}
	return m
})

func dedupe(s []trigger) []trigger {
	seen := make(map[trigger]bool, len(s))
	out := s[:0]
	for _, t := range s {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// maxLiteral bounds the length of indexed literals. Any substring of a
// necessary literal is necessary too, and sixteen bytes are already rare in
// telemetry, while every byte more adds automaton states (rule sets hold
// hashes of 64 bytes and command-line fragments of 80): the smaller
// automaton stays in cache and scans faster.
const maxLiteral = 16

// shorten returns the window of lit, at most maxLiteral long, that looks
// rarest: not a common fragment, with the most distinct bytes.
func shorten(lit string) string {
	if len(lit) <= maxLiteral {
		return lit
	}
	best, bestScore := lit[:maxLiteral], -1
	for i := 0; i+maxLiteral <= len(lit); i++ {
		w := lit[i : i+maxLiteral]
		var seen [256]bool
		score := 0
		for j := 0; j < len(w); j++ {
			if !seen[w[j]] {
				seen[w[j]] = true
				score++
			}
		}
		if commonLiteral(w) {
			score -= maxLiteral
		}
		if score > bestScore {
			best, bestScore = w, score
		}
	}
	return best
}

// reorder returns a copy of n whose AND children are evaluated most
// selective first, negations last, so that a candidate that does not match
// is rejected by its cheapest test. The original tree is kept for Explain,
// which reports fields in the order the rule names them.
func reorder(n *node) *node {
	return clauseMemo{}.reorder(n)
}

func (m clauseMemo) reorder(n *node) *node {
	if len(n.kids) == 0 {
		return n
	}
	c := *n
	c.kids = make([]*node, len(n.kids))
	for i, k := range n.kids {
		c.kids[i] = m.reorder(k)
	}
	if c.kind != nodeAnd {
		return &c
	}
	keys := make([]float64, len(c.kids))
	for i, k := range c.kids {
		keys[i] = m.selectivity(k)
	}
	// Insertion sort: stable and AND nodes have few children.
	for i := 1; i < len(c.kids); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
			c.kids[j], c.kids[j-1] = c.kids[j-1], c.kids[j]
		}
	}
	return &c
}

// selectivity estimates how often n is true: the cost of its cheapest
// necessary set, 1 when nothing is known, more for negations (usually
// true: they are exclusions).
func (m clauseMemo) selectivity(n *node) float64 {
	if n.kind == nodeNot {
		return 2
	}
	cs := m.clauses(n)
	if len(cs) == 0 {
		return 1
	}
	return min(cost(cheapest(cs)), 1)
}

// blocker is a (field, literal, anchor) whose presence in an event makes
// a rule false: the literal makes one of the rule's exclusions ("and not
// filter") true. The index drops a woken rule when one of its blockers
// hits, which spares evaluating the many rules whose selection names a
// common program and whose filters exclude its usual locations.
type blocker struct {
	field, lit string
	anchor     anchor
}

// maxBlockers bounds the blockers kept per rule: each is a pattern the
// prefilter looks for, and a handful of the commonest exclusions does most
// of the work.
const maxBlockers = 24

// ruleBlockers returns up to maxBlockers blockers for a rule tree,
// commonest first.
func ruleBlockers(root *node) []blocker {
	bs := blockers(root)
	seen := map[blocker]bool{}
	out := bs[:0]
	for _, b := range bs {
		// One-byte literals cannot be anchored; very long ones are
		// rare and only grow the index.
		if seen[b] || len(b.lit) > 256 || (len(b.lit) < 2 && b.anchor != 0) {
			continue
		}
		seen[b] = true
		out = append(out, b)
	}
	slices.SortStableFunc(out, func(a, b blocker) int {
		return cmp.Compare(literalFrequency(shorten(b.lit)), literalFrequency(shorten(a.lit)))
	})
	if len(out) > maxBlockers {
		out = out[:maxBlockers]
	}
	return out
}

// blockers derives literals whose presence makes n false: a child of an AND
// that is false, or a NOT whose operand is certainly true.
func blockers(n *node) []blocker {
	switch n.kind {
	case nodeAnd:
		var out []blocker
		for _, k := range n.kids {
			out = append(out, blockers(k)...)
		}
		return out
	case nodeNot:
		return sufficient(n.kids[0])
	}
	return nil
}

// sufficient derives literals whose presence makes n true.
func sufficient(n *node) []blocker {
	switch n.kind {
	case nodeField:
		var out []blocker
		for _, s := range n.m.Sufficient() {
			out = append(out, blocker{field: n.field, lit: s.Lit, anchor: anchor(s.Anchor)})
		}
		return out
	case nodeOr:
		var out []blocker
		for _, k := range n.kids {
			out = append(out, sufficient(k)...)
		}
		return out
	case nodeNot:
		return blockers(n.kids[0])
	}
	return nil
}
