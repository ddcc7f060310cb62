package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
)

const alertCols = `id, rule_id, rule_title, level, tags, host, time, first_seen, last_seen, count, status, assignee, event_ids, matched, retro, source, details`

// dedupKey names the alert a repeat merges into: rule, host and the start of
// the dedup window the event time falls in. NUL separators cannot occur in
// rule ids or host names from any source we read, so keys cannot collide.
func dedupKey(a store.Alert, window time.Duration) string {
	start := a.Time.UTC().Truncate(window)
	return a.RuleID + "\x00" + a.Host + "\x00" + strconv.FormatInt(start.UnixNano(), 10)
}

func jsonList(xs []string) string {
	if s, ok := plainList(xs); ok {
		return s
	}
	if xs == nil {
		xs = []string{}
	}
	b, _ := json.Marshal(xs)
	return string(b)
}

// UpsertAlert implements store.StateStore.
func (s *DB) UpsertAlert(ctx context.Context, a store.Alert, window time.Duration) (store.Alert, bool, error) {
	a, key, err := prepareAlert(a, window, s.now().UTC())
	if err != nil {
		return store.Alert{}, false, err
	}
	var out store.Alert
	created := false
	err = s.inTx(ctx, "upsert alert", func(tx *sql.Tx) error {
		var err error
		out, created, err = upsertTx(ctx, txAlertStmts{tx}, a, key)
		return err
	})
	if err != nil {
		return store.Alert{}, false, err
	}
	return out, created, nil
}

// prepareAlert validates a and fills its defaults; key is the dedup key, or
// nil (SQL NULL: never merged) when window <= 0.
func prepareAlert(a store.Alert, window time.Duration, now time.Time) (store.Alert, any, error) {
	if a.RuleID == "" || a.Time.IsZero() {
		return store.Alert{}, nil, fmt.Errorf("sqlite: upsert alert: %w: rule id and time are required", store.ErrInvalid)
	}
	if a.ID == "" {
		a.ID = newID()
	}
	if a.Status == "" {
		a.Status = store.StatusNew
	}
	if !a.Status.Valid() {
		return store.Alert{}, nil, fmt.Errorf("sqlite: upsert alert: %w: status %q", store.ErrInvalid, a.Status)
	}
	if a.Count <= 0 {
		a.Count = 1
	}
	if a.FirstSeen.IsZero() {
		a.FirstSeen = now
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = now
	}
	a.Time, a.FirstSeen, a.LastSeen = a.Time.UTC(), a.FirstSeen.UTC(), a.LastSeen.UTC()
	if len(a.EventIDs) > store.MaxAlertEventIDs {
		a.EventIDs = a.EventIDs[:store.MaxAlertEventIDs]
	}
	var key any
	if window > 0 {
		key = dedupKey(a, window)
	}
	return a, key, nil
}

// alertStmts runs the three statements of an upsert: on a transaction for
// one alert, or on statements prepared once for a batch.
type alertStmts interface {
	selectByKey(ctx context.Context, key any) (store.Alert, error) // sql.ErrNoRows when there is none
	update(ctx context.Context, args ...any) error
	updateCounts(ctx context.Context, args ...any) error
	insert(ctx context.Context, args ...any) error
}

