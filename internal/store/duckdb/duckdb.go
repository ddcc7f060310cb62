// Package duckdb is the embedded EventStore: events in one DuckDB file,
// columnar for fast hunting scans.
//
// Layout: one table, events, with typed core columns (id, time, host,
// logsource, source), the hot Sigma fields as their own VARCHAR columns, and
// every field as JSON text (fields) from which events are rebuilt and other
// fields are read with json_extract_string.
//
// Writes: each AppendEvents call first asks which of the batch's ids are
// already stored (one query bounded by the batch's time span, so DuckDB's
// zone maps skip the rest of the table), leaving out the events that an
// in-memory filter of recently stored id hashes proves new (recentIDs: live
// ingest, whose events are newer than the filter's cutoff, mostly skips
// the query), then appends the new events with
// DuckDB's Appender inside one transaction. Idempotency is this check, not a
// primary key: DuckDB's ART index costs memory for every row and slows bulk
// inserts, while the check only touches row groups whose time range overlaps
// the batch. (An earlier version appended to a TEMP staging table and moved
// rows with INSERT ... WHERE NOT EXISTS; copying every row twice cost more
// CPU than the id check, see BenchmarkAppendEvents.) Writers are serialised,
// so check-then-append is not racy within the process, and DuckDB allows one
// process per file. On COMMIT DuckDB writes the batch to its WAL and fsyncs
// it, so the batch is durable when AppendEvents returns; the WAL is
// checkpointed into the main file once it passes checkpoint_threshold
// (DefaultCheckpointThreshold), on the committing call.
//
// Time pruning: DuckDB keeps min/max per column per row group (122,880 rows)
// in insertion order. Events arrive roughly in time order, so a time-bounded
// query skips the row groups outside its range without any further work.
//
// This package must not depend on pipeline, API or detection code.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	duck "github.com/duckdb/duckdb-go/v2"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/store"
)

// Config configures the store.
type Config struct {
	// Path is the database file; it is created if missing.
	Path string
	// MemoryLimit caps DuckDB's buffer pool ("4GB"); empty leaves DuckDB's
	// default (80% of RAM).
	MemoryLimit string
	// Threads caps DuckDB's worker threads; 0 leaves the default (all cores).
	Threads int
	// CheckpointThreshold is the WAL size at which DuckDB checkpoints
	// ("256MB"); empty means DefaultCheckpointThreshold.
	CheckpointThreshold string
	// RecentIDs is how many stored ids AppendEvents remembers by hash to
	// skip its stored-id query for events that cannot be stored yet; 0
	// means DefaultRecentIDs, negative turns the filter off.
	RecentIDs int
}

// DefaultCheckpointThreshold replaces DuckDB's 16 MiB default. A checkpoint
// rewrites the table's last, partly filled row group (122,880 rows), so at
// 16 MiB (about 10,000 of our events) each row group was compressed and
// written a dozen times over; at 256 MiB it is written once or twice.
// BenchmarkAppendEvents: 300,000 events cost 19.7 CPU-seconds at 16 MiB and
// 13.7 at 256 MiB. The price is a longer WAL replay after a crash.
const DefaultCheckpointThreshold = "256MB"

// DB is the DuckDB EventStore.
type DB struct {
	db     *sql.DB
	conn   *duck.Connector
	log    *slog.Logger
	path   string
	mu     sync.Mutex // serialises writers on the one writer connection
	writer *sql.Conn
	recent *recentIDs // guarded by mu
	closed bool
	rw     sync.RWMutex // readers hold it shared so Close waits for them
}

var _ store.EventStore = (*DB)(nil)

// columns lists the events table's columns in Appender order.
var columns = func() []string {
	cols := []string{"id", "time", "host", "product", "category", "service", "source"}
	for _, h := range hotColumns {
		cols = append(cols, h.column)
	}
	return append(cols, "fields")
}()

func tableDDL(create string) string {
	var b strings.Builder
	b.WriteString(create)
	b.WriteString(" (id VARCHAR NOT NULL, time TIMESTAMPTZ NOT NULL, host VARCHAR, product VARCHAR, category VARCHAR, service VARCHAR, source VARCHAR")
	for _, h := range hotColumns {
		b.WriteString(", " + h.column + " VARCHAR")
	}
	b.WriteString(", fields VARCHAR NOT NULL)")
	return b.String()
}

