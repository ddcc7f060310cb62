package match

// Automaton is an Aho-Corasick DFA over byte classes, case folded at build
// time.
//
// Why our own: the Go libraries looked at do not fit the engine's hot loop.
// github.com/cloudflare/ahocorasick has no case-insensitive mode and returns
// a freshly allocated slice of hits per search; github.com/petar-dambovaliev/
// aho-corasick folds ASCII case but reports only non-overlapping matches
// (FindAll builds a []Match, Iter returns a *Match per hit). The engine needs
// every pattern occurring, overlaps included, with no allocation per event;
// a full DFA over a few dozen byte classes is ~150 lines and does exactly
// that.
//
// Layout: bytes are mapped to classes (each distinct folded byte in the
// patterns gets one; every other byte shares class 0), so the transition
// table is states × classes int32 instead of states × 256. Each state's
// output (its own patterns and those of its suffix states) is flattened into
// one slice, so Scan does a table lookup per byte and a range loop on hits.
type Automaton struct {
	classOf   [256]uint8
	nclass    int
	trans     []int32 // state*nclass + class -> state
	outStart  []int32 // outputs of state s: out[outStart[s]:outStart[s+1]]
	out       []int32
	empty     []int32 // patterns "" (reported once per Scan)
	npatterns int
}

// NewAutomaton builds an Automaton for patterns, which are matched ignoring
// ASCII case. Pattern indexes given to Scan's callback are indexes into
// patterns; duplicates are each reported.
func NewAutomaton(patterns []string) *Automaton {
	a := &Automaton{npatterns: len(patterns)}
	// Byte classes from the folded patterns.
	var used [256]bool
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[lowerASCII(p[i])] = true
		}
	}
	// At most 230 distinct bytes remain after folding, so classes fit a byte.
	next := 1
	for b := 0; b < 256; b++ {
		if used[b] {
			a.classOf[b] = uint8(next)
			next++
		}
	}
	a.nclass = next
	for b := 'A'; b <= 'Z'; b++ {
		a.classOf[b] = a.classOf[b+'a'-'A']
	}
	nc := a.nclass

	// Trie. There are at most 1+total pattern length states: reserving
	// that up front spares the repeated growth that dominated building
	// large automatons.
	maxStates := 1
	for _, p := range patterns {
		maxStates += len(p)
	}
	trans := make([]int32, nc, maxStates*nc) // state 0 = root; -1 = no edge yet
	for i := range trans {
		trans[i] = -1
	}
	own := make([][]int32, 1, maxStates)
	for pi, p := range patterns {
		if p == "" {
			a.empty = append(a.empty, int32(pi))
			continue
		}
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := int(a.classOf[p[i]])
			t := trans[int(s)*nc+c]
			if t < 0 {
				t = int32(len(own))
				own = append(own, nil)
				n := len(trans)
				trans = trans[:n+nc]
				for j := n; j < n+nc; j++ {
					trans[j] = -1
				}
				trans[int(s)*nc+c] = t
			}
			s = t
		}
		own[s] = append(own[s], int32(pi))
	}
	nstates := len(own)

	// Breadth-first: failure links, completing the DFA and merging outputs.
	fail := make([]int32, nstates)
	// Each state's outputs are its own plus its failure state's, which
	// breadth-first order has already placed: they are appended to one
	// flat slice (state s owns flat[outLo[s]:outHi[s]]) rather than a
	// slice per state.
	outLo, outHi := make([]int32, nstates), make([]int32, nstates)
	var flat []int32
	queue := make([]int32, 0, nstates)
	for c := range nc {
		t := trans[c]
		if t < 0 {
			trans[c] = 0
			continue
		}
		fail[t] = 0
		queue = append(queue, t)
	}
	flat = append(flat, own[0]...)
	outHi[0] = int32(len(flat))
	for qi := 0; qi < len(queue); qi++ {
		s := queue[qi]
		outLo[s] = int32(len(flat))
		flat = append(flat, own[s]...)
		f := fail[s]
		flat = append(flat, flat[outLo[f]:outHi[f]]...)
		outHi[s] = int32(len(flat))
		for c := range nc {
			t := trans[int(s)*nc+c]
			if t < 0 {
				trans[int(s)*nc+c] = trans[int(fail[s])*nc+c]
				continue
			}
			fail[t] = trans[int(fail[s])*nc+c]
			queue = append(queue, t)
		}
	}
	// Premultiply targets by nc so Scan indexes without multiplying, and
	// mark states with output by storing the offset complemented (negative):
	// the common no-output step is then one load and one sign test.
	for i, t := range trans {
		v := t * int32(nc)
		if outHi[t] > outLo[t] {
			v = ^v
		}
		trans[i] = v
	}
	a.trans = trans
	a.outStart = make([]int32, nstates+1)
	a.out = make([]int32, 0, len(flat))
	for s := range nstates {
		a.outStart[s] = int32(len(a.out))
		a.out = append(a.out, flat[outLo[s]:outHi[s]]...)
	}
	a.outStart[nstates] = int32(len(a.out))
	return a
}

// Scan calls fn with the index of every pattern occurring in s, ignoring
// ASCII case: once per occurrence, overlapping occurrences included, in the
// order their ends appear in s. An empty pattern is reported once. Scan does
// not allocate and is safe for concurrent use.
func (a *Automaton) Scan(s string, fn func(pattern int)) {
	for _, p := range a.empty {
		fn(int(p))
	}
	if len(a.out) == 0 {
		return
	}
	nc := int32(a.nclass)
	trans, outStart, out := a.trans, a.outStart, a.out
	off := int32(0)
	for i := 0; i < len(s); i++ {
		v := trans[off+int32(a.classOf[s[i]])]
		if v >= 0 {
			off = v
			continue
		}
		off = ^v
		st := off / nc
		for _, p := range out[outStart[st]:outStart[st+1]] {
			fn(int(p))
		}
	}
}

// Len returns the number of patterns.
func (a *Automaton) Len() int { return a.npatterns }

// matchesAny reports whether any pattern occurs in s, stopping at the first.
func (a *Automaton) matchesAny(s string) bool {
	if len(a.empty) > 0 {
		return true
	}
	trans := a.trans
	off := int32(0)
	for i := 0; i < len(s); i++ {
		v := trans[off+int32(a.classOf[s[i]])]
		if v < 0 {
			return true
		}
		off = v
	}
	return false
}
