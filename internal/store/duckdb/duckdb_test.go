package duckdb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigilsoc/vigil/internal/store"
	"github.com/vigilsoc/vigil/internal/store/storetest"
)

func openTest(t testing.TB, dir string) *DB {
	t.Helper()
	s, err := Open(context.Background(), Config{Path: filepath.Join(dir, "events.duckdb"), Threads: 2, MemoryLimit: "1GB"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunEventStore(t, func(t *testing.T) store.EventStore { return openTest(t, t.TempDir()) })
}

func TestReopen(t *testing.T) {
	storetest.RunEventStoreReopen(t, func(t *testing.T, dir string) store.EventStore { return openTest(t, dir) })
}
