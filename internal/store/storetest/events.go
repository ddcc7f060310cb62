// Package storetest is the conformance suite every store implementation runs,
// so DuckDB, SQLite and later ClickHouse and PostgreSQL behave alike. It is
// for tests only; production code must not import it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/store"
)

// base is the time of the fixture events: fixed, so failures reproduce, and
// at whole milliseconds because stores may keep only microseconds.
var base = time.Date(2026, 3, 29, 10, 0, 0, 0, time.UTC)

// fixture returns n events one minute apart, oldest first, with a spread of
// hot and non-hot fields and value kinds.
func fixture(n int) []*event.Event {
	out := make([]*event.Event, n)
	for i := range n {
		host := fmt.Sprintf("ws-%02d", i%3)
		e := &event.Event{
			ID:        fmt.Sprintf("ev-%04d", i),
			Time:      base.Add(time.Duration(i) * time.Minute),
			Host:      host,
			Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
			Source:    "test",
			Fields: []event.Field{
				{Name: "EventID", Value: event.NumText("1", 1)},
				{Name: "Image", Value: event.S(fmt.Sprintf(`C:\Program Files\3CXDesktopApp\app%d.exe`, i%4))},
				{Name: "CommandLine", Value: event.S(fmt.Sprintf(`"app.exe" --n %d`, i))},
				{Name: "ProcessId", Value: event.N(float64(1000 + i))},
				{Name: "Signed", Value: event.B(i%2 == 0)},
			},
		}
		if i%5 == 0 {
			e.Logsource = event.Logsource{Product: "windows", Category: "dns_query"}
			e.Fields = []event.Field{
				{Name: "EventID", Value: event.NumText("22", 22)},
				{Name: "QueryName", Value: event.S("raw.githubusercontent.com")},
				{Name: "DestinationPort", Value: event.N(443)},
				{Name: "Answers", Value: event.L(event.S("185.199.108.133"), event.S("185.199.109.133"))},
				{Name: "Note", Value: event.NullValue()},
			}
		}
		out[i] = e
	}
	return out
}

func ids(events []*event.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func mustAppend(t *testing.T, s store.EventStore, events []*event.Event) int {
	t.Helper()
	n, err := s.AppendEvents(context.Background(), events)
	if err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	return n
}

// searchAll pages through every match with a small page size, so cursors are
// exercised on every query.
func searchAll(t *testing.T, s store.EventStore, q store.EventQuery) []*event.Event {
	t.Helper()
	var out []*event.Event
	q.Limit = 7
	for range 1000 {
		page, err := s.SearchEvents(context.Background(), q)
		if err != nil {
			t.Fatalf("SearchEvents(%+v): %v", q, err)
		}
		out = append(out, page.Events...)
		if page.Next == "" {
			return out
		}
		q.Cursor = page.Next
	}
	t.Fatal("SearchEvents: cursor never ended")
	return nil
}

// wantIDs returns the ids of the fixture events that pred selects, newest first.
func wantIDs(events []*event.Event, pred func(i int, e *event.Event) bool) []string {
	var out []string
	for i, e := range events {
		if pred(i, e) {
			out = append(out, e.ID)
		}
	}
	slices.Reverse(out)
	return out
}

// RunEventStore runs the EventStore conformance suite. open must return a
// new, empty store each time it is called; the suite closes it.
func RunEventStore(t *testing.T, open func(t *testing.T) store.EventStore) {
	t.Run("AppendSearchRoundTrip", func(t *testing.T) { testRoundTrip(t, open(t)) })
	t.Run("Idempotent", func(t *testing.T) { testIdempotent(t, open(t)) })
	t.Run("RejectsInvalid", func(t *testing.T) { testRejectsInvalid(t, open(t)) })
	t.Run("Cursor", func(t *testing.T) { testCursor(t, open(t)) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, open(t)) })
	t.Run("HostileValues", func(t *testing.T) { testHostile(t, open(t)) })
	t.Run("InvalidQueries", func(t *testing.T) { testInvalidQueries(t, open(t)) })
	t.Run("Histogram", func(t *testing.T) { testHistogram(t, open(t)) })
	t.Run("TopValues", func(t *testing.T) { testTopValues(t, open(t)) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, open(t)) })
	t.Run("RetainSize", func(t *testing.T) { testRetainSize(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open(t)) })
}