// Open opens or creates the store at cfg.Path.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*DB, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("duckdb: %w: empty path", store.ErrInvalid)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	connector, err := duck.NewConnector(cfg.Path, nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: opening %s: %w", cfg.Path, err)
	}
	db := sql.OpenDB(connector)
	s := &DB{db: db, conn: connector, log: logger, path: cfg.Path}
	fail := func(err error) (*DB, error) {
		if s.writer != nil {
			s.writer.Close()
		}
		db.Close()
		connector.Close()
		return nil, fmt.Errorf("duckdb: opening %s: %w", cfg.Path, err)
	}
	var settings []string
	if cfg.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit = "+quoteLiteral(cfg.MemoryLimit))
	}
	if cfg.CheckpointThreshold == "" {
		cfg.CheckpointThreshold = DefaultCheckpointThreshold
	}
	settings = append(settings, "SET checkpoint_threshold = "+quoteLiteral(cfg.CheckpointThreshold))
	if cfg.Threads > 0 {
		settings = append(settings, "SET threads = "+strconv.Itoa(cfg.Threads))
	}
	for _, q := range append(settings, tableDDL("CREATE TABLE IF NOT EXISTS events")) {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fail(err)
		}
	}
	// The newest stored time starts the recent-id filter: every stored
	// event is before its cutoff, so all of them are asked about in DuckDB.
	cutoff := int64(math.MinInt64)
	var newest sql.NullTime
	if err := db.QueryRowContext(ctx, "SELECT max(time) FROM events").Scan(&newest); err != nil {
		return fail(err)
	}
	if newest.Valid {
		cutoff = newest.Time.UnixMicro() + 1
	}
	if cfg.RecentIDs == 0 {
		cfg.RecentIDs = DefaultRecentIDs
	}
	s.recent = newRecentIDs(cfg.RecentIDs, cutoff)
	// One writer connection: appends, retention and their transactions are
	// serialised by s.mu anyway, and the Appender is tied to a connection.
	s.writer, err = db.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// quoteLiteral quotes a configuration value; SET takes no parameters, and
// the value comes from the operator's config, but quote it properly anyway.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Close checkpoints and closes the database.
func (s *DB) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rw.Lock()
	defer s.rw.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	errs := []error{s.writer.Close(), s.db.Close(), s.conn.Close()}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("duckdb: closing %s: %w", s.path, err)
	}
	return nil
}

// read runs fn holding the read lock, failing with ErrClosed after Close.
func (s *DB) read(fn func() error) error {
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return fn()
}

// AppendEvents implements store.EventStore.
func (s *DB) AppendEvents(ctx context.Context, events []*event.Event) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rw.RLock()
	defer s.rw.RUnlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	if len(events) == 0 {
		return 0, nil
	}
	// Drop repeats inside the batch first (the first copy wins), then ask
	// which of the remaining ids are already stored, about those the
	// recent-id filter cannot rule out.
	seen := make(map[string]struct{}, len(events))
	fresh := make([]*event.Event, 0, len(events))
	var check []*event.Event
	var lo, hi time.Time
	newest := int64(math.MinInt64)
	for i, e := range events {
		if e.ID == "" {
			return 0, fmt.Errorf("duckdb: append: event %d: %w: no id", i, store.ErrInvalid)
		}
		if e.Time.IsZero() {
			return 0, fmt.Errorf("duckdb: append: event %d (%s): %w: no time", i, e.ID, store.ErrInvalid)
		}
		id := clean(e.ID)
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		fresh = append(fresh, e)
		micros := e.Time.UnixMicro()
		newest = max(newest, micros)
		if !s.recent.mayBeStored(id, micros) {
			continue
		}
		check = append(check, e)
		if lo.IsZero() || e.Time.Before(lo) {
			lo = e.Time
		}
		if hi.IsZero() || e.Time.After(hi) {
			hi = e.Time
		}
	}
	// DuckDB keeps microseconds: widen the bounds so a stored time, which
	// lost its nanoseconds, still falls inside them.
	var stored map[string]struct{}
	if len(check) > 0 {
		var err error
		stored, err = s.storedIDs(ctx, check, lo.Add(-time.Microsecond), hi.Add(time.Microsecond))
		if err != nil {
			return 0, fmt.Errorf("duckdb: append: %w", err)
		}
	}
	var rows []*event.Event
	for _, e := range fresh {
		if !isStored(stored, clean(e.ID)) {
			rows = append(rows, e)
		}
	}
	if len(rows) == 0 {
		return 0, nil // a re-sent batch: nothing to write or sync
	}
	// One transaction around the Appender: it flushes every 2,048 rows, and
	// without it each flush would commit on its own, leaving part of a
	// failed batch stored.
	if _, err := s.writer.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return 0, fmt.Errorf("duckdb: append: %w", err)
	}
	err := s.appendRows(rows)
	if err == nil {
		_, err = s.writer.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		// Not the caller's context: a cancelled call must still end the
		// transaction so the writer connection stays usable.
		if _, rbErr := s.writer.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
			s.log.Debug("duckdb: rollback after failed append", "err", rbErr)
		}
		// A failed COMMIT may still have stored the batch: stop vouching
		// for anything up to its newest event.
		s.recent.raise(newest + 1)
		return 0, fmt.Errorf("duckdb: append: %w", err)
	}
	for _, e := range rows {
		s.recent.add(clean(e.ID), e.Time.UnixMicro())
	}
	return len(rows), nil
}

