package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
)

// BenchmarkUpsertAlert measures the alert path: half the upserts repeat an
// existing alert (merge), half create one.
func BenchmarkUpsertAlert(b *testing.B) {
	s := openTest(b, filepath.Join(b.TempDir(), "state.db"), 0)
	defer s.Close()
	ctx := context.Background()
	base := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := store.Alert{RuleID: fmt.Sprint("rule-", i%50), Host: fmt.Sprint("ws-", i/2), Time: base.Add(time.Duration(i) * time.Second),
			Level: "high", Source: store.SourceSigma, EventIDs: []string{fmt.Sprint("ev-", i)}, Matched: []string{"Image"}}
		if _, _, err := s.UpsertAlert(ctx, a, time.Hour); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "upserts/s")
}

func BenchmarkListAlerts(b *testing.B) {
	s := openTest(b, filepath.Join(b.TempDir(), "state.db"), 0)
	defer s.Close()
	ctx := context.Background()
	base := time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC)
	for i := range 10000 {
		a := store.Alert{RuleID: fmt.Sprint("rule-", i%50), Host: fmt.Sprint("ws-", i%300), Time: base.Add(time.Duration(i) * time.Second),
			Level: []string{"low", "medium", "high", "critical"}[i%4], Source: store.SourceSigma}
		if _, _, err := s.UpsertAlert(ctx, a, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ListAlerts(ctx, store.AlertFilter{Levels: []string{"high", "critical"}, Statuses: []store.AlertStatus{store.StatusNew}, Limit: 50}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/op")
}
