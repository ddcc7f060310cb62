// Package sqlite is the embedded StateStore: alerts, tokens, rule settings,
// the audit log and blobs in one SQLite file (modernc.org/sqlite, pure Go).
//
// The database runs in WAL mode so readers never block the writer, with a
// busy timeout and foreign keys on. Writes go through a pool of exactly one
// connection whose transactions begin IMMEDIATE: SQLite has one writer
// anyway, and a single writer connection turns lock contention (SQLITE_BUSY
// when two deferred transactions both try to upgrade) into plain queueing.
// Reads use a separate pool.
//
// synchronous=NORMAL in WAL mode: a committed transaction survives a process
// crash; on power loss the last transactions may roll back. State here is
// rebuilt or re-derived from stored events, so that trade buys throughput.
//
// The schema is versioned: the ordered migrations in migrations/ are
// embedded and applied in one transaction when the store opens.
//
// This package must not depend on pipeline, API or detection code.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vigilsoc/vigil/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Config configures the store.
type Config struct {
	// Path is the database file; it is created if missing.
	Path string
	// BusyTimeout is how long a connection waits for a lock; 0 means 5s.
	BusyTimeout time.Duration
	// Now is the clock for FirstSeen, LastSeen, history and audit times;
	// nil means time.Now. Tests inject a fixed clock.
	Now func() time.Time
	// SchemaVersion stops migrations at this version; 0 means the latest.
	// Only tests set it, to build a database at an older version.
	SchemaVersion int
}

// DB is the SQLite StateStore.
type DB struct {
	write  *sql.DB // one connection, IMMEDIATE transactions
	read   *sql.DB
	log    *slog.Logger
	now    func() time.Time
	path   string
	closed atomic.Bool
}

var _ store.StateStore = (*DB)(nil)

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order. File names
// start with the version number: 0001_name.sql.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number", e.Name())
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must run 1, 2, 3... without gaps", m.name)
		}
	}
	return out, nil
}

// LatestVersion is the schema version this build creates.
func LatestVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// ErrSchemaTooNew is returned when the database was written by a newer
// build: its schema version is above every migration this build knows.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this build")

func dsn(path string, timeout time.Duration, txlock string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(timeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens or creates the store at cfg.Path and migrates its schema.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*DB, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("sqlite: %w: empty path", store.ErrInvalid)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	write, err := sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout, "immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout, ""))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	s := &DB{write: write, read: read, log: logger, now: cfg.Now, path: cfg.Path}
	if err := s.migrate(ctx, cfg.SchemaVersion); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", cfg.Path, err)
	}
	return s, nil
}