// appendRows adds rows to events with DuckDB's Appender, inside the
// caller's transaction. (An Arrow record batch built in Go and inserted
// with INSERT ... SELECT from a registered view, which avoids the cgo call
// per value, measured no cheaper: DuckDB's Arrow scan and INSERT cost what
// the cgo calls saved. It also needs the duckdb_arrow build tag.)
func (s *DB) appendRows(rows []*event.Event) error {
	return s.writer.Raw(func(dc any) error {
		a, err := duck.NewAppender(dc.(driver.Conn), "", "", "events")
		if err != nil {
			return err
		}
		row := make([]driver.Value, len(columns))
		var buf []byte
		for _, e := range rows {
			buf = fillRow(row, e, buf[:0])
			if err := a.AppendRow(row...); err != nil {
				a.Close()
				return fmt.Errorf("event %s: %w", e.ID, err)
			}
		}
		return a.Close()
	})
}

func isStored(stored map[string]struct{}, id string) bool {
	_, ok := stored[id]
	return ok
}

// storedIDs returns which of the events' ids are already stored. The time
// bounds let DuckDB skip row groups by their zone maps, so the cost follows
// the batch's time span, not the table's size. An id names one event, so a
// re-sent event carries the same time and falls inside the bounds.
func (s *DB) storedIDs(ctx context.Context, events []*event.Event, lo, hi time.Time) (map[string]struct{}, error) {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = clean(e.ID)
	}
	rows, err := s.writer.QueryContext(ctx, `SELECT id FROM events WHERE time >= ? AND time <= ? AND id IN (SELECT unnest(?::VARCHAR[]))`, lo, hi, ids)
	if err != nil {
		return nil, fmt.Errorf("checking stored ids: %w", err)
	}
	defer rows.Close()
	stored := map[string]struct{}{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("checking stored ids: %w", err)
		}
		stored[id] = struct{}{}
	}
	return stored, rows.Err()
}

// fillRow sets row to e's values in columns order, using buf for the JSON. Absent hot fields are
// NULL, so OpExists on a hot column means what it means on JSON fields.
func fillRow(row []driver.Value, e *event.Event, buf []byte) []byte {
	row[0] = clean(e.ID)
	row[1] = e.Time
	row[2] = nullable(e.Host)
	row[3] = nullable(e.Logsource.Product)
	row[4] = nullable(e.Logsource.Category)
	row[5] = nullable(e.Logsource.Service)
	row[6] = nullable(e.Source)
	for i, v := range hotValues(e) {
		if v != nil {
			row[7+i] = clean(v.Text())
		} else {
			row[7+i] = nil
		}
	}
	buf = appendFields(buf, e.Fields)
	// The bytes, not a string copy: AppendRow copies them into DuckDB's
	// vector before fillRow reuses buf for the next event, and the copy to
	// a Go string was most of AppendEvents' garbage.
	row[len(row)-1] = buf
	return buf
}

