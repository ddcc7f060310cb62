package duckdb

import (
	"hash/maphash"
	"math"
	"slices"
)

// DefaultRecentIDs is how many stored ids AppendEvents remembers by hash
// (about 40 MB): at 50,000 events/s, the last 20 seconds or so, which covers
// the lag between an event's time and its arrival for live senders.
const DefaultRecentIDs = 1 << 20

// recentIDs lets AppendEvents skip the stored-id query for events that
// cannot be stored yet. It holds the invariant
//
//	every stored event whose time (in whole microseconds, floored) is at or
//	after cutoff has the hash of its id in byHash
//
// so an event at or after cutoff whose id hash is absent is certainly new.
// A present hash proves nothing (another id may share it, or the event may
// have been deleted): such events, and events before cutoff, are asked
// about in DuckDB as before. A false "maybe" costs a query; a false "new"
// would store a duplicate, so every change below keeps the invariant.
//
// The id check was a fifth of AppendEvents' CPU (BenchmarkAppendEvents);
// with this, live ingest, whose events are newer than the cutoff, mostly
// skips it, and late or re-sent events still get the exact answer.
type recentIDs struct {
	seed   maphash.Seed
	limit  int
	cutoff int64            // unix microseconds
	byHash map[uint64]int64 // id hash -> latest event time with that hash
}

// newRecentIDs starts with every stored event before cutoff: the caller
// passes one microsecond past the newest stored time (math.MinInt64 for an
// empty table). limit <= 0 disables the filter: everything is a "maybe".
func newRecentIDs(limit int, cutoff int64) *recentIDs {
	if limit <= 0 {
		return &recentIDs{cutoff: math.MaxInt64}
	}
	return &recentIDs{seed: maphash.MakeSeed(), limit: limit, cutoff: cutoff, byHash: make(map[uint64]int64)}
}

func (r *recentIDs) hash(id string) uint64 { return maphash.String(r.seed, id) }

// mayBeStored reports whether an event with this id and time might already
// be stored; false means it certainly is not.
func (r *recentIDs) mayBeStored(id string, micros int64) bool {
	if micros < r.cutoff {
		return true
	}
	_, ok := r.byHash[r.hash(id)]
	return ok
}

// add records a committed event, then evicts if over the limit.
func (r *recentIDs) add(id string, micros int64) {
	if r.byHash == nil || micros < r.cutoff {
		return // below the cutoff nothing is promised
	}
	h := r.hash(id)
	// Keep the latest time per hash: eviction drops hashes whose time is
	// below the new cutoff, and must not drop one a later event still needs.
	if old, ok := r.byHash[h]; !ok || micros > old {
		r.byHash[h] = micros
	}
	if len(r.byHash) > r.limit {
		r.evict()
	}
}

// evict raises the cutoff to about the median remembered time and forgets
// the hashes below it: those events become "maybe" again. Amortised over the
// limit/2 adds between evictions, the sort costs little per event.
func (r *recentIDs) evict() {
	times := make([]int64, 0, len(r.byHash))
	for _, t := range r.byHash {
		times = append(times, t)
	}
	slices.Sort(times)
	// +1 so that even when every time is equal the cutoff moves past it and
	// the map shrinks.
	r.raise(times[len(times)/2] + 1)
}

// raise moves the cutoff up to micros (never down) and forgets the hashes
// below it. AppendEvents calls it after a failed commit with one past the
// batch's newest time, because some of the batch may be stored without
// having been added.
func (r *recentIDs) raise(micros int64) {
	if micros <= r.cutoff {
		return
	}
	r.cutoff = micros
	for h, t := range r.byHash {
		if t < micros {
			delete(r.byHash, h)
		}
	}
}
