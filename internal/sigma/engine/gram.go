package engine

import (
	"strings"

	"github.com/vigilsoc/vigil/internal/sigma/match"
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
// the table and a comparison of the full literal in place. Literals
// shorter than four bytes, few and short, go to a small match.Automaton.
type gramIndex struct {
	bloom []uint64
	shift uint32 // hash >> shift indexes the bloom bitmap
	// slots is an open-addressing table from window to its entries
	// (entries[start:end]); end == 0 marks a free slot. A Go map costs
	// more per probe and scatters the entries.
	slots   []gramSlot
	tshift  uint32
	entries []gramEntry
	nkeys   int

	short     *match.Automaton
	shortLits []int32 // short automaton pattern -> literal
}

type gramSlot struct{ key, start, end uint32 }

type gramEntry struct {
	lit string // ASCII-lower-cased, inline so the check needs no lookup
	idx int32  // the literal's index as given to newGramIndex
	off int32  // where the window starts in the literal
}

const gramLen = 4

func newGramIndex(lits []string) *gramIndex {
	g := &gramIndex{}
	byKey := map[uint32][]gramEntry{}
	var keys []uint32
	var short []string
	for i, l := range lits {
		l = lowerASCII(l)
		if len(l) < gramLen {
			short = append(short, l)
			g.shortLits = append(g.shortLits, int32(i))
			continue
		}
		off := rarestWindow(l)
		k := gramKey(l[off : off+gramLen])
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], gramEntry{lit: l, idx: int32(i), off: int32(off)})
	}
	if len(short) > 0 {
		g.short = match.NewAutomaton(short)
	}
	g.nkeys = len(keys)
	// About 32 bits per key keeps false positives near 3% of positions.
	bits := uint32(10)
	for (1<<bits) < 32*len(keys) && bits < 20 {
		bits++
	}
	g.bloom = make([]uint64, (1<<bits)/64)
	g.shift = 32 - bits
	tbits := uint32(4)
	for (1 << tbits) < 2*len(keys) {
		tbits++
	}
	g.slots = make([]gramSlot, 1<<tbits)
	g.tshift = 32 - tbits
	mask := uint32(len(g.slots) - 1)
	for _, k := range keys {
		h := gramHash(k) >> g.shift
		g.bloom[h>>6] |= 1 << (h & 63)
		start := uint32(len(g.entries))
		g.entries = append(g.entries, byKey[k]...)
		i := gramHash(k) >> g.tshift
		for g.slots[i].end != 0 {
			i = (i + 1) & mask
		}
		g.slots[i] = gramSlot{key: k, start: start, end: uint32(len(g.entries))}
	}
	return g
}

// lookup returns the entries whose window is k.
func (g *gramIndex) lookup(k uint32) []gramEntry {
	mask := uint32(len(g.slots) - 1)
	for i := gramHash(k) >> g.tshift; ; i = (i + 1) & mask {
		s := &g.slots[i]
		if s.end == 0 {
			return nil
		}
		if s.key == k {
			return g.entries[s.start:s.end]
		}
	}
}

func gramHash(k uint32) uint32 { return k * 0x9E3779B1 }

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

// rarestWindow picks the offset of the four-byte window of l least likely
// to appear in ordinary text, so that the bitmap rarely sends the scan to
// the table.
func rarestWindow(l string) int {
	best, bestScore := 0, 1<<30 // lower is rarer
	for i := 0; i+gramLen <= len(l); i++ {
		score := 0
		for j := i; j < i+gramLen; j++ {
			score += byteCommonness(l[j])
		}
		if commonLiteral(l[i : i+gramLen]) {
			score += 40
		}
		// Prefer later windows slightly: literals share prefixes
		// ("sha256=", "c:\\windows\\") more than endings.
		score = 4*score - min(i, 8)
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	return best
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
// than once). It does not allocate.
func (g *gramIndex) scan(s string, fn func(lit int)) {
	if g.short != nil {
		sl := g.shortLits
		g.short.Scan(s, func(p int) { fn(int(sl[p])) })
	}
	if g.nkeys == 0 || len(s) < gramLen {
		return
	}
	bloom, shift := g.bloom, g.shift
	var k uint32
	for i := 0; i < len(s); i++ {
		k = k<<8 | uint32(lowerByte(s[i]))
		if i < gramLen-1 {
			continue
		}
		h := gramHash(k) >> shift
		if bloom[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		start := i + 1 - gramLen
		es := g.lookup(k)
		for i := range es {
			e := &es[i]
			ls := start - int(e.off)
			if ls < 0 || ls+len(e.lit) > len(s) {
				continue
			}
			if equalFoldASCII(s[ls:ls+len(e.lit)], e.lit) {
				fn(int(e.idx))
			}
		}
	}
}

// equalFoldASCII compares text with a lower-cased literal, folding ASCII
// letters only (other bytes must be equal).
func equalFoldASCII(text, lit string) bool {
	for i := 0; i < len(lit); i++ {
		if lowerByte(text[i]) != lit[i] {
			return false
		}
	}
	return true
}