// hotValues finds each hot column's value in one pass over the fields, as
// e.GetFold(column's field) would: the first field with exactly that name,
// else the first equal without regard to ASCII case. Calling GetFold per
// hot column compared every field against every column name.
func hotValues(e *event.Event) (vals [len(hotColumnsArr)]*event.Value) {
	var exact [len(hotColumnsArr)]bool
	for i := range e.Fields {
		f := &e.Fields[i]
		candidates := hotAll
		if isASCII(f.Name) {
			if len(f.Name) >= len(hotByLen) {
				continue
			}
			candidates = hotByLen[len(f.Name)]
		}
		for _, h := range candidates {
			if exact[h] || !strings.EqualFold(f.Name, hotColumns[h].field) {
				continue
			}
			if f.Name == hotColumns[h].field {
				vals[h], exact[h] = &f.Value, true
			} else if vals[h] == nil {
				vals[h] = &f.Value
			}
		}
	}
	return vals
}

// hotByLen lists the hot columns by the length of their field name, a cheap
// first test before EqualFold for ASCII names. Non-ASCII names try every
// column (hotAll): EqualFold folds Unicode, so "Haſhes" (long s, two bytes)
// equals "Hashes" as GetFold sees it, at another length.
var hotByLen = func() [32][]int {
	var out [32][]int
	for i, h := range hotColumns {
		out[len(h.field)] = append(out[len(h.field)], i)
	}
	return out
}()

var hotAll = func() []int {
	out := make([]int, len(hotColumns))
	for i := range out {
		out[i] = i
	}
	return out
}()

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func nullable(s string) driver.Value {
	if s == "" {
		return nil
	}
	return clean(s)
}

// SearchEvents implements store.EventStore.
func (s *DB) SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	page := store.EventPage{Total: -1}
	var after *cursorPos
	if q.Cursor != "" {
		t, id, err := store.DecodeCursor(q.Cursor)
		if err != nil {
			return page, fmt.Errorf("duckdb: search: %w", err)
		}
		after = &cursorPos{t: t, id: id}
	}
	limit := store.PageLimit(q.Limit)
	cond, args, err := where(q, after)
	if err != nil {
		return page, fmt.Errorf("duckdb: search: %w", err)
	}
	err = s.read(func() error {
		if q.CountTotal {
			countCond, countArgs, err := where(q, nil)
			if err != nil {
				return err
			}
			if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE "+countCond, countArgs...).Scan(&page.Total); err != nil {
				return err
			}
		}
		// One row more than the page tells whether there is a next page.
		rows, err := s.db.QueryContext(ctx, `SELECT id, time, host, product, category, service, source, fields
			FROM events WHERE `+cond+` ORDER BY time DESC, id DESC LIMIT ?`, append(args, limit+1)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e                         event.Event
				host, prod, cat, svc, src sql.NullString
				fields                    string
			)
			if err := rows.Scan(&e.ID, &e.Time, &host, &prod, &cat, &svc, &src, &fields); err != nil {
				return err
			}
			e.Time = e.Time.UTC()
			e.Host, e.Source = host.String, src.String
			e.Logsource = event.Logsource{Product: prod.String, Category: cat.String, Service: svc.String}
			if e.Fields, err = event.UnmarshalFields([]byte(fields)); err != nil {
				return fmt.Errorf("event %s: fields: %w", e.ID, err)
			}
			page.Events = append(page.Events, &e)
		}
		return rows.Err()
	})
	if err != nil {
		return store.EventPage{Total: -1}, fmt.Errorf("duckdb: search: %w", err)
	}
	if len(page.Events) > limit {
		page.Events = page.Events[:limit]
		last := page.Events[limit-1]
		page.Next = store.EncodeCursor(last.Time, last.ID)
	}
	return page, nil
}

