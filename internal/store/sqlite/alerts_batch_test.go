package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
)

// BenchmarkUpsertAlerts measures what ingest does per group commit: 200
// alerts over 50 rules and 100 hosts, most of them repeats of stored
// alerts after the first round, in one UpsertAlerts call.
func BenchmarkUpsertAlerts(b *testing.B) {
	s := openTest(b, filepath.Join(b.TempDir(), "state.db"), 0)
	defer s.Close()
	ctx := context.Background()
	base := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	const perCall = 200
	batch := make([]store.Alert, perCall)
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		for i := range batch {
			batch[i] = store.Alert{RuleID: fmt.Sprint("rule-", i%50), Host: fmt.Sprint("ws-", (i*7+round)%100), Time: base.Add(time.Duration(round) * time.Second),
				Level: "high", Source: store.SourceSigma, EventIDs: []string{fmt.Sprint("ev-", round, "-", i)}, Matched: []string{"Image"}}
		}
		if _, err := s.UpsertAlerts(ctx, batch, time.Hour); err != nil {
			b.Fatal(err)
		}
		round++
	}
	b.ReportMetric(float64(b.N*perCall)/b.Elapsed().Seconds(), "alerts/s")
}

// TestPlainList checks the fast list codec against encoding/json: what it
// writes is what json.Marshal writes, what it reads is what json.Unmarshal
// reads, and what it declines goes to encoding/json.
func TestPlainList(t *testing.T) {
	for _, xs := range [][]string{
		nil, {}, {"a"}, {"attack.t1195.002", "attack.execution"}, {"a,b", ""}, {"x y", "1"},
		{`quote"d`}, {`back\slash`}, {"<html>"}, {"a&b"}, {"tab\t"}, {"é"}, {"\x7f"}, {"ok", "\xff"},
	} {
		want, _ := json.Marshal(append([]string{}, xs...))
		got := jsonList(xs)
		if got != string(want) {
			t.Errorf("jsonList(%q) = %s, want %s", xs, got, want)
		}
		if s, ok := plainList(xs); ok && s != string(want) {
			t.Errorf("plainList(%q) = %s, want %s", xs, s, want)
		}
		var ref []string
		if err := json.Unmarshal(want, &ref); err != nil {
			t.Fatal(err)
		}
		if list, ok := parsePlainList(string(want)); ok && !slices.Equal(list, ref) {
			t.Errorf("parsePlainList(%s) = %q, want %q", want, list, ref)
		}
	}
	plain, _ := plainList([]string{"a", "b"})
	if list, ok := parsePlainList(plain); !ok || !slices.Equal(list, []string{"a", "b"}) {
		t.Errorf("a plain list was not read back: %q %v", list, ok)
	}
	for _, bad := range []string{``, `[`, `["a"`, `["a",]`, `["a" ,"b"]`, `[1]`, `["a\"b"]`, `["a"]x`, `{"a"}`} {
		if list, ok := parsePlainList(bad); ok {
			t.Errorf("parsePlainList(%s) = %q, want it declined", bad, list)
		}
	}
}