// migrate applies every pending migration up to target (0: all) in one
// transaction, so a failure leaves the database at its old version.
func (s *DB) migrate(ctx context.Context, target int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if target <= 0 || target > len(ms) {
		target = len(ms)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied INTEGER NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("%w: version %d, this build knows up to %d", ErrSchemaTooNew, current, len(ms))
	}
	for _, m := range ms[current:target] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied) VALUES (?, ?)`, m.version, s.now().UnixNano()); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		s.log.Info("sqlite: applied migration", "path", s.path, "migration", m.name)
	}
	return tx.Commit()
}

// SchemaVersion returns the database's schema version.
func (s *DB) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	var v int
	if err := s.read.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, s.wrap("schema version", err)
	}
	return v, nil
}

// Close closes the store.
func (s *DB) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := errors.Join(s.read.Close(), s.write.Close()); err != nil {
		return fmt.Errorf("sqlite: closing %s: %w", s.path, err)
	}
	return nil
}

func (s *DB) check() error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// wrap names the operation and maps driver errors to the store's sentinels.
func (s *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if s.closed.Load() {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrClosed)
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w: %v", op, store.ErrConflict, err)
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// inTx runs fn in one write transaction.
func (s *DB) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := s.check(); err != nil {
		return err
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return s.wrap(op, err)
	}
	return s.wrap(op, tx.Commit())
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// nanos stores a time; the zero time is 0 so "unset" survives a round trip.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// likeContains returns a LIKE pattern (ESCAPE '\') for a literal substring.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// CreateToken implements store.StateStore.
func (s *DB) CreateToken(ctx context.Context, name, role, hash string, expires time.Time) (store.Token, error) {
	if name == "" || hash == "" {
		return store.Token{}, fmt.Errorf("sqlite: create token: %w: name and hash are required", store.ErrInvalid)
	}
	t := store.Token{ID: newID(), Name: name, Role: role, Hash: hash, Created: s.now().UTC(), Expires: expires.UTC()}
	if expires.IsZero() {
		t.Expires = time.Time{}
	}
	err := s.inTx(ctx, "create token", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, name, role, hash, created, expires) VALUES (?, ?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.Role, t.Hash, nanos(t.Created), nanos(t.Expires))
		return err
	})
	if err != nil {
		return store.Token{}, err
	}
	return t, nil
}

const tokenCols = `id, name, role, hash, created, expires, revoked`

func scanToken(sc interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var created, expires int64
	err := sc.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &created, &expires, &t.Revoked)
	t.Created, t.Expires = fromNanos(created), fromNanos(expires)
	return t, err
}

// LookupToken implements store.StateStore.
func (s *DB) LookupToken(ctx context.Context, hash string) (store.Token, error) {
	if err := s.check(); err != nil {
		return store.Token{}, err
	}
	t, err := scanToken(s.read.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if err != nil {
		return store.Token{}, s.wrap("lookup token", err)
	}
	if t.Revoked {
		return store.Token{}, fmt.Errorf("sqlite: lookup token: %w (revoked)", store.ErrNotFound)
	}
	if !t.Expires.IsZero() && !s.now().Before(t.Expires) {
		return store.Token{}, fmt.Errorf("sqlite: lookup token: %w (expired)", store.ErrNotFound)
	}
	return t, nil
}

// ListTokens implements store.StateStore.
func (s *DB) ListTokens(ctx context.Context) ([]store.Token, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created, id`)
	if err != nil {
		return nil, s.wrap("list tokens", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, s.wrap("list tokens", err)
		}
		out = append(out, t)
	}
	return out, s.wrap("list tokens", rows.Err())
}

// RevokeToken implements store.StateStore.
func (s *DB) RevokeToken(ctx context.Context, id string) error {
	return s.inTx(ctx, "revoke token", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = 1 WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return nil
	})
}

// SetRuleEnabled implements store.StateStore.
func (s *DB) SetRuleEnabled(ctx context.Context, ruleID string, enabled bool) error {
	if ruleID == "" {
		return fmt.Errorf("sqlite: set rule: %w: empty rule id", store.ErrInvalid)
	}
	return s.inTx(ctx, "set rule", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rule_settings (rule_id, enabled) VALUES (?, ?)
			ON CONFLICT(rule_id) DO UPDATE SET enabled = excluded.enabled`, ruleID, enabled)
		return err
	})
}

// RuleSettings implements store.StateStore.
func (s *DB) RuleSettings(ctx context.Context) ([]store.RuleSetting, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT rule_id, enabled, hits, last_hit FROM rule_settings ORDER BY rule_id`)
	if err != nil {
		return nil, s.wrap("rule settings", err)
	}
	defer rows.Close()
	var out []store.RuleSetting
	for rows.Next() {
		var r store.RuleSetting
		var last int64
		if err := rows.Scan(&r.RuleID, &r.Enabled, &r.Hits, &last); err != nil {
			return nil, s.wrap("rule settings", err)
		}
		r.LastHit = fromNanos(last)
		out = append(out, r)
	}
	return out, s.wrap("rule settings", rows.Err())
}

