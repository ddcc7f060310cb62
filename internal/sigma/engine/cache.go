package engine

import "hash/maphash"

// scanScratch is the prefilter's per-goroutine state: the buffer a field's
// text is lowered into and a small cache of what each field's recent
// values hit.
//
// Why a cache: most fields of real telemetry repeat (Image, ParentImage,
// OriginalFileName, User, IntegrityLevel, Company, ...: a fleet runs the
// same few hundred programs), and a repeated value hits the same literals,
// so replaying its hits costs a hash and a compare instead of a scan and a
// table probe per hit. Fields whose values rarely repeat (command lines
// with random arguments, hashes) would only churn it, so each field slot
// measures its own hit rate and stops caching for a while when it is low.
type scanScratch struct {
	lower []byte
	hits  []int32 // literals found in one value
	seed  maphash.Seed
	cache []cacheEntry // cacheSlots fields × cacheWays entries
	stats []cacheStats // per field slot
}

const (
	cacheSlots = 32  // fields of a route that get cache entries
	cacheWays  = 16  // entries per field, direct-mapped by hash
	maxCached  = 128 // longer values are not cached
	// A slot is judged every cacheProbe lookups; below one hit in
	// cacheMinRate it is skipped for the next cachePause values.
	cacheProbe   = 64
	cacheMinRate = 4
	cachePause   = 1024
)

// cacheEntry holds a copy of the value, not the event's string: a caller
// that decodes into reused buffers (and hands out strings over them) must
// not be able to change a cached value behind its hits.
type cacheEntry struct {
	fi   *fieldIndex // nil: empty
	vlen uint8
	n    uint8
	hits [14]int32
	val  [maxCached]byte
}

func (ce *cacheEntry) holds(fi *fieldIndex, val string) bool {
	return ce.fi == fi && int(ce.vlen) == len(val) && string(ce.val[:len(val)]) == val
}

func (ce *cacheEntry) reset(fi *fieldIndex, val string) {
	ce.fi, ce.n = fi, 0
	ce.vlen = uint8(copy(ce.val[:], val))
}

type cacheStats struct {
	lookups, hits, pause int32
}

// cached returns the entry for val in the field slot's part of the cache,
// or nil when the value is not to be cached (too long, slot out of range or
// paused). hit reports that the entry holds val's hits; otherwise the
// caller overwrites it.
func (sc *scanScratch) cached(fi *fieldIndex, slot int, val string) (ce *cacheEntry, hit bool) {
	if slot >= cacheSlots || len(val) > maxCached {
		return nil, false
	}
	if sc.cache == nil {
		sc.seed = maphash.MakeSeed()
		sc.cache = make([]cacheEntry, cacheSlots*cacheWays)
		sc.stats = make([]cacheStats, cacheSlots)
	}
	st := &sc.stats[slot]
	if st.pause > 0 {
		st.pause--
		return nil, false
	}
	h := maphash.String(sc.seed, val)
	ce = &sc.cache[slot*cacheWays+int(h&(cacheWays-1))]
	st.lookups++
	if hit = ce.holds(fi, val); hit {
		st.hits++
	}
	if st.lookups == cacheProbe {
		if st.hits*cacheMinRate < st.lookups {
			st.pause = cachePause
		}
		st.lookups, st.hits = 0, 0
	}
	return ce, hit
}