func closeStore(t *testing.T, s store.EventStore) {
	t.Helper()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func testRoundTrip(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	events := fixture(12)
	if n := mustAppend(t, s, events); n != len(events) {
		t.Fatalf("stored %d, want %d", n, len(events))
	}
	got := searchAll(t, s, store.EventQuery{})
	if len(got) != len(events) {
		t.Fatalf("found %d events, want %d", len(got), len(events))
	}
	for i, g := range got {
		want := events[len(events)-1-i] // newest first
		if !equalEvent(g, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, g, want)
		}
	}
}

// equalEvent compares what a store must keep: the core, and every field's
// name, kind and text in order.
func equalEvent(a, b *event.Event) bool {
	if a.ID != b.ID || !a.Time.Equal(b.Time) || a.Host != b.Host || a.Logsource != b.Logsource ||
		a.Source != b.Source || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Fields {
		fa, fb := a.Fields[i], b.Fields[i]
		if fa.Name != fb.Name || fa.Value.Kind != fb.Value.Kind || fa.Value.Text() != fb.Value.Text() {
			return false
		}
	}
	return true
}

func testIdempotent(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	events := fixture(20)
	if n := mustAppend(t, s, events[:10]); n != 10 {
		t.Fatalf("first append stored %d, want 10", n)
	}
	if n := mustAppend(t, s, events[:10]); n != 0 {
		t.Errorf("re-append stored %d, want 0", n)
	}
	// Overlapping batch with an in-batch duplicate: only the 10 new ids count.
	batch := append(slices.Clone(events[5:]), events[15].Clone())
	if n := mustAppend(t, s, batch); n != 10 {
		t.Errorf("overlapping append stored %d, want 10", n)
	}
	got := searchAll(t, s, store.EventQuery{})
	if !slices.Equal(ids(got), wantIDs(events, func(int, *event.Event) bool { return true })) {
		t.Errorf("ids after re-appends = %v", ids(got))
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 20 || !st.Oldest.Equal(events[0].Time) || !st.Newest.Equal(events[19].Time) {
		t.Errorf("Stats = %+v, want 20 events from %v to %v", st, events[0].Time, events[19].Time)
	}
	if mustAppend(t, s, nil) != 0 {
		t.Error("empty append stored something")
	}
	// Sub-microsecond times: a store that keeps less precision must still
	// recognise the re-sent event.
	ns := []*event.Event{{ID: "ns-1", Time: base.Add(999*time.Nanosecond + 7*time.Hour)}, {ID: "ns-2", Time: base.Add(7*time.Hour + time.Millisecond + 1)}}
	if n := mustAppend(t, s, ns); n != 2 {
		t.Errorf("nanosecond events stored %d, want 2", n)
	}
	if n := mustAppend(t, s, ns); n != 0 {
		t.Errorf("re-sent nanosecond events stored %d, want 0", n)
	}
}

func testRejectsInvalid(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	for name, e := range map[string]*event.Event{
		"no id":   {Time: base},
		"no time": {ID: "x"},
	} {
		_, err := s.AppendEvents(context.Background(), []*event.Event{e})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	if got := searchAll(t, s, store.EventQuery{}); len(got) != 0 {
		t.Errorf("rejected batch left %d events", len(got))
	}
}

func testCursor(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	// Events sharing a timestamp need the id tie-break to page correctly.
	var events []*event.Event
	for i := range 25 {
		events = append(events, &event.Event{ID: fmt.Sprintf("c-%02d", i), Time: base.Add(time.Duration(i/4) * time.Second), Host: "h"})
	}
	mustAppend(t, s, events)
	ctx := context.Background()
	var got []string
	q := store.EventQuery{Limit: 10, CountTotal: true}
	pages := 0
	for {
		page, err := s.SearchEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages == 1 && page.Total != 25 {
			t.Errorf("Total = %d, want 25", page.Total)
		}
		got = append(got, ids(page.Events)...)
		if page.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("too many pages")
		}
		q.Cursor = page.Next
	}
	if pages != 3 {
		t.Errorf("pages = %d, want 3", pages)
	}
	want := make([]string, 0, 25)
	sorted := slices.Clone(events)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].Time.Equal(sorted[j].Time) {
			return sorted[i].Time.After(sorted[j].Time)
		}
		return sorted[i].ID > sorted[j].ID
	})
	want = append(want, ids(sorted)...)
	if !slices.Equal(got, want) {
		t.Errorf("paged ids = %v\nwant %v", got, want)
	}
	page, err := s.SearchEvents(ctx, store.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != -1 {
		t.Errorf("Total without CountTotal = %d, want -1", page.Total)
	}
}

