package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
)

// RunStateStore runs the StateStore conformance suite. open must return a
// new, empty store each time it is called; the suite closes it.
func RunStateStore(t *testing.T, open func(t *testing.T) store.StateStore) {
	wrap := func(f func(*testing.T, store.StateStore)) func(*testing.T) {
		return func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			f(t, s)
		}
	}
	t.Run("AlertDedup", wrap(testAlertDedup))
	t.Run("AlertNoDedup", wrap(testAlertNoDedup))
	t.Run("AlertRoundTrip", wrap(testAlertRoundTrip))
	t.Run("AlertInvalid", wrap(testAlertInvalid))
	t.Run("AlertList", wrap(testAlertList))
	t.Run("AlertCursor", wrap(testAlertCursor))
	t.Run("AlertUpdate", wrap(testAlertUpdate))
	t.Run("AlertConcurrentUpsert", wrap(testAlertConcurrent))
	t.Run("AlertHostile", wrap(testAlertHostile))
	t.Run("AlertBatch", wrap(testAlertBatch))
	t.Run("Tokens", wrap(testTokens))
	t.Run("Rules", wrap(testRules))
	t.Run("Audit", wrap(testAudit))
	t.Run("Blobs", wrap(testBlobs))
	t.Run("Closed", func(t *testing.T) { testStateClosed(t, open(t)) })
}

func alert(rule, host string, at time.Time) store.Alert {
	return store.Alert{
		RuleID: rule, RuleTitle: "Title of " + rule, Level: "high", Host: host, Time: at,
		Tags: []string{"attack.t1195.002"}, EventIDs: []string{"e-" + at.Format("150405")},
		Matched: []string{"Image"}, Source: store.SourceSigma,
	}
}

func mustUpsert(t *testing.T, s store.StateStore, a store.Alert, window time.Duration) (store.Alert, bool) {
	t.Helper()
	got, created, err := s.UpsertAlert(context.Background(), a, window)
	if err != nil {
		t.Fatalf("UpsertAlert: %v", err)
	}
	return got, created
}

