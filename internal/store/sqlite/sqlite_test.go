package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
	"github.com/vigilsoc/vigil/internal/store/storetest"
)

func openTest(t testing.TB, path string, version int) *DB {
	t.Helper()
	s, err := Open(context.Background(), Config{Path: path, SchemaVersion: version}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunStateStore(t, func(t *testing.T) store.StateStore {
		return openTest(t, filepath.Join(t.TempDir(), "state.db"), 0)
	})
}

// TestMigrateFromOlderVersion builds a database at every older schema
// version, stores data the old schema has, and opens it with this build.
func TestMigrateFromOlderVersion(t *testing.T) {
	ctx := context.Background()
	latest := LatestVersion()
	if latest < 2 {
		t.Fatalf("LatestVersion = %d; the upgrade test needs at least two migrations", latest)
	}
	for v := 1; v < latest; v++ {
		path := filepath.Join(t.TempDir(), "state.db")
		old := openTest(t, path, v)
		if got, err := old.SchemaVersion(ctx); err != nil || got != v {
			t.Fatalf("old schema version = %d, %v; want %d", got, err, v)
		}
		a, _, err := old.UpsertAlert(ctx, store.Alert{RuleID: "r1", Host: "h", Time: time.Unix(1700000000, 0), Source: store.SourceSigma}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.CreateToken(ctx, "admin", "admin", "hash", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}

		s := openTest(t, path, 0)
		if got, err := s.SchemaVersion(ctx); err != nil || got != latest {
			t.Errorf("upgraded from %d: version = %d, %v; want %d", v, got, err, latest)
		}
		if _, err := s.GetAlert(ctx, a.ID); err != nil {
			t.Errorf("upgraded from %d: alert lost: %v", v, err)
		}
		if _, err := s.LookupToken(ctx, "hash"); err != nil {
			t.Errorf("upgraded from %d: token lost: %v", v, err)
		}
		// Tables of later migrations work.
		if err := s.PutBlob(ctx, "k", []byte("v")); err != nil {
			t.Errorf("upgraded from %d: blobs: %v", v, err)
		}
		if err := s.AppendAudit(ctx, store.Audit{Actor: "a", Action: "b"}); err != nil {
			t.Errorf("upgraded from %d: audit: %v", v, err)
		}
		s.Close()
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := openTest(t, path, 0)
	if _, err := s.write.ExecContext(ctx, `INSERT INTO schema_version (version, applied) VALUES (?, 0)`, LatestVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(ctx, Config{Path: path}, nil)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("err = %v, want ErrSchemaTooNew", err)
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	s := openTest(t, path, 0)
	a, _, err := s.UpsertAlert(ctx, store.Alert{RuleID: "r1", Host: "h", Time: time.Unix(1700000000, 0), Source: store.SourceSigma}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateAlert(ctx, a.ID, store.AlertUpdate{Comment: "note", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlob(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path, 0)
	defer s.Close()
	got, err := s.GetAlert(ctx, a.ID)
	if err != nil || len(got.Comments) != 1 || got.Comments[0].Text != "note" {
		t.Errorf("after reopen: %+v, %v", got, err)
	}
	// The dedup key survives too: a repeat merges into the reopened alert.
	again, created, err := s.UpsertAlert(ctx, store.Alert{RuleID: "r1", Host: "h", Time: time.Unix(1700000100, 0)}, time.Hour)
	if err != nil || created || again.ID != a.ID || again.Count != 2 {
		t.Errorf("repeat after reopen: %+v created=%v err=%v", again, created, err)
	}
	if v, err := s.GetBlob(ctx, "k"); err != nil || string(v) != "v" {
		t.Errorf("blob after reopen = %q, %v", v, err)
	}
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "state.db"), 0)
	defer s.Close()
	for _, db := range []interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}{s.read, s.write} {
		var mode string
		var fk, busy int
		if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || busy != 5000 {
			t.Errorf("journal_mode %q foreign_keys %d busy_timeout %d", mode, fk, busy)
		}
	}
}
