package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/vigilsoc/vigil/internal/event"
)

func TestRecentIDs(t *testing.T) {
	type op struct {
		kind  string // "add", "raise", "maybe", "new"
		id    string
		micro int64
	}
	cases := []struct {
		name   string
		limit  int
		cutoff int64
		ops    []op
	}{
		{"empty store vouches for every unseen id", 10, math.MinInt64, []op{
			{"new", "a", -5}, {"new", "a", 5}, {"add", "a", 5}, {"maybe", "a", 5}, {"maybe", "a", 1 << 40}, {"new", "b", 5},
		}},
		{"before the cutoff everything is maybe", 10, 100, []op{
			{"maybe", "x", 99}, {"new", "x", 100}, {"add", "old", 50}, {"maybe", "old", 50}, {"new", "old", 100},
		}},
		{"disabled", -1, math.MinInt64, []op{
			{"maybe", "x", 0}, {"add", "x", 0}, {"maybe", "y", math.MaxInt64 - 1},
		}},
		{"raise forgets below and never lowers", 10, 0, []op{
			{"add", "a", 10}, {"add", "b", 20}, {"raise", "", 15}, {"maybe", "a", 10}, {"maybe", "b", 20},
			{"new", "a", 16}, {"raise", "", 5}, {"maybe", "x", 14}, {"new", "x", 15},
		}},
		{"eviction keeps the newest half", 4, 0, []op{
			{"add", "a", 1}, {"add", "b", 2}, {"add", "c", 3}, {"add", "d", 4}, {"add", "e", 5},
			// Five over a limit of four: the cutoff moves past the median (3).
			{"maybe", "a", 1}, {"maybe", "c", 3}, {"maybe", "d", 4}, {"maybe", "e", 5}, {"new", "zz", 4},
		}},
		{"eviction with equal times still shrinks", 2, 0, []op{
			{"add", "a", 7}, {"add", "b", 7}, {"add", "c", 7}, {"maybe", "a", 7}, {"new", "d", 8},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRecentIDs(c.limit, c.cutoff)
			for i, o := range c.ops {
				switch o.kind {
				case "add":
					r.add(o.id, o.micro)
					if c.limit > 0 && len(r.byHash) > c.limit {
						t.Fatalf("op %d: %d hashes over limit %d", i, len(r.byHash), c.limit)
					}
				case "raise":
					r.raise(o.micro)
				case "maybe", "new":
					if got := r.mayBeStored(o.id, o.micro); got != (o.kind == "maybe") {
						t.Fatalf("op %d: mayBeStored(%q, %d) = %v, want %v", i, o.id, o.micro, got, !got)
					}
				}
			}
		})
	}
}

// TestRecentIDsKeepsLatestTime checks the case that would lose the
// invariant: two adds under one hash must keep the later time, or eviction
// could forget a hash that a stored event at or after the cutoff needs.
func TestRecentIDsKeepsLatestTime(t *testing.T) {
	r := newRecentIDs(10, 0)
	r.add("a", 100)
	r.add("a", 10) // same id (so same hash), older time
	r.raise(50)
	if !r.mayBeStored("a", 100) {
		t.Fatal("a at 100 was forgotten after raising the cutoff to 50")
	}
}

// TestAppendIdempotentUnderEviction re-sends random old and new events,
// out of time order, through filters small enough to evict on every batch
// and with the filter off, and checks the stored count against the number
// of distinct ids.
func TestAppendIdempotentUnderEviction(t *testing.T) {
	for _, limit := range []int{-1, 3, 50, DefaultRecentIDs} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			path := filepath.Join(dir, "events.duckdb")
			s, err := Open(ctx, Config{Path: path, Threads: 1, RecentIDs: limit}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, uint64(limit+10)))
			base := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
			var all []*event.Event
			distinct := map[string]bool{}
			var total int
			for round := range 30 {
				var batch []*event.Event
				for j := range 20 {
					e := &event.Event{
						ID: fmt.Sprintf("r%d-%d", round, j),
						// Times jump around, some far before the rest, and
						// carry nanoseconds that DuckDB drops.
						Time:   base.Add(time.Duration(rng.IntN(100_000_000))*time.Microsecond + time.Duration(rng.IntN(1000))),
						Fields: []event.Field{{Name: "n", Value: event.N(float64(j))}},
					}
					batch = append(batch, e)
					all = append(all, e)
				}
				// Re-send some already sent events, in the same batch too.
				for range 10 {
					batch = append(batch, all[rng.IntN(len(all))])
				}
				rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
				n, err := s.AppendEvents(ctx, batch)
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				for _, e := range batch {
					if !distinct[e.ID] {
						distinct[e.ID] = true
						want++
					}
				}
				if n != want {
					t.Fatalf("round %d: stored %d, want %d", round, n, want)
				}
				total += n
				if round == 15 {
					// Reopen: the filter restarts from the newest stored time.
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					if s, err = Open(ctx, Config{Path: path, Threads: 1, RecentIDs: limit}, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			defer s.Close()
			n, err := s.AppendEvents(ctx, all)
			if err != nil || n != 0 {
				t.Fatalf("re-sending everything stored %d (%v), want 0", n, err)
			}
			st, err := s.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Events != int64(len(distinct)) || total != len(distinct) {
				t.Fatalf("%d events stored, %d counted, want %d", st.Events, total, len(distinct))
			}
		})
	}
}

