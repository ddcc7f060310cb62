package engine

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
)

// gramIndex reports which of a set of literals occur in a text, ignoring
// ASCII case. It is the engine's per-field prefilter.
//
// Why not one Aho-Corasick DFA per field: the process-creation rules put
// about 5,000 literals on CommandLine; their DFA has ~35,000 states and a
// transition table of tens of megabytes, so every byte scanned is a cache
// miss. Here each literal of four bytes or more is keyed by its rarest
// four-byte window: the scan rolls a 32-bit window over the text and tests
// a bitmap of a few kilobytes that stays in L1; only a set bit leads to
// the table and a comparison of the full literal in place (its first
// sixteen bytes are stored in the entry). The bitmap sets two bits per key
// in one word, for under 1% false positives.
//
// When a field has no literal shorter than five bytes, each literal is
// keyed by two (or, from seven bytes, four) consecutive windows and the
// scan tests only every second (fourth) window of the text: hashes and
// file names cost a half or a quarter of the tests. Literals may be
// anchored to the start or end of the text (the engine's blockers).
//
// Literals of two and three bytes are keyed by their last two bytes, tested
// in a direct 64-kilobit bitmap in the same pass; most are non-ASCII runes
// (homoglyph and emoji rules), whose bytes never occur in ASCII text, so
// they cost one well-predicted test per byte instead of a second pass with
// an automaton. One-byte literals are found with strings.IndexByte.
type gramIndex struct {
	// tiers hold the literals of four bytes or more by stride, densest
	// first; see gramTier.
	tiers []gramTier

	pairs     *[1 << 10]uint64 // bit per last-two-bytes key; nil when none
	pairTable gramTable
	ones      []gramEntry // one-byte literals
}

// gramTier finds literals long enough to be found by looking at every
// stride-th window of the text only: a literal of at least
// gramLen+stride-1 bytes is keyed by stride consecutive windows, and one of
// them starts at a multiple of stride wherever the literal occurs. Long
// literals (most of them: hashes, paths, command-line fragments) so cost
// a quarter of the bitmap tests per byte of text.
type gramTier struct {
	stride int
	bloom  []uint64
	shift  uint32 // hash >> shift indexes the bloom bitmap
	table  gramTable
}

// strides are the tiers' strides, densest first.
var strides = [...]int{1, 2, 4}

// strideFor returns the tier of a literal of n >= gramLen bytes.
func strideFor(n int) int {
	st := 1
	for _, s := range strides {
		if n >= gramLen+s-1 {
			st = s
		}
	}
	return st
}

// gramTable is an open-addressing table from a window key to its entries
// (entries[start:end]); end == 0 marks a free slot. A Go map costs more per
// probe and scatters the entries.
type gramTable struct {
	slots   []gramSlot
	tshift  uint32
	entries []gramEntry
}

type gramSlot struct{ key, start, end uint32 }

type gramEntry struct {
	// w holds the literal's first sixteen bytes (zero-padded), so that a
	// window hit is confirmed with two loads from the text and none from
	// the literal's own memory, usually a cache miss of its own.
	w      [2]uint64
	lit    string // ASCII-lower-cased
	idx    int32  // the literal's index as given to newGramIndex
	off    int16  // where the window starts in the literal
	anchor anchor // where the literal must occur to count
}

func newGramEntry(lit string, idx, off int, an anchor) gramEntry {
	e := gramEntry{lit: lit, idx: int32(idx), off: int16(off), anchor: an}
	var b [16]byte
	copy(b[:], lit)
	e.w[0] = binary.LittleEndian.Uint64(b[:8])
	e.w[1] = binary.LittleEndian.Uint64(b[8:])
	return e
}

// anchor restricts where a literal counts: at the start of the text, at its
// end, or both (the whole text). The engine's exclusion filters
// (startswith, endswith, equals) need them; trigger literals have none.
type anchor uint8

const (
	anchorStart anchor = 1
	anchorEnd   anchor = 2
)

const gramLen = 4

func newGramIndex(lits []string) *gramIndex {
	return newAnchoredGramIndex(lits, nil)
}