// IncrementRuleHits implements store.StateStore.
func (s *DB) IncrementRuleHits(ctx context.Context, hits map[string]int64, at time.Time) error {
	if len(hits) == 0 {
		return s.check()
	}
	return s.inTx(ctx, "increment rule hits", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO rule_settings (rule_id, hits, last_hit) VALUES (?, ?, ?)
			ON CONFLICT(rule_id) DO UPDATE SET hits = hits + excluded.hits, last_hit = max(last_hit, excluded.last_hit)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for id, n := range hits {
			if _, err := stmt.ExecContext(ctx, id, n, nanos(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// AppendAudit implements store.StateStore.
func (s *DB) AppendAudit(ctx context.Context, a store.Audit) error {
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	return s.inTx(ctx, "append audit", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)`,
			nanos(a.Time), a.Actor, a.Action, a.Target, a.Detail)
		return err
	})
}

// ListAudit implements store.StateStore.
func (s *DB) ListAudit(ctx context.Context, f store.AuditFilter) (store.AuditPage, error) {
	if err := s.check(); err != nil {
		return store.AuditPage{}, err
	}
	var where []string
	var args []any
	if !f.Range.From.IsZero() {
		where, args = append(where, "time >= ?"), append(args, nanos(f.Range.From))
	}
	if !f.Range.To.IsZero() {
		where, args = append(where, "time < ?"), append(args, nanos(f.Range.To))
	}
	for col, v := range map[string]string{"actor": f.Actor, "action": f.Action, "target": f.Target} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	if f.Cursor != "" {
		t, id, err := store.DecodeCursor(f.Cursor)
		if err != nil {
			return store.AuditPage{}, fmt.Errorf("sqlite: list audit: %w", err)
		}
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return store.AuditPage{}, fmt.Errorf("sqlite: list audit: %w: cursor id", store.ErrInvalid)
		}
		where = append(where, "(time < ? OR (time = ? AND id < ?))")
		args = append(args, nanos(t), nanos(t), n)
	}
	limit := store.PageLimit(f.Limit)
	q := `SELECT id, time, actor, action, target, detail FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC LIMIT ?"
	rows, err := s.read.QueryContext(ctx, q, append(args, limit+1)...)
	if err != nil {
		return store.AuditPage{}, s.wrap("list audit", err)
	}
	defer rows.Close()
	var page store.AuditPage
	for rows.Next() {
		var a store.Audit
		var t int64
		if err := rows.Scan(&a.ID, &t, &a.Actor, &a.Action, &a.Target, &a.Detail); err != nil {
			return store.AuditPage{}, s.wrap("list audit", err)
		}
		a.Time = fromNanos(t)
		page.Entries = append(page.Entries, a)
	}
	if err := rows.Err(); err != nil {
		return store.AuditPage{}, s.wrap("list audit", err)
	}
	if len(page.Entries) > limit {
		page.Entries = page.Entries[:limit]
		last := page.Entries[limit-1]
		page.Next = store.EncodeCursor(last.Time, strconv.FormatInt(last.ID, 10))
	}
	return page, nil
}

// PutBlob implements store.StateStore.
func (s *DB) PutBlob(ctx context.Context, key string, value []byte) error {
	if key == "" {
		return fmt.Errorf("sqlite: put blob: %w: empty key", store.ErrInvalid)
	}
	if value == nil {
		value = []byte{}
	}
	return s.inTx(ctx, "put blob", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO blobs (key, value, updated) VALUES (?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated = excluded.updated`, key, value, s.now().UnixNano())
		return err
	})
}

// GetBlob implements store.StateStore.
func (s *DB) GetBlob(ctx context.Context, key string) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var v []byte
	if err := s.read.QueryRowContext(ctx, `SELECT value FROM blobs WHERE key = ?`, key).Scan(&v); err != nil {
		return nil, s.wrap("get blob", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// DeleteBlob implements store.StateStore.
func (s *DB) DeleteBlob(ctx context.Context, key string) error {
	return s.inTx(ctx, "delete blob", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE key = ?`, key)
		return err
	})
}
