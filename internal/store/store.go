// Package store declares the small storage interfaces the pipeline and API
// use — EventStore for telemetry, StateStore for control-plane state — and
// the types and errors they share. Implementations live in subpackages
// (duckdb, sqlite; later clickhouse, postgres) and all pass the conformance
// suite in storetest, so callers never learn which one they run on.
//
// This package must not depend on any implementation, nor on pipeline, API or
// detection code; it depends only on the event model.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// Sentinel errors every implementation returns (wrapped) so callers can test
// them with errors.Is.
var (
	// ErrNotFound: the requested record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: the write clashes with existing data (a duplicate unique
	// name, an update to a stale version).
	ErrConflict = errors.New("store: conflict")
	// ErrClosed: the store was used after Close.
	ErrClosed = errors.New("store: closed")
	// ErrInvalid: the request itself is malformed (bad cursor, a numeric
	// comparison against a value that is not a number, an unknown status).
	ErrInvalid = errors.New("store: invalid request")
)

// QueryError says which comparison of a filter could not be compiled and why.
// It wraps ErrInvalid.
type QueryError struct {
	Field string
	Op    Op
	Value string
	Err   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("store: field %q op %s value %q: %v", e.Field, e.Op, e.Value, e.Err)
}

// Unwrap lets errors.Is find ErrInvalid and the cause.
func (e *QueryError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// String names the operator for errors and logs.
func (o Op) String() string {
	switch o {
	case OpEq:
		return "="
	case OpNe:
		return "!="
	case OpLt:
		return "<"
	case OpLe:
		return "<="
	case OpGt:
		return ">"
	case OpGe:
		return ">="
	case OpWildcard:
		return "wildcard"
	case OpExists:
		return "exists"
	case OpContains:
		return "contains"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// EventStore keeps normalised events for hunting, timelines and retro-hunts.
type EventStore interface {
	// AppendEvents stores the events and returns how many were new. The
	// events are durable (committed) when it returns without error. It is
	// idempotent by event.ID: an event whose ID is already stored, or that
	// repeats an ID earlier in the same batch, is skipped. Every event must
	// carry an ID and a time. The store does not keep the slice or events.
	AppendEvents(ctx context.Context, events []*event.Event) (stored int, err error)
	// SearchEvents returns matching events newest first, a page at a time.
	SearchEvents(ctx context.Context, q EventQuery) (EventPage, error)
	// Histogram counts matching events in equal time buckets across
	// q.Range (or, where an end is open, across the matching data).
	Histogram(ctx context.Context, q EventQuery, buckets int) ([]Bucket, error)
	// TopValues returns the n most frequent values of field among matching
	// events, most frequent first; events without the field are not counted.
	TopValues(ctx context.Context, q EventQuery, field string, n int) ([]ValueCount, error)
	// DeleteBefore removes events whose time is before t and returns how
	// many went.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
	// Stats summarises what is stored.
	Stats(ctx context.Context) (StoreStats, error)
	// Close releases the store; later calls return ErrClosed.
	Close() error
}

// EventQuery selects events.
type EventQuery struct {
	// Range bounds event time: From inclusive, To exclusive; zero ends are open.
	Range TimeRange
	// Where filters events; nil matches all.
	Where Expr
	// Limit caps the page; 0 means DefaultLimit, and it is capped at MaxLimit.
	Limit int
	// Cursor continues from a previous page's Next; empty starts at the newest.
	Cursor string
	// CountTotal asks for EventPage.Total, which costs a count over every match.
	CountTotal bool
}

// Page size defaults shared by the implementations.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// PageLimit applies DefaultLimit and MaxLimit to a requested limit.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// EventPage is one page of results, newest first.
type EventPage struct {
	Events []*event.Event
	// Next continues after the last event of this page; empty when there are
	// no more.
	Next string
	// Total counts every match (all pages) when the query asked for it, else -1.
	Total int64
}

// Bucket is one histogram bar: events with Start <= time < Start+width.
type Bucket struct {
	Start time.Time
	Count int64
}

// ValueCount is one row of a field's top values.
type ValueCount struct {
	Value string
	Count int64
}

// StoreStats summarises an event store.
type StoreStats struct {
	Events int64
	// Bytes is the storage the events occupy (an estimate where the engine
	// gives no exact figure); size-based retention compares against it.
	Bytes          int64
	Oldest, Newest time.Time
}