// newAnchoredGramIndex is newGramIndex with an anchor per literal (nil:
// none). One-byte literals cannot be anchored.
func newAnchoredGramIndex(lits []string, anchors []anchor) *gramIndex {
	g := &gramIndex{}
	type tierKeys struct {
		byKey map[uint32][]gramEntry
		keys  []uint32
	}
	var tiers [len(strides)]tierKeys
	pairs := map[uint32][]gramEntry{}
	var pairKeys []uint32
	// One tier per index: a denser one costs a test per byte anyway, so
	// the longer literals join it rather than add tests of their own.
	// Two- and three-byte literals are found in the dense pass.
	stride := strides[len(strides)-1]
	for _, l := range lits {
		switch {
		case len(l) >= gramLen:
			stride = min(stride, strideFor(len(l)))
		case len(l) >= 2:
			stride = 1
		}
	}
	for i, l := range lits {
		l = lowerASCII(l)
		var an anchor
		if anchors != nil {
			an = anchors[i]
		}
		switch {
		case len(l) == 0:
			// The engine never indexes "": it would match every text.
		case len(l) == 1 && an != 0:
			// Not supported: the literal is never reported.
		case len(l) == 1:
			g.ones = append(g.ones, newGramEntry(l, i, 0, 0))
		case len(l) < gramLen:
			off := len(l) - 2
			k := uint32(l[off])<<8 | uint32(l[off+1])
			if _, ok := pairs[k]; !ok {
				pairKeys = append(pairKeys, k)
			}
			pairs[k] = append(pairs[k], newGramEntry(l, i, off, an))
		default:
			st := stride
			ti := 0
			for strides[ti] != st {
				ti++
			}
			tk := &tiers[ti]
			if tk.byKey == nil {
				tk.byKey = map[uint32][]gramEntry{}
			}
			off := rarestWindows(l, st)
			if off+st-1 > math.MaxInt16 {
				off = 0
			}
			for j := off; j < off+st; j++ {
				k := gramKey(l[j : j+gramLen])
				if _, ok := tk.byKey[k]; !ok {
					tk.keys = append(tk.keys, k)
				}
				tk.byKey[k] = append(tk.byKey[k], newGramEntry(l, i, j, an))
			}
		}
	}
	for ti, tk := range tiers {
		if len(tk.keys) == 0 {
			continue
		}
		// About 32 bits per key keeps false positives near 3% of the
		// windows looked at.
		bits := uint32(10)
		for (1<<bits) < 32*len(tk.keys) && bits < 20 {
			bits++
		}
		t := gramTier{stride: strides[ti], bloom: make([]uint64, (1<<bits)/64), shift: 32 - bits}
		for _, k := range tk.keys {
			t.bloom[gramHash(k)>>t.shift>>6] |= bloomBits(gramHash(k), t.shift)
		}
		t.table.build(tk.byKey, tk.keys)
		g.tiers = append(g.tiers, t)
	}
	if len(pairKeys) > 0 {
		g.pairs = new([1 << 10]uint64)
		for _, k := range pairKeys {
			g.pairs[k>>6] |= 1 << (k & 63)
		}
		g.pairTable.build(pairs, pairKeys)
	}
	return g
}

func (t *gramTable) build(byKey map[uint32][]gramEntry, keys []uint32) {
	tbits := uint32(4)
	for (1 << tbits) < 2*len(keys) {
		tbits++
	}
	t.slots = make([]gramSlot, 1<<tbits)
	t.tshift = 32 - tbits
	mask := uint32(len(t.slots) - 1)
	for _, k := range keys {
		start := uint32(len(t.entries))
		t.entries = append(t.entries, byKey[k]...)
		i := gramHash(k) >> t.tshift
		for t.slots[i].end != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = gramSlot{key: k, start: start, end: uint32(len(t.entries))}
	}
}

// lookup returns the entries whose window is k.
func (t *gramTable) lookup(k uint32) []gramEntry {
	mask := uint32(len(t.slots) - 1)
	for i := gramHash(k) >> t.tshift; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.end == 0 {
			return nil
		}
		if s.key == k {
			return t.entries[s.start:s.end]
		}
	}
}

