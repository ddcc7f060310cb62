package duckdb

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/store"
)

// FuzzSearchFilter feeds arbitrary field names, operators and values through
// the filter compiler into a real database: every query must either run or
// fail with ErrInvalid, and none may change the stored data.
func FuzzSearchFilter(f *testing.F) {
	for _, seed := range []struct {
		field string
		op    uint8
		value string
	}{
		{"Image", uint8(store.OpWildcard), `*\3cx*.exe`},
		{"", uint8(store.OpContains), `'; DROP TABLE events; --`},
		{`x') OR 1=1 --`, uint8(store.OpEq), `%_\`},
		{"time", uint8(store.OpGe), "2026-03-29T10:00:00Z"},
		{"ProcessId", uint8(store.OpGt), "0x10"},
		{"weird/key~", uint8(store.OpExists), ""},
		{"CommandLine", uint8(store.OpNe), "\x00\xff"},
		{"logsource.product", 200, "windows"},
	} {
		f.Add(seed.field, seed.op, seed.value)
	}
	s := openTest(f, f.TempDir())
	f.Cleanup(func() { s.Close() })
	ctx := context.Background()
	base := time.Date(2026, 3, 29, 10, 0, 0, 0, time.UTC)
	seed := []*event.Event{
		{ID: "a", Time: base, Host: "h'1", Fields: []event.Field{{Name: "Image", Value: event.S(`C:\x\3cx.exe`)}, {Name: "ProcessId", Value: event.N(17)}}},
		{ID: "b", Time: base.Add(time.Minute), Host: "h%2", Fields: []event.Field{{Name: "weird/key~", Value: event.S("v")}}},
	}
	if _, err := s.AppendEvents(ctx, seed); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, field string, op uint8, value string) {
		q := store.EventQuery{Where: store.Or{store.Compare{Field: field, Op: store.Op(op), Value: value}, store.Not{X: store.Compare{Field: field, Op: store.Op(op), Value: value}}}}
		page, err := s.SearchEvents(ctx, q)
		if err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("field %q op %d value %q: %v", field, op, value, err)
			}
			return
		}
		// X or not X holds for every event, so both must come back.
		if len(page.Events) != len(seed) {
			t.Fatalf("field %q op %d value %q: X OR NOT X matched %d of %d", field, op, value, len(page.Events), len(seed))
		}
	})
}
