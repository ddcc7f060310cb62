package engine

// trigger is one (field, literal) pair: if the rule matches an event, the
// lower-cased text of that field contains the literal.
type trigger struct {
	field, lit string
}

// triggers derives a necessary trigger set for n: whenever n matches, at
// least one pair of the set holds. ok is false when none can be derived (the
// rule must then always be evaluated).
//
// AND needs only one child's set, so it takes the most selective; OR needs
// every child's, so it takes the union; NOT and keyword searches give none.
func triggers(n *node) (set []trigger, ok bool) {
	switch n.kind {
	case nodeField:
		if n.m.MatchesMissing() {
			return nil, false
		}
		lits, ok := n.m.Literals()
		if !ok || len(lits) == 0 {
			return nil, false
		}
		set = make([]trigger, 0, len(lits))
		for _, l := range lits {
			if l == "" {
				return nil, false
			}
			set = append(set, trigger{field: n.field, lit: l})
		}
		return set, true
	case nodeFalse:
		// Matches nothing: the empty set is a valid (vacuous) trigger set.
		return nil, true
	case nodeAnd:
		var best []trigger
		found := false
		for _, k := range n.kids {
			s, ok := triggers(k)
			if !ok {
				continue
			}
			if !found || better(s, best) {
				best, found = s, true
			}
		}
		return best, found
	case nodeOr:
		for _, k := range n.kids {
			s, ok := triggers(k)
			if !ok {
				return nil, false
			}
			set = append(set, s...)
		}
		return dedupe(set), true
	}
	return nil, false
}

// better reports whether trigger set a is more selective than b: its
// weakest literal is longer (short literals such as "\\" or ".exe" fire on
// most events), then it has fewer literals.
func better(a, b []trigger) bool {
	sa, sb := strength(a), strength(b)
	if sa != sb {
		return sa > sb
	}
	return len(a) < len(b)
}

// strength is the length of the weakest literal, capped so that among
// long literals the smaller set wins. Literals that nearly every process
// event holds score low whatever their length.
func strength(s []trigger) int {
	if len(s) == 0 {
		return 1 << 20 // matches nothing: ideal
	}
	min := 1 << 20
	for _, t := range s {
		l := len(t.lit)
		if commonLiteral(t.lit) {
			l = 1
		}
		if l > 12 {
			l = 12
		}
		if l < min {
			min = l
		}
	}
	return min
}

// commonLiteral reports literals found in most Windows events; a trigger
// on them wakes the rule for nearly every event, so another child is better.
func commonLiteral(lit string) bool {
	switch lit {
	case ".exe", "\\", "c:\\", "\\windows\\", "c:\\windows\\", "\\system32\\",
		"c:\\windows\\system32\\", ".dll", "-", "/", "\\appdata\\", "\\users\\",
		"c:\\users\\", "\\temp\\", "windows", "system32":
		return true
	}
	return false
}

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
