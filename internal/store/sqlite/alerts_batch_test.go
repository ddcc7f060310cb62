package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
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