// TestOpensOldStore writes a store the way the code before the recent-id
// filter left it (the unchanged schema, filled by plain SQL) and checks that
// it opens and that its events are recognised when re-sent, including one
// newer than anything this process has seen.
func TestOpensOldStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.duckdb")
	connector, err := duck.NewConnector(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	newest := time.Date(2026, 3, 29, 10, 0, 0, 123456789, time.UTC)
	for _, q := range []string{
		tableDDL("CREATE TABLE events"),
		`INSERT INTO events (id, time, host, fields) VALUES ('old-1', '2026-03-29 09:00:00+00', 'h', '{"a":1}')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO events (id, time, fields) VALUES ('old-2', ?, '{}')`, newest); err != nil {
		t.Fatal(err)
	}
	db.Close()
	connector.Close()

	s, err := Open(ctx, Config{Path: path, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resend := []*event.Event{
		{ID: "old-1", Time: time.Date(2026, 3, 29, 9, 0, 0, 0, time.UTC)},
		{ID: "old-2", Time: newest}, // its nanoseconds were dropped on disk
		{ID: "new-1", Time: newest.Add(time.Nanosecond)},
	}
	n, err := s.AppendEvents(ctx, resend)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("stored %d of the re-sent events, want only new-1", n)
	}
}

func TestHotValuesMatchGetFold(t *testing.T) {
	cases := []struct {
		name   string
		fields []event.Field
	}{
		{"none", nil},
		{"exact", []event.Field{{Name: "Image", Value: event.S("a")}, {Name: "EventID", Value: event.N(1)}}},
		{"fold only", []event.Field{{Name: "image", Value: event.S("a")}, {Name: "IMAGE", Value: event.S("b")}}},
		{"exact after fold", []event.Field{{Name: "image", Value: event.S("a")}, {Name: "Image", Value: event.S("b")}}},
		{"two exact", []event.Field{{Name: "User", Value: event.S("a")}, {Name: "User", Value: event.S("b")}}},
		{"unicode fold", []event.Field{{Name: "Haſhes", Value: event.S("long s")}, {Name: "\u212AEY", Value: event.S("kelvin")}}},
		{"not hot", []event.Field{{Name: "Imagex", Value: event.S("a")}, {Name: "", Value: event.S("b")}, {Name: "ParentCommandLineAndMore", Value: event.S("c")}}},
		{"list and null", []event.Field{{Name: "hashes", Value: event.L(event.S("x"), event.S("y"))}, {Name: "user", Value: event.Value{Kind: event.Null}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkHotValues(t, &event.Event{Fields: c.fields}) })
	}
}

func checkHotValues(t *testing.T, e *event.Event) {
	t.Helper()
	got := hotValues(e)
	for i, h := range hotColumns {
		want, ok := e.GetFold(h.field)
		switch {
		case ok != (got[i] != nil):
			t.Fatalf("%s: found %v, GetFold found %v", h.field, got[i] != nil, ok)
		case ok && (got[i].Kind != want.Kind || got[i].Text() != want.Text()):
			t.Fatalf("%s: %#v, GetFold %#v", h.field, *got[i], want)
		}
	}
}

func FuzzHotValues(f *testing.F) {
	f.Add("Image", "image", "Haſhes")
	f.Add("COMMANDLINE", "CommandLine", "x")
	f.Add("", "\u212Aey", "destinationport")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		checkHotValues(t, &event.Event{Fields: []event.Field{
			{Name: a, Value: event.S("1")}, {Name: b, Value: event.S("2")}, {Name: c, Value: event.S("3")},
		}})
	})
}