func gramHash(k uint32) uint32 { return k * 0x9E3779B1 }

// bloomBits is the mask of the two bits a key with hash h sets in its
// bitmap word (h>>shift>>6): the word and the first bit come from the high
// bits, the second from bits 6-11, which the word index never uses
// (shift >= 12). Two bits in one word cut false positives from about 3% to
// under 1% at the cost of one more shift per window.
func bloomBits(h, shift uint32) uint64 {
	return 1<<(h>>shift&63) | 1<<(h>>6&63)
}

func gramKey(w string) uint32 {
	return uint32(w[0])<<24 | uint32(w[1])<<16 | uint32(w[2])<<8 | uint32(w[3])
}

func lowerByte(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i]-'A' < 26 {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lowerByte(b[j])
			}
			return string(b)
		}
	}
	return s
}

// rarestWindows picks the offset of the run of n consecutive four-byte
// windows of l least likely to appear in ordinary text, so that the bitmap
// rarely sends the scan to the table. len(l) >= gramLen+n-1.
func rarestWindows(l string, n int) int {
	best, bestScore := 0, 1<<30 // lower is rarer
	for i := 0; i+gramLen+n-1 <= len(l); i++ {
		score := 0
		for j := i; j < i+n; j++ {
			score += windowScore(l, j)
		}
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// rarestWindow is rarestWindows for one window.
func rarestWindow(l string) int { return rarestWindows(l, 1) }

func windowScore(l string, i int) int {
	score := 0
	for j := i; j < i+gramLen; j++ {
		score += byteCommonness(l[j])
	}
	if commonLiteral(l[i : i+gramLen]) {
		score += 40
	}
	// Prefer later windows slightly: literals share prefixes
	// ("sha256=", "c:\\windows\\") more than endings.
	return 4*score - min(i, 8)
}

// byteCommonness is a rough frequency rank of a byte in command lines and
// paths: separators and frequent letters high, digits and rare
// punctuation low.
func byteCommonness(c byte) int {
	switch {
	case c == ' ' || c == '\\' || c == '.' || c == 'e' || c == '=' || c == ',' || c == '"':
		return 10
	case strings.IndexByte("taoinsrlcm:", c) >= 0:
		return 8
	case strings.IndexByte("dhupwgfxby/-_", c) >= 0:
		return 5
	case c >= 'a' && c <= 'z':
		return 3
	case c >= '0' && c <= '9':
		return 6
	}
	return 1
}

// scan calls fn with the index of each literal found in s (possibly more
// than once). It allocates a buffer for the lowered text: the engine uses
// scanLower with a reused one.
func (g *gramIndex) scan(s string, fn func(lit int)) {
	for _, p := range g.scanLower(lowerInto(nil, s), nil) {
		fn(int(p))
	}
}

// lowerInto writes s with its ASCII letters lower-cased into dst's
// storage, growing it if needed, eight bytes at a time: lowering once lets
// the scan and the literal checks compare bytes as they are.
func lowerInto(dst []byte, s string) []byte {
	if cap(dst) < len(s) {
		dst = make([]byte, len(s), len(s)+len(s)/2)
	}
	dst = dst[:len(s)]
	i := 0
	for ; i+8 <= len(s) && i+8 <= len(dst); i += 8 {
		// The compiler merges these loads into one.
		t := s[i : i+8]
		x := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
			uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
		const ones = 0x0101010101010101
		h := x & (0x7f * ones)
		// High bit of each byte: its low seven bits are >= 'A', and not
		// > 'Z', and the byte itself is ASCII.
		upper := (h + (0x80-'A')*ones) &^ (h + (0x80-'Z'-1)*ones) &^ x & (0x80 * ones)
		binary.LittleEndian.PutUint64(dst[i:], x|upper>>2)
	}
	for ; i < len(s) && i < len(dst); i++ {
		dst[i] = lowerByte(s[i])
	}
	return dst
}

// scanLower is scan over text already lowered by lowerInto: it appends
// the literals found to hits and returns it. Returning hits rather than
// calling a function per hit keeps indirect calls out of the loop. It does
// not allocate once hits has grown to its working size.
func (g *gramIndex) scanLower(s []byte, hits []int32) []int32 {
	for i := range g.ones {
		if bytes.IndexByte(s, g.ones[i].lit[0]) >= 0 {
			hits = append(hits, g.ones[i].idx)
		}
	}
	tiers := g.tiers
	if len(tiers) > 0 && tiers[0].stride == 1 {
		hits = g.scanDense(&tiers[0], s, hits)
		tiers = tiers[1:]
	} else if g.pairs != nil {
		var k uint32
		for i := range s {
			k = k<<8 | uint32(s[i])
			if i > 0 {
				hits = g.pairAt(s, i, k, hits)
			}
		}
	}
	for ti := range tiers {
		t := &tiers[ti]
		bloom, shift, st := t.bloom, t.shift&31, t.stride
		for i := 0; i+gramLen <= len(s); i += st {
			k := binary.BigEndian.Uint32(s[i:])
			hk := gramHash(k)
			if m := bloomBits(hk, shift); bloom[hk>>shift>>6]&m != m {
				continue
			}
			hits = g.check(t.table.lookup(k), s, i, hits)
		}
	}
	return hits
}

// scanDense looks at every window for the stride-one tier's literals and
// the two- and three-byte ones in the same pass.
func (g *gramIndex) scanDense(t *gramTier, s []byte, hits []int32) []int32 {
	var k uint32
	n := min(len(s), gramLen-1)
	for i := 0; i < n; i++ {
		k = k<<8 | uint32(s[i])
		if i > 0 && g.pairs != nil {
			hits = g.pairAt(s, i, k, hits)
		}
	}
	// shift is below 32; masking it spares the compiler's check for
	// larger shifts in the loop.
	bloom, shift, pairs := t.bloom, t.shift&31, g.pairs
	for i := n; i < len(s); i++ {
		k = k<<8 | uint32(s[i])
		if pairs != nil {
			if p := k & 0xffff; pairs[p>>6]&(1<<(p&63)) != 0 {
				hits = g.pairAt(s, i, k, hits)
			}
		}
		hk := gramHash(k)
		if m := bloomBits(hk, shift); bloom[hk>>shift>>6]&m != m {
			continue
		}
		hits = g.check(t.table.lookup(k), s, i+1-gramLen, hits)
	}
	return hits
}

// pairAt reports the two- and three-byte literals ending at s[i], whose
// last two bytes are the low half of k.
func (g *gramIndex) pairAt(s []byte, i int, k uint32, hits []int32) []int32 {
	p := k & 0xffff
	if g.pairs[p>>6]&(1<<(p&63)) == 0 {
		return hits
	}
	return g.check(g.pairTable.lookup(p), s, i-1, hits)
}

// check compares the entries whose window starts at s[start:] in place.
func (g *gramIndex) check(es []gramEntry, s []byte, start int, hits []int32) []int32 {
	for i := range es {
		e := &es[i]
		ls, n := start-int(e.off), len(e.lit)
		if ls < 0 || ls+n > len(s) {
			continue
		}
		var eq bool
		if n <= 16 && ls+16 <= len(s) {
			a := binary.LittleEndian.Uint64(s[ls:])
			if n <= 8 {
				eq = (a^e.w[0])&(^uint64(0)>>(64-8*n)) == 0
			} else {
				b := binary.LittleEndian.Uint64(s[ls+8:])
				eq = a == e.w[0] && (b^e.w[1])&(^uint64(0)>>(128-8*n)) == 0
			}
		} else {
			eq = string(s[ls:ls+n]) == e.lit
		}
		if eq {
			if e.anchor != 0 && (e.anchor&anchorStart != 0 && ls != 0 || e.anchor&anchorEnd != 0 && ls+len(e.lit) != len(s)) {
				continue
			}
			hits = append(hits, e.idx)
		}
	}
	return hits
}
