package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
)

// testAlertBatch checks UpsertAlerts: the same merging as UpsertAlert,
// repeats within one call merged too, and all or nothing on error.
func testAlertBatch(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	w := time.Hour
	count := func() int {
		t.Helper()
		page, err := s.ListAlerts(ctx, store.AlertFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Alerts)
	}
	find := func(rule, host string) store.Alert {
		t.Helper()
		page, err := s.ListAlerts(ctx, store.AlertFilter{RuleID: rule, Host: host})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Alerts) != 1 {
			t.Fatalf("%s/%s: %d alerts, want 1", rule, host, len(page.Alerts))
		}
		return page.Alerts[0]
	}

	if n, err := s.UpsertAlerts(ctx, nil, w); n != 0 || err != nil {
		t.Errorf("empty batch = %d, %v", n, err)
	}

	rep := alert("r1", "h1", base.Add(10*time.Minute))
	rep.Matched = []string{"CommandLine"}
	rep.Count = 3
	batch := []store.Alert{
		alert("r1", "h1", base.Add(5*time.Minute)),
		alert("r2", "h1", base.Add(5*time.Minute)),
		rep, // merges into the first, within the call
		alert("r1", "h2", base.Add(5*time.Minute)),
	}
	created, err := s.UpsertAlerts(ctx, batch, w)
	if err != nil {
		t.Fatal(err)
	}
	if created != 3 || count() != 3 {
		t.Errorf("created %d, stored %d; want 3 and 3", created, count())
	}
	got := find("r1", "h1")
	if got.Count != 4 || !got.Time.Equal(base.Add(5*time.Minute)) ||
		!slices.Equal(got.EventIDs, []string{"e-100500", "e-101000"}) || !slices.Equal(got.Matched, []string{"Image", "CommandLine"}) {
		t.Errorf("merged within the batch: %+v", got)
	}

	// A later batch merges into what is stored, as UpsertAlert does.
	created, err = s.UpsertAlerts(ctx, []store.Alert{alert("r1", "h1", base.Add(20*time.Minute)), alert("r3", "h1", base)}, w)
	if err != nil || created != 1 {
		t.Errorf("second batch created %d, %v; want 1", created, err)
	}
	if got := find("r1", "h1"); got.Count != 5 {
		t.Errorf("count after second batch = %d, want 5", got.Count)
	}
	// So does a single upsert after a batch.
	if _, c := mustUpsert(t, s, alert("r3", "h1", base.Add(time.Minute)), w); c {
		t.Error("UpsertAlert after UpsertAlerts created a new alert")
	}

	// Without a window nothing merges.
	created, err = s.UpsertAlerts(ctx, []store.Alert{alert("nd", "h", base), alert("nd", "h", base)}, 0)
	if err != nil || created != 2 {
		t.Errorf("window 0: created %d, %v; want 2", created, err)
	}

	// All or nothing: a bad alert anywhere leaves the store as it was.
	before := count()
	beforeR1 := find("r1", "h1").Count
	badDetails := alert("bad", "h", base)
	badDetails.Details = json.RawMessage(`{nope`)
	dupID := alert("dup", "h", base)
	dupID.ID = "same-id"
	for name, tc := range map[string]struct {
		alerts []store.Alert
		window time.Duration
		want   error
	}{
		"no rule":     {[]store.Alert{alert("new1", "h", base), {Time: base}}, w, store.ErrInvalid},
		"bad status":  {[]store.Alert{alert("new2", "h", base), {RuleID: "r", Time: base, Status: "maybe"}}, w, store.ErrInvalid},
		"bad details": {[]store.Alert{alert("r1", "h1", base), alert("new3", "h", base), badDetails}, w, store.ErrInvalid},
		"same id":     {[]store.Alert{alert("r1", "h1", base), dupID, dupID}, 0, store.ErrConflict},
	} {
		if _, err := s.UpsertAlerts(ctx, tc.alerts, tc.window); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
		if n := count(); n != before {
			t.Errorf("%s: %d alerts stored after a failed batch, want %d", name, n, before)
		}
		if n := find("r1", "h1").Count; n != beforeR1 {
			t.Errorf("%s: a failed batch merged into r1/h1 (count %d, want %d)", name, n, beforeR1)
		}
	}
}
