package store

import (
	"context"
	"fmt"
	"math"
	"time"
)

// retentionBuckets sets the resolution of RetainSize's cut: the cut lands on
// a bucket edge, so at most 1/retentionBuckets of the span is deleted beyond
// what the size limit needs.
const retentionBuckets = 1000

// RetainSize deletes the oldest events of s until what remains is estimated
// to fit in maxBytes, and returns how many were deleted. It works through
// the EventStore interface only (Stats, Histogram, DeleteBefore), so every
// implementation gets it. It makes one pass: the estimate assumes events are
// of similar size, and engines may free space lazily, so call it
// periodically (the server's retention loop) rather than in a loop.
func RetainSize(ctx context.Context, s EventStore, maxBytes int64) (int64, error) {
	st, err := s.Stats(ctx)
	if err != nil {
		return 0, fmt.Errorf("retention by size: %w", err)
	}
	if maxBytes <= 0 || st.Bytes <= maxBytes || st.Events == 0 {
		return 0, nil
	}
	excess := 1 - float64(maxBytes)/float64(st.Bytes)
	target := int64(math.Ceil(excess * float64(st.Events)))
	// The histogram range ends just after the newest event so that it falls
	// in the last bucket.
	q := EventQuery{Range: TimeRange{From: st.Oldest, To: st.Newest.Add(time.Nanosecond)}}
	buckets, err := s.Histogram(ctx, q, retentionBuckets)
	if err != nil {
		return 0, fmt.Errorf("retention by size: %w", err)
	}
	cut := q.Range.To
	var sum int64
	for i, b := range buckets {
		sum += b.Count
		if sum >= target {
			if i+1 < len(buckets) {
				cut = buckets[i+1].Start
			}
			break
		}
	}
	n, err := s.DeleteBefore(ctx, cut)
	if err != nil {
		return n, fmt.Errorf("retention by size: %w", err)
	}
	return n, nil
}