const (
	sqlSelectByKey  = `SELECT ` + alertCols + ` FROM alerts WHERE dedup_key = ?`
	sqlUpdateAlert  = `UPDATE alerts SET time = ?, last_seen = ?, count = ?, event_ids = ?, matched = ?, tags = ? WHERE id = ?`
	sqlUpdateCounts = `UPDATE alerts SET last_seen = ?, count = ?, event_ids = ?, matched = ?, tags = ? WHERE id = ?`
	sqlInsertAlert  = `INSERT INTO alerts (id, dedup_key, rule_id, rule_title, level, tags, host, time, first_seen, last_seen,
			count, status, assignee, event_ids, matched, retro, source, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

type txAlertStmts struct{ tx *sql.Tx }

func (t txAlertStmts) selectByKey(ctx context.Context, key any) (store.Alert, error) {
	return scanAlert(t.tx.QueryRowContext(ctx, sqlSelectByKey, key))
}

func (t txAlertStmts) update(ctx context.Context, args ...any) error {
	_, err := t.tx.ExecContext(ctx, sqlUpdateAlert, args...)
	return err
}

func (t txAlertStmts) updateCounts(ctx context.Context, args ...any) error {
	_, err := t.tx.ExecContext(ctx, sqlUpdateCounts, args...)
	return err
}

func (t txAlertStmts) insert(ctx context.Context, args ...any) error {
	_, err := t.tx.ExecContext(ctx, sqlInsertAlert, args...)
	return err
}

// upsertTx merges a (prepared by prepareAlert) into the alert stored under
// key, or inserts it.
func upsertTx(ctx context.Context, st alertStmts, a store.Alert, key any) (store.Alert, bool, error) {
	if key != nil {
		old, err := st.selectByKey(ctx, key)
		switch {
		case err == nil:
			out := merge(old, a)
			if out.Time.Equal(old.Time) {
				// time is in four indexes: leaving it out of the SET
				// spares rewriting them for the usual repeat.
				err := st.updateCounts(ctx, nanos(out.LastSeen), out.Count, jsonList(out.EventIDs), jsonList(out.Matched), jsonList(out.Tags), out.ID)
				return out, false, err
			}
			err := st.update(ctx, nanos(out.Time), nanos(out.LastSeen), out.Count, jsonList(out.EventIDs), jsonList(out.Matched), jsonList(out.Tags), out.ID)
			return out, false, err
		case !errors.Is(err, sql.ErrNoRows):
			return store.Alert{}, false, err
		}
	}
	var details any
	if len(a.Details) > 0 {
		if !json.Valid(a.Details) {
			return store.Alert{}, false, fmt.Errorf("%w: details are not valid JSON", store.ErrInvalid)
		}
		details = string(a.Details)
	}
	err := st.insert(ctx, a.ID, key, a.RuleID, a.RuleTitle, a.Level, jsonList(a.Tags), a.Host, nanos(a.Time), nanos(a.FirstSeen), nanos(a.LastSeen),
		a.Count, string(a.Status), a.Assignee, jsonList(a.EventIDs), jsonList(a.Matched), a.Retro, a.Source, details)
	if err != nil {
		return store.Alert{}, false, err
	}
	a.Comments, a.History = nil, nil
	return a, true, nil
}

// merge folds a repeat into the stored alert: counts add up, LastSeen moves
// forward, Time stays the earliest event's, and the event ids, matched
// fields and tags gain what is new. Triage state (status, assignee) is the
// analyst's and is not touched.
func merge(old, rep store.Alert) store.Alert {
	out := old
	out.Count += rep.Count
	if rep.LastSeen.After(out.LastSeen) {
		out.LastSeen = rep.LastSeen
	}
	if rep.Time.Before(out.Time) {
		out.Time = rep.Time
	}
	out.EventIDs = union(out.EventIDs, rep.EventIDs, store.MaxAlertEventIDs)
	out.Matched = union(out.Matched, rep.Matched, 0)
	out.Tags = union(out.Tags, rep.Tags, 0)
	return out
}

// union appends the items of add not already in base, up to max items
// (0: no cap).
func union(base, add []string, max int) []string {
	out := slices.Clone(base)
	for _, x := range add {
		if max > 0 && len(out) >= max {
			break
		}
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func scanAlert(sc interface{ Scan(...any) error }) (store.Alert, error) {
	var (
		a                       store.Alert
		tags, eventIDs, matched string
		t, first, last          int64
		status                  string
		details                 sql.NullString
	)
	err := sc.Scan(&a.ID, &a.RuleID, &a.RuleTitle, &a.Level, &tags, &a.Host, &t, &first, &last, &a.Count, &status,
		&a.Assignee, &eventIDs, &matched, &a.Retro, &a.Source, &details)
	if err != nil {
		return store.Alert{}, err
	}
	a.Time, a.FirstSeen, a.LastSeen = fromNanos(t), fromNanos(first), fromNanos(last)
	a.Status = store.AlertStatus(status)
	for _, p := range []struct {
		js  string
		dst *[]string
	}{{tags, &a.Tags}, {eventIDs, &a.EventIDs}, {matched, &a.Matched}} {
		if list, ok := parsePlainList(p.js); ok {
			*p.dst = list
		} else if err := json.Unmarshal([]byte(p.js), p.dst); err != nil {
			return store.Alert{}, fmt.Errorf("alert %s: %w", a.ID, err)
		}
		if len(*p.dst) == 0 {
			*p.dst = nil
		}
	}
	if details.Valid {
		a.Details = json.RawMessage(details.String)
	}
	return a, nil
}

// GetAlert implements store.StateStore.
func (s *DB) GetAlert(ctx context.Context, id string) (store.Alert, error) {
	if err := s.check(); err != nil {
		return store.Alert{}, err
	}
	a, err := s.getAlert(ctx, s.read, id)
	return a, s.wrap("get alert", err)
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *DB) getAlert(ctx context.Context, db querier, id string) (store.Alert, error) {
	a, err := scanAlert(db.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
	if err != nil {
		return store.Alert{}, err
	}
	rows, err := db.QueryContext(ctx, `SELECT time, author, text FROM alert_comments WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return store.Alert{}, err
	}
	for rows.Next() {
		var c store.Comment
		var t int64
		if err := rows.Scan(&t, &c.Author, &c.Text); err != nil {
			rows.Close()
			return store.Alert{}, err
		}
		c.Time = fromNanos(t)
		a.Comments = append(a.Comments, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Alert{}, err
	}
	rows, err = db.QueryContext(ctx, `SELECT time, actor, field, from_value, to_value FROM alert_history WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return store.Alert{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var h store.AlertChange
		var t int64
		if err := rows.Scan(&t, &h.Actor, &h.Field, &h.From, &h.To); err != nil {
			return store.Alert{}, err
		}
		h.Time = fromNanos(t)
		a.History = append(a.History, h)
	}
	return a, rows.Err()
}

// ListAlerts implements store.StateStore.
func (s *DB) ListAlerts(ctx context.Context, f store.AlertFilter) (store.AlertPage, error) {
	if err := s.check(); err != nil {
		return store.AlertPage{}, err
	}
	var where []string
	var args []any
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if !f.Range.From.IsZero() {
		add("time >= ?", nanos(f.Range.From))
	}
	if !f.Range.To.IsZero() {
		add("time < ?", nanos(f.Range.To))
	}
	if len(f.Levels) > 0 {
		// lower() on both sides: SQLite folds ASCII only, so folding in Go
		// would disagree with it on other letters.
		ph := strings.TrimSuffix(strings.Repeat("lower(?),", len(f.Levels)), ",")
		vals := make([]any, len(f.Levels))
		for i, l := range f.Levels {
			vals[i] = l
		}
		add("lower(level) IN ("+ph+")", vals...)
	}
	if len(f.Statuses) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(f.Statuses)), ",")
		vals := make([]any, len(f.Statuses))
		for i, st := range f.Statuses {
			vals[i] = string(st)
		}
		add("status IN ("+ph+")", vals...)
	}
	if f.RuleID != "" {
		add("rule_id = ?", f.RuleID)
	}
	if f.Host != "" {
		add("host = ? COLLATE NOCASE", f.Host)
	}
	if f.Text != "" {
		p := likeContains(f.Text)
		add(`(rule_title LIKE ? ESCAPE '\' OR rule_id LIKE ? ESCAPE '\' OR host LIKE ? ESCAPE '\')`, p, p, p)
	}
	if f.Cursor != "" {
		t, id, err := store.DecodeCursor(f.Cursor)
		if err != nil {
			return store.AlertPage{}, fmt.Errorf("sqlite: list alerts: %w", err)
		}
		add("(time < ? OR (time = ? AND id < ?))", nanos(t), nanos(t), id)
	}
	limit := store.PageLimit(f.Limit)
	q := `SELECT ` + alertCols + ` FROM alerts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC LIMIT ?"
	rows, err := s.read.QueryContext(ctx, q, append(args, limit+1)...)
	if err != nil {
		return store.AlertPage{}, s.wrap("list alerts", err)
	}
	defer rows.Close()
	var page store.AlertPage
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return store.AlertPage{}, s.wrap("list alerts", err)
		}
		page.Alerts = append(page.Alerts, a)
	}
	if err := rows.Err(); err != nil {
		return store.AlertPage{}, s.wrap("list alerts", err)
	}
	if len(page.Alerts) > limit {
		page.Alerts = page.Alerts[:limit]
		last := page.Alerts[limit-1]
		page.Next = store.EncodeCursor(last.Time, last.ID)
	}
	return page, nil
}

// UpdateAlert implements store.StateStore.
func (s *DB) UpdateAlert(ctx context.Context, id string, u store.AlertUpdate) (store.Alert, error) {
	if u.Status != "" && !u.Status.Valid() {
		return store.Alert{}, fmt.Errorf("sqlite: update alert: %w: status %q", store.ErrInvalid, u.Status)
	}
	now := nanos(s.now())
	var out store.Alert
	err := s.inTx(ctx, "update alert", func(tx *sql.Tx) error {
		old, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
		if err != nil {
			return err
		}
		history := func(field, from, to string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO alert_history (alert_id, time, actor, field, from_value, to_value) VALUES (?, ?, ?, ?, ?, ?)`,
				id, now, u.Actor, field, from, to)
			return err
		}
		if u.Status != "" && u.Status != old.Status {
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ? WHERE id = ?`, string(u.Status), id); err != nil {
				return err
			}
			if err := history("status", string(old.Status), string(u.Status)); err != nil {
				return err
			}
		}
		if u.Assignee != nil && *u.Assignee != old.Assignee {
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET assignee = ? WHERE id = ?`, *u.Assignee, id); err != nil {
				return err
			}
			if err := history("assignee", old.Assignee, *u.Assignee); err != nil {
				return err
			}
		}
		if u.Comment != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_comments (alert_id, time, author, text) VALUES (?, ?, ?, ?)`,
				id, now, u.Actor, u.Comment); err != nil {
				return err
			}
			if err := history("comment", "", u.Comment); err != nil {
				return err
			}
		}
		out, err = s.getAlert(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Alert{}, err
	}
	return out, nil
}