func testAlertDedup(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	w := time.Hour
	first, created := mustUpsert(t, s, alert("r1", "ws-1", base.Add(5*time.Minute)), w)
	if !created || first.ID == "" || first.Count != 1 || first.Status != store.StatusNew || first.FirstSeen.IsZero() {
		t.Fatalf("first upsert = %+v, created %v", first, created)
	}
	// Triage state must survive repeats.
	if _, err := s.UpdateAlert(ctx, first.ID, store.AlertUpdate{Status: store.StatusAcknowledged, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	rep := alert("r1", "ws-1", base.Add(50*time.Minute))
	rep.LastSeen = first.LastSeen.Add(time.Hour)
	rep.Matched = []string{"CommandLine"}
	got, created := mustUpsert(t, s, rep, w)
	if created {
		t.Error("repeat in the window created a new alert")
	}
	if got.ID != first.ID || got.Count != 2 || !got.LastSeen.Equal(rep.LastSeen) || !got.Time.Equal(first.Time) {
		t.Errorf("merged = %+v", got)
	}
	if !slices.Equal(got.EventIDs, []string{"e-100500", "e-105000"}) || !slices.Equal(got.Matched, []string{"Image", "CommandLine"}) {
		t.Errorf("merged ids %v matched %v", got.EventIDs, got.Matched)
	}
	if got.Status != store.StatusAcknowledged {
		t.Errorf("repeat reset status to %q", got.Status)
	}
	stored, err := s.GetAlert(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Count != 2 || !stored.LastSeen.Equal(rep.LastSeen) {
		t.Errorf("stored after merge = %+v", stored)
	}
	// Other host, next window, other rule: new alerts.
	for _, a := range []store.Alert{alert("r1", "ws-2", base.Add(5*time.Minute)), alert("r1", "ws-1", base.Add(65*time.Minute)), alert("r2", "ws-1", base.Add(5*time.Minute))} {
		if _, created := mustUpsert(t, s, a, w); !created {
			t.Errorf("%s/%s at %v merged, want new", a.RuleID, a.Host, a.Time)
		}
	}
	page, err := s.ListAlerts(ctx, store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Alerts) != 4 {
		t.Errorf("%d alerts, want 4", len(page.Alerts))
	}
	// Event ids are capped; Count keeps the truth.
	a := alert("cap", "h", base)
	for i := range store.MaxAlertEventIDs + 20 {
		a.EventIDs = []string{fmt.Sprint("id-", i)}
		got, _ = mustUpsert(t, s, a, w)
	}
	if len(got.EventIDs) != store.MaxAlertEventIDs || got.Count != int64(store.MaxAlertEventIDs+20) || got.EventIDs[0] != "id-0" {
		t.Errorf("capped alert: %d ids (first %q), count %d", len(got.EventIDs), got.EventIDs[0], got.Count)
	}
}

func testAlertNoDedup(t *testing.T, s store.StateStore) {
	a := alert("r1", "ws-1", base)
	x, c1 := mustUpsert(t, s, a, 0)
	y, c2 := mustUpsert(t, s, a, 0)
	if !c1 || !c2 || x.ID == y.ID {
		t.Errorf("window 0 merged: %v %v %s %s", c1, c2, x.ID, y.ID)
	}
}

func testAlertRoundTrip(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	a := alert("r1", "ws-1", base)
	a.ID = "caller-chosen"
	a.Retro = true
	a.Source = store.SourceIOC
	a.Level = "critical"
	a.Details = json.RawMessage(`{"indicator":"raw.githubusercontent.com","n":1}`)
	a.FirstSeen = base.Add(time.Minute)
	a.LastSeen = base.Add(2 * time.Minute)
	mustUpsert(t, s, a, time.Hour)
	got, err := s.GetAlert(ctx, "caller-chosen")
	if err != nil {
		t.Fatal(err)
	}
	want := a
	want.Count, want.Status = 1, store.StatusNew
	if got.ID != want.ID || got.RuleID != want.RuleID || got.RuleTitle != want.RuleTitle || got.Level != want.Level ||
		got.Host != want.Host || !got.Time.Equal(want.Time) || !got.FirstSeen.Equal(want.FirstSeen) || !got.LastSeen.Equal(want.LastSeen) ||
		got.Count != 1 || got.Status != store.StatusNew || !got.Retro || got.Source != store.SourceIOC ||
		!slices.Equal(got.Tags, want.Tags) || !slices.Equal(got.EventIDs, want.EventIDs) || !slices.Equal(got.Matched, want.Matched) {
		t.Errorf("GetAlert =\n%+v\nwant\n%+v", got, want)
	}
	var d1, d2 any
	json.Unmarshal(got.Details, &d1)
	json.Unmarshal(a.Details, &d2)
	if fmt.Sprint(d1) != fmt.Sprint(d2) {
		t.Errorf("details = %s", got.Details)
	}
	if _, err := s.GetAlert(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAlert(missing) err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.UpsertAlert(ctx, a, 0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpsertAlert(duplicate id, no dedup) err = %v, want ErrConflict", err)
	}
}

func testAlertInvalid(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	for name, a := range map[string]store.Alert{
		"no rule":     {Time: base},
		"no time":     {RuleID: "r"},
		"bad status":  {RuleID: "r", Time: base, Status: "maybe"},
		"bad details": {RuleID: "r", Time: base, Details: json.RawMessage(`{nope`)},
	} {
		if _, _, err := s.UpsertAlert(ctx, a, time.Hour); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func testAlertList(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	levels := []string{"low", "medium", "high", "critical"}
	var all []store.Alert
	for i := range 20 {
		a := alert(fmt.Sprintf("rule-%d", i%4), fmt.Sprintf("ws-%d", i%5), base.Add(time.Duration(i)*time.Minute))
		a.Level = levels[i%4]
		if i == 7 {
			a.RuleTitle = "Suspicious 100% match_x"
		}
		got, _ := mustUpsert(t, s, a, 0)
		all = append(all, got)
	}
	if _, err := s.UpdateAlert(ctx, all[3].ID, store.AlertUpdate{Status: store.StatusResolved}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateAlert(ctx, all[9].ID, store.AlertUpdate{Status: store.StatusFalsePositive}); err != nil {
		t.Fatal(err)
	}
	want := func(pred func(i int) bool) []string {
		var out []string
		for i := len(all) - 1; i >= 0; i-- {
			if pred(i) {
				out = append(out, all[i].ID)
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    store.AlertFilter
		want []string
	}{
		{"all", store.AlertFilter{}, want(func(int) bool { return true })},
		{"levels", store.AlertFilter{Levels: []string{"HIGH", "critical"}}, want(func(i int) bool { return i%4 >= 2 })},
		{"statuses", store.AlertFilter{Statuses: []store.AlertStatus{store.StatusResolved, store.StatusFalsePositive}}, want(func(i int) bool { return i == 3 || i == 9 })},
		{"new", store.AlertFilter{Statuses: []store.AlertStatus{store.StatusNew}}, want(func(i int) bool { return i != 3 && i != 9 })},
		{"rule", store.AlertFilter{RuleID: "rule-1"}, want(func(i int) bool { return i%4 == 1 })},
		{"host", store.AlertFilter{Host: "WS-2"}, want(func(i int) bool { return i%5 == 2 })},
		{"text literal percent", store.AlertFilter{Text: "100% MATCH_"}, want(func(i int) bool { return i == 7 })},
		{"text underscore is literal", store.AlertFilter{Text: "h_x"}, want(func(i int) bool { return i == 7 })},
		{"text host", store.AlertFilter{Text: "ws-4"}, want(func(i int) bool { return i%5 == 4 })},
		{"range", store.AlertFilter{Range: store.TimeRange{From: base.Add(5 * time.Minute), To: base.Add(8 * time.Minute)}}, want(func(i int) bool { return i >= 5 && i < 8 })},
		{"combined", store.AlertFilter{RuleID: "rule-2", Levels: []string{"high"}, Host: "ws-0"}, want(func(i int) bool { return i%4 == 2 && i%5 == 0 })},
		{"none", store.AlertFilter{RuleID: "nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Limit = 3
			got := listAllAlerts(t, s, tt.f)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func listAllAlerts(t *testing.T, s store.StateStore, f store.AlertFilter) []string {
	t.Helper()
	var out []string
	for range 1000 {
		page, err := s.ListAlerts(context.Background(), f)
		if err != nil {
			t.Fatalf("ListAlerts(%+v): %v", f, err)
		}
		for _, a := range page.Alerts {
			if a.Comments != nil || a.History != nil {
				t.Errorf("ListAlerts filled comments/history of %s", a.ID)
			}
			out = append(out, a.ID)
		}
		if page.Next == "" {
			return out
		}
		f.Cursor = page.Next
	}
	t.Fatal("ListAlerts: cursor never ended")
	return nil
}

func testAlertCursor(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	var want []string
	for i := range 25 {
		a := alert(fmt.Sprint("r", i), "h", base) // same time: the id breaks ties
		got, _ := mustUpsert(t, s, a, 0)
		want = append(want, got.ID)
	}
	slices.Sort(want)
	slices.Reverse(want)
	got := listAllAlerts(t, s, store.AlertFilter{Limit: 10})
	if !slices.Equal(got, want) {
		t.Errorf("paged %v\nwant %v", got, want)
	}
	if _, err := s.ListAlerts(ctx, store.AlertFilter{Cursor: "%%%"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad cursor err = %v, want ErrInvalid", err)
	}
}

func testAlertUpdate(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	a, _ := mustUpsert(t, s, alert("r1", "ws-1", base), time.Hour)
	bob := "bob"
	got, err := s.UpdateAlert(ctx, a.ID, store.AlertUpdate{Status: store.StatusAcknowledged, Assignee: &bob, Comment: "looking", Actor: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusAcknowledged || got.Assignee != "bob" || len(got.Comments) != 1 || got.Comments[0].Text != "looking" || got.Comments[0].Author != "ana" {
		t.Errorf("after update: %+v", got)
	}
	// A no-op change adds no history.
	if _, err := s.UpdateAlert(ctx, a.ID, store.AlertUpdate{Status: store.StatusAcknowledged, Assignee: &bob, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	none := ""
	if _, err := s.UpdateAlert(ctx, a.ID, store.AlertUpdate{Status: store.StatusResolved, Assignee: &none, Comment: "3CX updated", Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetAlert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	type change struct{ actor, field, from, to string }
	var hist []change
	for _, h := range got.History {
		if h.Time.IsZero() {
			t.Errorf("history entry without time: %+v", h)
		}
		hist = append(hist, change{h.Actor, h.Field, h.From, h.To})
	}
	wantHist := []change{
		{"ana", "status", "new", "acknowledged"}, {"ana", "assignee", "", "bob"}, {"ana", "comment", "", "looking"},
		{"bob", "status", "acknowledged", "resolved"}, {"bob", "assignee", "bob", ""}, {"bob", "comment", "", "3CX updated"},
	}
	if !slices.Equal(hist, wantHist) {
		t.Errorf("history = %v\nwant %v", hist, wantHist)
	}
	if got.Status != store.StatusResolved || got.Assignee != "" || len(got.Comments) != 2 {
		t.Errorf("final alert %+v", got)
	}
	if _, err := s.UpdateAlert(ctx, a.ID, store.AlertUpdate{Status: "closed"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad status err = %v, want ErrInvalid", err)
	}
	if _, err := s.UpdateAlert(ctx, "nope", store.AlertUpdate{Comment: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown id err = %v, want ErrNotFound", err)
	}
}

func testAlertConcurrent(t *testing.T, s store.StateStore) {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := range 25 {
				a := alert("noisy", "ws-1", base.Add(time.Duration(i)*time.Second))
				a.EventIDs = []string{fmt.Sprint(w, "-", i)}
				if _, _, err := s.UpsertAlert(context.Background(), a, time.Hour); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	page, err := s.ListAlerts(context.Background(), store.AlertFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Alerts) != 1 || page.Alerts[0].Count != 100 {
		t.Errorf("concurrent repeats gave %d alerts, first %+v", len(page.Alerts), page.Alerts)
	}
}

func testAlertHostile(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	for i, h := range hostile {
		a := alert(h, h, base.Add(time.Duration(i)*time.Minute))
		a.RuleTitle, a.Level = h, h
		a.Tags, a.EventIDs, a.Matched = []string{h}, []string{h}, []string{h}
		if _, _, err := s.UpsertAlert(ctx, a, time.Hour); err != nil {
			t.Fatalf("upsert %q: %v", h, err)
		}
	}
	for _, h := range hostile {
		for _, f := range []store.AlertFilter{{RuleID: h}, {Host: h}, {Levels: []string{h}}} {
			page, err := s.ListAlerts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Alerts) != 1 || page.Alerts[0].RuleID != h || !slices.Equal(page.Alerts[0].Tags, []string{valid(h)}) {
				t.Errorf("filter %+v found %d alerts", f, len(page.Alerts))
			}
		}
		page, err := s.ListAlerts(ctx, store.AlertFilter{Text: h})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Alerts) == 0 {
			t.Errorf("text %q found nothing", h)
		}
		if err := s.AppendAudit(ctx, store.Audit{Actor: h, Action: h, Target: h, Detail: h}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutBlob(ctx, h, []byte(h)); err != nil {
			t.Fatal(err)
		}
	}
	if got := listAllAlerts(t, s, store.AlertFilter{}); len(got) != len(hostile) {
		t.Errorf("%d alerts after hostile input, want %d", len(got), len(hostile))
	}
}

func testTokens(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	now := time.Now()
	admin, err := s.CreateToken(ctx, "admin", "admin", "hash-admin", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if admin.ID == "" || admin.Created.IsZero() || !admin.Expires.IsZero() {
		t.Errorf("created token %+v", admin)
	}
	got, err := s.LookupToken(ctx, "hash-admin")
	if err != nil || got.ID != admin.ID || got.Role != "admin" || got.Name != "admin" {
		t.Errorf("LookupToken = %+v, %v", got, err)
	}
	if _, err := s.CreateToken(ctx, "other", "viewer", "hash-admin", time.Time{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate hash err = %v, want ErrConflict", err)
	}
	if _, err := s.CreateToken(ctx, "admin", "viewer", "hash-2", time.Time{}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate active name err = %v, want ErrConflict", err)
	}
	if _, err := s.CreateToken(ctx, "", "viewer", "hash-3", time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty name err = %v, want ErrInvalid", err)
	}
	if _, err := s.CreateToken(ctx, "old", "viewer", "hash-old", now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, "hash-old"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired token err = %v, want ErrNotFound", err)
	}
	future, err := s.CreateToken(ctx, "ci", "viewer", "hash-ci", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, "hash-ci"); err != nil {
		t.Errorf("unexpired token: %v", err)
	}
	if err := s.RevokeToken(ctx, future.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupToken(ctx, "hash-ci"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked token err = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateToken(ctx, "ci", "viewer", "hash-ci-2", time.Time{}); err != nil {
		t.Errorf("reusing a revoked token's name: %v", err)
	}
	if err := s.RevokeToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke unknown err = %v, want ErrNotFound", err)
	}
	if _, err := s.LookupToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hash err = %v, want ErrNotFound", err)
	}
	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	revoked := 0
	for _, tk := range list {
		names = append(names, tk.Name)
		if tk.Revoked {
			revoked++
		}
	}
	if !slices.Equal(names, []string{"admin", "old", "ci", "ci"}) || revoked != 1 {
		t.Errorf("ListTokens names %v, revoked %d", names, revoked)
	}
}

func testRules(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	got, err := s.RuleSettings(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("fresh RuleSettings = %v, %v", got, err)
	}
	if err := s.SetRuleEnabled(ctx, "r-off", false); err != nil {
		t.Fatal(err)
	}
	t1, t2 := base, base.Add(time.Minute)
	if err := s.IncrementRuleHits(ctx, map[string]int64{"r-off": 2, "r-hit": 5}, t2); err != nil {
		t.Fatal(err)
	}
	if err := s.IncrementRuleHits(ctx, map[string]int64{"r-hit": 1}, t1); err != nil {
		t.Fatal(err)
	}
	if err := s.IncrementRuleHits(ctx, nil, t1); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRuleEnabled(ctx, "r-hit", true); err != nil {
		t.Fatal(err)
	}
	got, err = s.RuleSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RuleSetting{
		{RuleID: "r-hit", Enabled: true, Hits: 6, LastHit: t2},
		{RuleID: "r-off", Enabled: false, Hits: 2, LastHit: t2},
	}
	if len(got) != len(want) {
		t.Fatalf("RuleSettings = %+v", got)
	}
	for i := range want {
		if got[i].RuleID != want[i].RuleID || got[i].Enabled != want[i].Enabled || got[i].Hits != want[i].Hits || !got[i].LastHit.Equal(want[i].LastHit) {
			t.Errorf("setting %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := s.SetRuleEnabled(ctx, "", false); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("empty rule id err = %v, want ErrInvalid", err)
	}
}

func testAudit(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	for i := range 15 {
		a := store.Audit{Time: base.Add(time.Duration(i/2) * time.Second), Actor: fmt.Sprint("user", i%2), Action: "alert.update", Target: fmt.Sprint("alert-", i)}
		if i%3 == 0 {
			a.Action = "token.create"
		}
		if err := s.AppendAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAudit(ctx, store.Audit{Actor: "now", Action: "x"}); err != nil {
		t.Fatal(err)
	}
	list := func(f store.AuditFilter) []string {
		var out []string
		f.Limit = 4
		for range 100 {
			page, err := s.ListAudit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entries {
				if e.ID == 0 || e.Time.IsZero() {
					t.Errorf("entry without id or time: %+v", e)
				}
				out = append(out, e.Target)
			}
			if page.Next == "" {
				break
			}
			f.Cursor = page.Next
		}
		return out
	}
	all := list(store.AuditFilter{Range: store.TimeRange{To: base.Add(time.Hour)}})
	var want []string
	for i := 14; i >= 0; i-- {
		want = append(want, fmt.Sprint("alert-", i))
	}
	if !slices.Equal(all, want) {
		t.Errorf("audit newest first = %v\nwant %v", all, want)
	}
	got := list(store.AuditFilter{Actor: "user1", Action: "token.create"})
	if !slices.Equal(got, []string{"alert-9", "alert-3"}) {
		t.Errorf("filtered audit = %v", got)
	}
	if got := list(store.AuditFilter{Target: "alert-4"}); !slices.Equal(got, []string{"alert-4"}) {
		t.Errorf("target filter = %v", got)
	}
	if got := list(store.AuditFilter{Range: store.TimeRange{From: base.Add(time.Hour)}}); !slices.Equal(got, []string{""}) {
		t.Errorf("entry with default time: %v", got)
	}
}

func testBlobs(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	if _, err := s.GetBlob(ctx, "correlation/r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing blob err = %v, want ErrNotFound", err)
	}
	bin := []byte{0, 1, 2, 0xff, 0, 'x'}
	for _, v := range [][]byte{[]byte("v1"), bin, {}} {
		if err := s.PutBlob(ctx, "correlation/r1", v); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetBlob(ctx, "correlation/r1")
		if err != nil || !bytes.Equal(got, v) || got == nil {
			t.Errorf("GetBlob = %q, %v; want %q", got, err, v)
		}
	}
	if err := s.DeleteBlob(ctx, "correlation/r1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBlob(ctx, "correlation/r1"); err != nil {
		t.Errorf("deleting a missing blob: %v", err)
	}
	if _, err := s.GetBlob(ctx, "correlation/r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted blob err = %v, want ErrNotFound", err)
	}
}

func testStateClosed(t *testing.T, s store.StateStore) {
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checks := map[string]error{}
	_, _, checks["UpsertAlert"] = s.UpsertAlert(ctx, alert("r", "h", base), time.Hour)
	_, checks["GetAlert"] = s.GetAlert(ctx, "x")
	_, checks["ListAlerts"] = s.ListAlerts(ctx, store.AlertFilter{})
	_, checks["UpdateAlert"] = s.UpdateAlert(ctx, "x", store.AlertUpdate{Comment: "c"})
	_, checks["CreateToken"] = s.CreateToken(ctx, "n", "r", "h", time.Time{})
	_, checks["LookupToken"] = s.LookupToken(ctx, "h")
	_, checks["ListTokens"] = s.ListTokens(ctx)
	checks["RevokeToken"] = s.RevokeToken(ctx, "x")
	checks["SetRuleEnabled"] = s.SetRuleEnabled(ctx, "r", true)
	_, checks["RuleSettings"] = s.RuleSettings(ctx)
	checks["IncrementRuleHits"] = s.IncrementRuleHits(ctx, map[string]int64{"r": 1}, base)
	checks["AppendAudit"] = s.AppendAudit(ctx, store.Audit{Actor: "a"})
	_, checks["ListAudit"] = s.ListAudit(ctx, store.AuditFilter{})
	checks["PutBlob"] = s.PutBlob(ctx, "k", nil)
	_, checks["GetBlob"] = s.GetBlob(ctx, "k")
	checks["DeleteBlob"] = s.DeleteBlob(ctx, "k")
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}