// Histogram implements store.EventStore.
func (s *DB) Histogram(ctx context.Context, q store.EventQuery, buckets int) ([]store.Bucket, error) {
	if buckets <= 0 {
		return nil, fmt.Errorf("duckdb: histogram: %w: %d buckets", store.ErrInvalid, buckets)
	}
	q.Cursor = ""
	cond, args, err := where(q, nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: histogram: %w", err)
	}
	var out []store.Bucket
	err = s.read(func() error {
		from, to := q.Range.From, q.Range.To
		if from.IsZero() || to.IsZero() {
			var lo, hi sql.NullTime
			if err := s.db.QueryRowContext(ctx, "SELECT min(time), max(time) FROM events WHERE "+cond, args...).Scan(&lo, &hi); err != nil {
				return err
			}
			if !lo.Valid {
				return nil // nothing matches
			}
			if from.IsZero() {
				from = lo.Time
			}
			if to.IsZero() {
				to = hi.Time.Add(time.Microsecond) // To is exclusive
			}
		}
		if !to.After(from) {
			return nil
		}
		// DuckDB keeps microseconds; widths are whole microseconds, rounded
		// up so that buckets*width covers the range.
		fromUS := from.UnixMicro()
		span := to.UnixMicro() - fromUS
		if span <= 0 {
			span = 1
		}
		width := (span + int64(buckets) - 1) / int64(buckets)
		out = make([]store.Bucket, buckets)
		for i := range out {
			out[i].Start = time.UnixMicro(fromUS + int64(i)*width).UTC()
		}
		rows, err := s.db.QueryContext(ctx, `SELECT (epoch_us(time) - ?) // ? AS b, count(*) FROM events WHERE `+cond+` GROUP BY b`,
			append([]any{fromUS, width}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b, n int64
			if err := rows.Scan(&b, &n); err != nil {
				return err
			}
			if b >= 0 && b < int64(buckets) {
				out[b].Count += n
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("duckdb: histogram: %w", err)
	}
	return out, nil
}

// TopValues implements store.EventStore.
func (s *DB) TopValues(ctx context.Context, q store.EventQuery, field string, n int) ([]store.ValueCount, error) {
	if field == "" {
		return nil, fmt.Errorf("duckdb: top values: %w: empty field", store.ErrInvalid)
	}
	if n <= 0 {
		n = 10
	}
	q.Cursor = ""
	cond, args, err := where(q, nil)
	if err != nil {
		return nil, fmt.Errorf("duckdb: top values: %w", err)
	}
	f := column(field)
	expr := f.sql
	if f.isTime {
		expr = "CAST(time AS VARCHAR)"
	}
	var out []store.ValueCount
	err = s.read(func() error {
		rows, err := s.db.QueryContext(ctx, `SELECT v, count(*) AS c FROM (SELECT `+expr+` AS v FROM events WHERE `+cond+`)
			WHERE v IS NOT NULL GROUP BY v ORDER BY c DESC, v LIMIT ?`, append(append(f.args, args...), n)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var vc store.ValueCount
			if err := rows.Scan(&vc.Value, &vc.Count); err != nil {
				return err
			}
			out = append(out, vc)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("duckdb: top values: %w", err)
	}
	return out, nil
}

// DeleteBefore implements store.EventStore. It checkpoints afterwards so the
// freed row groups are reclaimed and Stats.Bytes reflects the deletion.
func (s *DB) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	err := s.read(func() error {
		res, err := s.writer.ExecContext(ctx, "DELETE FROM events WHERE time < ?", t)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if n > 0 {
			if _, err := s.writer.ExecContext(ctx, "CHECKPOINT"); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("duckdb: delete before %s: %w", t.Format(time.RFC3339), err)
	}
	return n, nil
}

// Stats implements store.EventStore. Bytes is the database's used blocks
// plus its WAL: what the events occupy on disk.
func (s *DB) Stats(ctx context.Context) (store.StoreStats, error) {
	var st store.StoreStats
	err := s.read(func() error {
		var lo, hi sql.NullTime
		if err := s.db.QueryRowContext(ctx, "SELECT count(*), min(time), max(time) FROM events").Scan(&st.Events, &lo, &hi); err != nil {
			return err
		}
		st.Oldest, st.Newest = lo.Time.UTC(), hi.Time.UTC()
		if !lo.Valid {
			st.Oldest, st.Newest = time.Time{}, time.Time{}
		}
		var blockSize, usedBlocks int64
		var wal string
		if err := s.db.QueryRowContext(ctx, "SELECT block_size, used_blocks, wal_size FROM pragma_database_size() WHERE database_name = current_database()").
			Scan(&blockSize, &usedBlocks, &wal); err != nil {
			return fmt.Errorf("database size: %w", err)
		}
		st.Bytes = blockSize*usedBlocks + parseSize(wal)
		return nil
	})
	if err != nil {
		return store.StoreStats{}, fmt.Errorf("duckdb: stats: %w", err)
	}
	return st, nil
}

// parseSize reads DuckDB's human-readable sizes ("462 bytes", "1.5 MiB").
func parseSize(s string) int64 {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), " ")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	mult := map[string]float64{"bytes": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
	if mult == 0 {
		mult = 1
	}
	return int64(f * mult)
}
