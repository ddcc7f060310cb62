package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
)

// UpsertAlerts implements store.StateStore: every alert is upserted as
// UpsertAlert would, in order, inside one transaction. One commit (one
// fsync of the WAL) for a batch's alerts instead of one per alert, the
// alerts they merge into read with a few queries instead of one each, and
// the write statements prepared once, are what make an alert-heavy ingest
// affordable (BenchmarkUpsertAlerts).
func (s *DB) UpsertAlerts(ctx context.Context, alerts []store.Alert, window time.Duration) (int, error) {
	if len(alerts) == 0 {
		return 0, s.check()
	}
	now := s.now().UTC()
	prepared := make([]store.Alert, len(alerts))
	keys := make([]any, len(alerts))
	for i, a := range alerts {
		var err error
		if prepared[i], keys[i], err = prepareAlert(a, window, now); err != nil {
			return 0, err
		}
	}
	created := 0
	err := s.inTx(ctx, "upsert alerts", func(tx *sql.Tx) error {
		st, err := prepareBatchStmts(ctx, tx)
		if err != nil {
			return err
		}
		defer st.close()
		if st.stored, err = loadByKeys(ctx, tx, keys); err != nil {
			return err
		}
		created = 0
		for i := range prepared {
			out, c, err := upsertTx(ctx, st, prepared[i], keys[i])
			if err != nil {
				return err
			}
			if c {
				created++
			}
			if k, ok := keys[i].(string); ok {
				// A later alert of this call with the same key merges
				// into this one, as it would in a later call.
				st.stored[k] = out
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}

// keysPerQuery bounds the parameters of one IN list, well under SQLite's
// limit on host parameters.
const keysPerQuery = 500

// loadByKeys reads the stored alerts with any of keys (nil keys skipped),
// by dedup key.
func loadByKeys(ctx context.Context, tx *sql.Tx, keys []any) (map[string]store.Alert, error) {
	seen := make(map[string]bool, len(keys))
	var distinct []any
	for _, k := range keys {
		if ks, ok := k.(string); ok && !seen[ks] {
			seen[ks] = true
			distinct = append(distinct, ks)
		}
	}
	stored := make(map[string]store.Alert, len(distinct))
	for len(distinct) > 0 {
		n := min(len(distinct), keysPerQuery)
		chunk := distinct[:n]
		distinct = distinct[n:]
		q := `SELECT dedup_key, ` + alertCols + ` FROM alerts WHERE dedup_key IN (?` + strings.Repeat(`,?`, n-1) + `)`
		rows, err := tx.QueryContext(ctx, q, chunk...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var key string
			a, err := scanAlert(keyedRow{rows, &key})
			if err != nil {
				rows.Close()
				return nil, err
			}
			stored[key] = a
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return stored, nil
}

// keyedRow scans a row's leading dedup_key column into key and the rest
// into what scanAlert asks for.
type keyedRow struct {
	rows *sql.Rows
	key  *string
}

func (k keyedRow) Scan(dest ...any) error {
	return k.rows.Scan(append([]any{k.key}, dest...)...)
}

// batchAlertStmts are the upsert statements prepared on one transaction,
// with the alerts already stored under the call's dedup keys.
type batchAlertStmts struct {
	upd, updCounts, ins *sql.Stmt
	stored              map[string]store.Alert
}

func prepareBatchStmts(ctx context.Context, tx *sql.Tx) (*batchAlertStmts, error) {
	var st batchAlertStmts
	var err error
	if st.upd, err = tx.PrepareContext(ctx, sqlUpdateAlert); err != nil {
		return nil, err
	}
	if st.updCounts, err = tx.PrepareContext(ctx, sqlUpdateCounts); err != nil {
		st.close()
		return nil, err
	}
	if st.ins, err = tx.PrepareContext(ctx, sqlInsertAlert); err != nil {
		st.close()
		return nil, err
	}
	return &st, nil
}

func (b *batchAlertStmts) close() {
	for _, st := range []*sql.Stmt{b.upd, b.updCounts, b.ins} {
		if st != nil {
			st.Close()
		}
	}
}

func (b *batchAlertStmts) selectByKey(_ context.Context, key any) (store.Alert, error) {
	if k, ok := key.(string); ok {
		if a, ok := b.stored[k]; ok {
			return a, nil
		}
	}
	return store.Alert{}, sql.ErrNoRows
}

func (b *batchAlertStmts) update(ctx context.Context, args ...any) error {
	_, err := b.upd.ExecContext(ctx, args...)
	return err
}

func (b *batchAlertStmts) updateCounts(ctx context.Context, args ...any) error {
	_, err := b.updCounts.ExecContext(ctx, args...)
	return err
}

func (b *batchAlertStmts) insert(ctx context.Context, args ...any) error {
	_, err := b.ins.ExecContext(ctx, args...)
	return err
}

// Alerts keep their tags, event ids and matched fields as JSON lists of
// strings, rewritten on every repeat and read for every merge; through
// encoding/json they were a large part of an upsert. Nearly every such
// string is plain (printable ASCII that JSON writes as is), so plainList
// and parsePlainList handle those lists directly and leave any other to
// encoding/json; TestPlainList checks both against it.

// plainString reports whether encoding/json writes s unchanged between
// quotes (it escapes '<', '>' and '&' too).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// plainList writes xs as json.Marshal would, when every item is plain.
func plainList(xs []string) (string, bool) {
	n := 2
	for _, x := range xs {
		if !plainString(x) {
			return "", false
		}
		n += len(x) + 3
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(x)
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String(), true
}

// parsePlainList reads a list plainList wrote (an empty list as nil), or
// reports false for anything else.
func parsePlainList(js string) ([]string, bool) {
	if len(js) < 2 || js[0] != '[' || js[len(js)-1] != ']' {
		return nil, false
	}
	body := js[1 : len(js)-1]
	if body == "" {
		return nil, true
	}
	out := make([]string, 0, strings.Count(body, ",")+1)
	for {
		if len(body) < 2 || body[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(body[1:], '"') + 1
		if end == 0 {
			return nil, false
		}
		item := body[1:end]
		if !plainString(item) {
			return nil, false
		}
		out = append(out, item)
		body = body[end+1:]
		if body == "" {
			return out, true
		}
		if body[0] != ',' {
			return nil, false
		}
		body = body[1:]
	}
}