func testFilters(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	events := fixture(30)
	// Fields whose text has LIKE metacharacters and backslashes.
	events[3].Set("TargetFilename", event.S(`C:\Temp\50%_off.txt`))
	events[4].Set("TargetFilename", event.S(`C:\Temp\500Xoff.txt`))
	events[6].Set("weird/key~name", event.S("slash"))
	events[7].Set("Image", event.S(`C:\Windows\*literal.exe`))
	mustAppend(t, s, events)
	cmp := func(field string, op store.Op, v string) store.Compare {
		return store.Compare{Field: field, Op: op, Value: v}
	}
	isDNS := func(i int) bool { return i%5 == 0 }
	tests := []struct {
		name string
		q    store.EventQuery
		want func(i int, e *event.Event) bool
	}{
		{"all", store.EventQuery{}, func(int, *event.Event) bool { return true }},
		{"range", store.EventQuery{Range: store.TimeRange{From: base.Add(5 * time.Minute), To: base.Add(10 * time.Minute)}},
			func(i int, _ *event.Event) bool { return i >= 5 && i < 10 }},
		{"open from", store.EventQuery{Range: store.TimeRange{To: base.Add(3 * time.Minute)}}, func(i int, _ *event.Event) bool { return i < 3 }},
		{"eq host", store.EventQuery{Where: cmp("host", store.OpEq, "WS-01")}, func(i int, _ *event.Event) bool { return i%3 == 1 }},
		{"eq product", store.EventQuery{Where: cmp("logsource.category", store.OpEq, "dns_query")}, func(i int, _ *event.Event) bool { return isDNS(i) }},
		{"eq id", store.EventQuery{Where: cmp("id", store.OpEq, "ev-0007")}, func(i int, _ *event.Event) bool { return i == 7 }},
		{"eq source", store.EventQuery{Where: cmp("source", store.OpEq, "test")}, func(int, *event.Event) bool { return true }},
		{"eq hot case-insensitive", store.EventQuery{Where: cmp("Image", store.OpEq, `c:\program files\3cxdesktopapp\APP1.EXE`)},
			func(i int, _ *event.Event) bool { return !isDNS(i) && i%4 == 1 && i != 7 }},
		{"hot field name case-insensitive", store.EventQuery{Where: cmp("queryname", store.OpEq, "raw.githubusercontent.com")},
			func(i int, _ *event.Event) bool { return isDNS(i) }},
		{"eq json field", store.EventQuery{Where: cmp("ProcessId", store.OpEq, "1003")}, func(i int, _ *event.Event) bool { return i == 3 }},
		{"eq bool", store.EventQuery{Where: cmp("Signed", store.OpEq, "TRUE")}, func(i int, _ *event.Event) bool { return !isDNS(i) && i%2 == 0 }},
		{"ne includes missing", store.EventQuery{Where: cmp("QueryName", store.OpNe, "raw.githubusercontent.com")},
			func(i int, _ *event.Event) bool { return !isDNS(i) }},
		{"ne json includes missing", store.EventQuery{Where: cmp("ProcessId", store.OpNe, "1003")}, func(i int, _ *event.Event) bool { return i != 3 }},
		{"not eq", store.EventQuery{Where: store.Not{X: cmp("Image", store.OpEq, `C:\Windows\*literal.exe`)}}, func(i int, _ *event.Event) bool { return i != 7 }},
		{"gt json number", store.EventQuery{Where: cmp("ProcessId", store.OpGt, "1025")}, func(i int, _ *event.Event) bool { return !isDNS(i) && i > 25 }},
		{"le hot number", store.EventQuery{Where: cmp("EventID", store.OpLe, "1")}, func(i int, _ *event.Event) bool { return !isDNS(i) }},
		{"ge hot number", store.EventQuery{Where: cmp("DestinationPort", store.OpGe, "443")}, func(i int, _ *event.Event) bool { return isDNS(i) }},
		{"lt hex", store.EventQuery{Where: cmp("EventID", store.OpLt, "0x10")}, func(i int, _ *event.Event) bool { return !isDNS(i) }},
		{"time ge", store.EventQuery{Where: cmp("time", store.OpGe, base.Add(28*time.Minute).Format(time.RFC3339))}, func(i int, _ *event.Event) bool { return i >= 28 }},
		{"time eq", store.EventQuery{Where: cmp("time", store.OpEq, base.Add(2*time.Minute).Format(time.RFC3339Nano))}, func(i int, _ *event.Event) bool { return i == 2 }},
		{"wildcard hot", store.EventQuery{Where: cmp("Image", store.OpWildcard, `*\3cxdesktopapp\app?.exe`)},
			func(i int, _ *event.Event) bool { return !isDNS(i) && i != 7 }},
		{"wildcard literal percent", store.EventQuery{Where: cmp("TargetFilename", store.OpWildcard, `*50%_off*`)}, func(i int, _ *event.Event) bool { return i == 3 }},
		{"wildcard escaped star", store.EventQuery{Where: cmp("Image", store.OpWildcard, `C:\Windows\\\*lit*`)}, func(i int, _ *event.Event) bool { return i == 7 }},
		{"wildcard json", store.EventQuery{Where: cmp("CommandLine", store.OpWildcard, `*--n 2?`)}, func(i int, _ *event.Event) bool { return !isDNS(i) && i >= 20 && i < 30 }},
		{"contains literal underscore", store.EventQuery{Where: cmp("TargetFilename", store.OpContains, `%_OFF`)}, func(i int, _ *event.Event) bool { return i == 3 }},
		{"contains case-insensitive", store.EventQuery{Where: cmp("Image", store.OpContains, `3CXDESKTOP`)}, func(i int, _ *event.Event) bool { return !isDNS(i) && i != 7 }},
		{"contains list", store.EventQuery{Where: cmp("Answers", store.OpContains, "185.199.109")}, func(i int, _ *event.Event) bool { return isDNS(i) }},
		{"exists hot", store.EventQuery{Where: cmp("QueryName", store.OpExists, "")}, func(i int, _ *event.Event) bool { return isDNS(i) }},
		{"exists json null", store.EventQuery{Where: cmp("Note", store.OpExists, "")}, func(i int, _ *event.Event) bool { return isDNS(i) }},
		{"exists json", store.EventQuery{Where: cmp("ProcessId", store.OpExists, "")}, func(i int, _ *event.Event) bool { return !isDNS(i) }},
		{"weird key", store.EventQuery{Where: cmp("weird/key~name", store.OpEq, "slash")}, func(i int, _ *event.Event) bool { return i == 6 }},
		{"missing field", store.EventQuery{Where: cmp("NoSuchField", store.OpEq, "x")}, func(int, *event.Event) bool { return false }},
		{"free text", store.EventQuery{Where: cmp("", store.OpContains, "githubusercontent")}, func(i int, _ *event.Event) bool { return isDNS(i) }},
		{"free text ne", store.EventQuery{Where: cmp("", store.OpNe, "GITHUBUSERCONTENT")}, func(i int, _ *event.Event) bool { return !isDNS(i) }},
		{"free text backslash", store.EventQuery{Where: cmp("", store.OpEq, `3CXDesktopApp\app2`)}, func(i int, _ *event.Event) bool { return !isDNS(i) && i%4 == 2 }},
		{"free text wildcard", store.EventQuery{Where: cmp("", store.OpWildcard, `program files\3cx*app3`)}, func(i int, _ *event.Event) bool { return !isDNS(i) && i%4 == 3 && i != 7 }},
		{"free text host", store.EventQuery{Where: cmp("", store.OpContains, "ws-02")}, func(i int, _ *event.Event) bool { return i%3 == 2 }},
		{"and", store.EventQuery{Where: store.And{cmp("host", store.OpEq, "ws-00"), cmp("logsource.category", store.OpEq, "dns_query")}},
			func(i int, _ *event.Event) bool { return i%3 == 0 && isDNS(i) }},
		{"or", store.EventQuery{Where: store.Or{cmp("id", store.OpEq, "ev-0001"), cmp("id", store.OpEq, "ev-0002")}}, func(i int, _ *event.Event) bool { return i == 1 || i == 2 }},
		{"nested", store.EventQuery{Where: store.And{
			store.Or{cmp("host", store.OpEq, "ws-00"), cmp("host", store.OpEq, "ws-01")},
			store.Not{X: store.Or{cmp("logsource.category", store.OpEq, "dns_query"), cmp("Signed", store.OpEq, "false")}},
		}}, func(i int, _ *event.Event) bool { return i%3 != 2 && !isDNS(i) && i%2 == 0 }},
		{"empty and", store.EventQuery{Where: store.And{}}, func(int, *event.Event) bool { return true }},
		{"empty or", store.EventQuery{Where: store.Or{}}, func(int, *event.Event) bool { return false }},
		{"range and filter", store.EventQuery{Range: store.TimeRange{From: base.Add(10 * time.Minute), To: base.Add(20 * time.Minute)}, Where: cmp("host", store.OpEq, "ws-00")},
			func(i int, _ *event.Event) bool { return i >= 10 && i < 20 && i%3 == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(searchAll(t, s, tt.q))
			want := wantIDs(events, tt.want)
			if !slices.Equal(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
		})
	}
}

// hostile strings try to break out of SQL literals, identifiers, LIKE
// patterns and JSON paths.
var hostile = []string{
	`'; DROP TABLE events; --`,
	`" OR 1=1 --`,
	`') OR ('1'='1`,
	`\'; DELETE FROM events; --`,
	`$.a') IS NOT NULL OR (1=1`,
	`%`, `_`, `*`, `\`, `~1`, `/`,
	"nul\x00byte",
	`ünïcødé 🦆`,
	"bad\xffutf8", // stores replace invalid UTF-8 with U+FFFD (SQL text types require valid UTF-8)
}

// valid is what a store returns for s: invalid UTF-8 replaced by U+FFFD.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func testHostile(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	ctx := context.Background()
	events := fixture(10)
	for i, h := range hostile {
		events = append(events, &event.Event{
			ID: "hostile-" + fmt.Sprint(i) + h, Time: base.Add(time.Hour + time.Duration(i)*time.Second), Host: h,
			Logsource: event.Logsource{Product: h},
			Fields:    []event.Field{{Name: h, Value: event.S(h)}, {Name: "CommandLine", Value: event.S(h)}},
			Source:    h,
		})
	}
	mustAppend(t, s, events)
	total := len(events)
	for i, h := range hostile {
		for _, op := range []store.Op{store.OpEq, store.OpNe, store.OpWildcard, store.OpContains, store.OpExists, store.OpLt} {
			for _, field := range []string{h, "CommandLine", "host", ""} {
				q := store.EventQuery{Where: store.Compare{Field: field, Op: op, Value: h}}
				_, err := s.SearchEvents(ctx, q)
				if err != nil && !errors.Is(err, store.ErrInvalid) {
					t.Errorf("hostile %q field %q op %s: %v", h, field, op, err)
				}
			}
		}
		// The hostile value is matched exactly as data, in a hot column and
		// under a hostile field name.
		for _, field := range []string{h, "CommandLine", "host", "source", "logsource.product"} {
			got := searchAll(t, s, store.EventQuery{Where: store.Compare{Field: field, Op: store.OpEq, Value: h}})
			if len(got) != 1 || got[0].ID != valid("hostile-"+fmt.Sprint(i)+h) {
				t.Errorf("eq %q on %q found %v", h, field, ids(got))
			}
		}
		got := searchAll(t, s, store.EventQuery{Where: store.Compare{Field: "CommandLine", Op: store.OpContains, Value: h}})
		for _, e := range got {
			v, _ := e.Get("CommandLine")
			if !containsFold(v.Text(), valid(h)) {
				t.Errorf("contains %q matched %q", h, v.Text())
			}
		}
		if _, err := s.TopValues(ctx, store.EventQuery{}, h, 5); err != nil {
			t.Errorf("TopValues(%q): %v", h, err)
		}
	}
	if got := searchAll(t, s, store.EventQuery{}); len(got) != total {
		t.Fatalf("after hostile queries %d events remain, want %d", len(got), total)
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func testInvalidQueries(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	ctx := context.Background()
	mustAppend(t, s, fixture(3))
	for name, q := range map[string]store.EventQuery{
		"number":       {Where: store.Compare{Field: "ProcessId", Op: store.OpGt, Value: "lots"}},
		"time":         {Where: store.Compare{Field: "time", Op: store.OpLt, Value: "yesterday"}},
		"cursor":       {Cursor: "!!not a cursor!!"},
		"free text lt": {Where: store.Compare{Op: store.OpLt, Value: "5"}},
	} {
		_, err := s.SearchEvents(ctx, q)
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	var qe *store.QueryError
	_, err := s.SearchEvents(ctx, store.EventQuery{Where: store.And{store.Compare{Field: "ProcessId", Op: store.OpGt, Value: "lots"}}})
	if !errors.As(err, &qe) || qe.Field != "ProcessId" {
		t.Errorf("err = %v, want a QueryError naming ProcessId", err)
	}
	if _, err := s.Histogram(ctx, store.EventQuery{}, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Histogram(0 buckets): err = %v, want ErrInvalid", err)
	}
}

func testHistogram(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	ctx := context.Background()
	events := fixture(60) // one per minute for an hour
	mustAppend(t, s, events)
	b, err := s.Histogram(ctx, store.EventQuery{Range: store.TimeRange{From: base, To: base.Add(time.Hour)}}, 6)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 6 {
		t.Fatalf("%d buckets, want 6", len(b))
	}
	for i, bk := range b {
		if !bk.Start.Equal(base.Add(time.Duration(i) * 10 * time.Minute)) {
			t.Errorf("bucket %d starts %v", i, bk.Start)
		}
		if bk.Count != 10 {
			t.Errorf("bucket %d count %d, want 10", i, bk.Count)
		}
	}
	// Filtered, open range: the span comes from the matching data.
	b, err = s.Histogram(ctx, store.EventQuery{Where: store.Compare{Field: "logsource.category", Op: store.OpEq, Value: "dns_query"}}, 4)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, bk := range b {
		sum += bk.Count
	}
	if sum != 12 || len(b) != 4 || !b[0].Start.Equal(base) {
		t.Errorf("filtered histogram = %+v, want 4 buckets from %v summing to 12", b, base)
	}
	b, err = s.Histogram(ctx, store.EventQuery{Where: store.Compare{Field: "host", Op: store.OpEq, Value: "nobody"}}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, bk := range b {
		if bk.Count != 0 {
			t.Errorf("empty histogram has %+v", bk)
		}
	}
}

func testTopValues(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	ctx := context.Background()
	events := fixture(30)
	mustAppend(t, s, events)
	got, err := s.TopValues(ctx, store.EventQuery{}, "host", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ValueCount{{Value: "ws-00", Count: 10}, {Value: "ws-01", Count: 10}}
	if !slices.Equal(got, want) {
		t.Errorf("TopValues(host) = %v, want %v", got, want)
	}
	got, err = s.TopValues(ctx, store.EventQuery{Range: store.TimeRange{From: base.Add(20 * time.Minute)}}, "EventID", 10)
	if err != nil {
		t.Fatal(err)
	}
	want = []store.ValueCount{{Value: "1", Count: 8}, {Value: "22", Count: 2}}
	if !slices.Equal(got, want) {
		t.Errorf("TopValues(EventID) = %v, want %v", got, want)
	}
	got, err = s.TopValues(ctx, store.EventQuery{Where: store.Compare{Field: "host", Op: store.OpEq, Value: "ws-00"}}, "Signed", 10)
	if err != nil {
		t.Fatal(err)
	}
	// ws-00 holds i = 0,3,...,27; dns events (i%5==0: 0,15) have no Signed.
	want = []store.ValueCount{{Value: "false", Count: 4}, {Value: "true", Count: 4}}
	if !slices.Equal(got, want) {
		t.Errorf("TopValues(Signed) = %v, want %v", got, want)
	}
}

func testRetention(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	ctx := context.Background()
	events := fixture(30)
	mustAppend(t, s, events)
	n, err := s.DeleteBefore(ctx, base.Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 10 {
		t.Errorf("DeleteBefore deleted %d, want 10", n)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 20 || !st.Oldest.Equal(events[10].Time) || st.Bytes <= 0 {
		t.Errorf("Stats after delete = %+v", st)
	}
	// A deleted event can be stored again (retention is not a tombstone).
	if got := mustAppend(t, s, events[:1]); got != 1 {
		t.Errorf("re-append after delete stored %d, want 1", got)
	}
	if n, err := s.DeleteBefore(ctx, base.Add(-time.Hour)); err != nil || n != 0 {
		t.Errorf("DeleteBefore(before all) = %d, %v", n, err)
	}
}

func testRetainSize(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	ctx := context.Background()
	events := fixture(200)
	mustAppend(t, s, events)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := store.RetainSize(ctx, s, st.Bytes*2); err != nil || n != 0 {
		t.Errorf("RetainSize(under limit) = %d, %v; want 0", n, err)
	}
	n, err := store.RetainSize(ctx, s, st.Bytes/2)
	if err != nil {
		t.Fatal(err)
	}
	if n < 90 || n > 110 {
		t.Errorf("RetainSize(half) deleted %d of 200, want about 100", n)
	}
	after, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Events != 200-n || !after.Oldest.After(st.Oldest) || !after.Newest.Equal(st.Newest) {
		t.Errorf("after RetainSize: %+v (before %+v)", after, st)
	}
}

func testConcurrent(t *testing.T, s store.EventStore) {
	closeStore(t, s)
	ctx := context.Background()
	events := fixture(200)
	var wg sync.WaitGroup
	var stored [4]int
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Go(func() {
			// Each writer sends every batch, so all but one copy must be skipped.
			for i := 0; i < len(events); i += 20 {
				n, err := s.AppendEvents(ctx, events[i:i+20])
				if err != nil {
					errs <- err
					return
				}
				stored[w] += n
			}
		})
		wg.Go(func() {
			for range 10 {
				if _, err := s.SearchEvents(ctx, store.EventQuery{Where: store.Compare{Field: "host", Op: store.OpEq, Value: "ws-01"}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if sum := stored[0] + stored[1] + stored[2] + stored[3]; sum != len(events) {
		t.Errorf("writers stored %d in total, want %d", sum, len(events))
	}
	if got := searchAll(t, s, store.EventQuery{}); len(got) != len(events) {
		t.Errorf("%d events stored, want %d", len(got), len(events))
	}
}

func testClosed(t *testing.T, s store.EventStore) {
	ctx := context.Background()
	mustAppend(t, s, fixture(2))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checks := map[string]error{}
	_, checks["AppendEvents"] = s.AppendEvents(ctx, fixture(1))
	_, checks["SearchEvents"] = s.SearchEvents(ctx, store.EventQuery{})
	_, checks["Histogram"] = s.Histogram(ctx, store.EventQuery{}, 3)
	_, checks["TopValues"] = s.TopValues(ctx, store.EventQuery{}, "host", 3)
	_, checks["DeleteBefore"] = s.DeleteBefore(ctx, base)
	_, checks["Stats"] = s.Stats(ctx)
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}

// RunEventStoreReopen checks that events survive Close and a new Open of the
// same storage. open is called twice with the same dir.
func RunEventStoreReopen(t *testing.T, open func(t *testing.T, dir string) store.EventStore) {
	dir := t.TempDir()
	events := fixture(25)
	s := open(t, dir)
	mustAppend(t, s, events)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	closeStore(t, s)
	got := searchAll(t, s, store.EventQuery{})
	if len(got) != len(events) {
		t.Fatalf("after reopen %d events, want %d", len(got), len(events))
	}
	for i, g := range got {
		if !equalEvent(g, events[len(events)-1-i]) {
			t.Errorf("after reopen event %d = %+v", i, g)
		}
	}
	if n := mustAppend(t, s, events); n != 0 {
		t.Errorf("re-append after reopen stored %d, want 0", n)
	}
}
