package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
)

// UpsertAlerts implements store.StateStore: every alert is upserted as
// UpsertAlert would, in order, inside one transaction with the statements
// prepared once. One commit (one fsync of the WAL) for a batch's alerts
// instead of one per alert is what makes an alert-heavy ingest affordable.
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
		created = 0
		for i := range prepared {
			_, c, err := upsertTx(ctx, st, prepared[i], keys[i])
			if err != nil {
				return err
			}
			if c {
				created++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}

// batchAlertStmts are the upsert statements prepared on one transaction.
type batchAlertStmts struct {
	sel, upd, ins *sql.Stmt
}

func prepareBatchStmts(ctx context.Context, tx *sql.Tx) (*batchAlertStmts, error) {
	var st batchAlertStmts
	var err error
	if st.sel, err = tx.PrepareContext(ctx, sqlSelectByKey); err != nil {
		return nil, err
	}
	if st.upd, err = tx.PrepareContext(ctx, sqlUpdateAlert); err != nil {
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
	for _, st := range []*sql.Stmt{b.sel, b.upd, b.ins} {
		if st != nil {
			st.Close()
		}
	}
}

func (b *batchAlertStmts) selectByKey(ctx context.Context, key any) *sql.Row {
	return b.sel.QueryRowContext(ctx, key)
}

func (b *batchAlertStmts) update(ctx context.Context, args ...any) error {
	_, err := b.upd.ExecContext(ctx, args...)
	return err
}

func (b *batchAlertStmts) insert(ctx context.Context, args ...any) error {
	_, err := b.ins.ExecContext(ctx, args...)
	return err
}
