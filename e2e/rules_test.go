package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/rules"
)

// imageLoad is 3CXDesktopApp.exe loading dll on host.
func imageLoad(host, dll string) *event.Event {
	return &event.Event{
		Time: time.Now().UTC(), Host: host,
		Logsource: event.Logsource{Product: "windows", Category: "image_load"},
		Fields: []event.Field{
			{Name: "Image", Value: event.S(`C:\Users\erin\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`)},
			{Name: "ImageLoaded", Value: event.S(`C:\Users\erin\AppData\Local\Programs\3CXDesktopApp\` + dll)},
		},
	}
}

// TestRuleReload changes the rules of a running server: a file copied into
// its --rules directory, and a rule uploaded, disabled, enabled and deleted
// through the API.
func TestRuleReload(t *testing.T) {
	rulesDir := t.TempDir()
	for _, name := range []string{"proc_3cx_shell.yml", "dns_3cx_c2.yml"} {
		copyFile(t, fixture("rules", name), filepath.Join(rulesDir, name))
	}
	s := startServer(t, serverOpts{Rules: []string{rulesDir}})

	// alertsFor sends one event on a fresh host and returns the rule ids of
	// the alerts it raised. The ingest answer comes after the alerts are
	// written, so no waiting is needed.
	n := 0
	alertsFor := func(t *testing.T, ev func(host string) *event.Event) []string {
		t.Helper()
		n++
		host := fmt.Sprintf("ws-rules-%03d", n)
		if _, err := s.Admin.PostEvents(t.Context(), []*event.Event{ev(host)}); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range s.alerts(t, url.Values{"host": {host}}) {
			ids = append(ids, a.RuleID)
		}
		return ids
	}
	ffmpeg := func(h string) *event.Event { return imageLoad(h, "ffmpeg.dll") }
	d3d := func(h string) *event.Event { return imageLoad(h, "d3dcompiler_47.dll") }

	if got := alertsFor(t, ffmpeg); len(got) != 0 {
		t.Fatalf("before the rule exists: alerts %v", got)
	}

	// A rule file dropped into the watched directory takes effect without
	// a restart.
	copyFile(t, fixture("extra", "image_load_ffmpeg.yml"), filepath.Join(rulesDir, "image_load_ffmpeg.yml"))
	waitFor(t, "the new rule file to raise alerts", func() bool {
		got := alertsFor(t, ffmpeg)
		return len(got) == 1 && got[0] == ruleFFmpg
	})
	var info rules.Info
	s.callJSON(t, http.MethodGet, "/api/v1/rules/"+ruleFFmpg, s.Token, nil, http.StatusOK, &info)
	if info.Title == "" || !info.Enabled || info.Uploaded || info.Hits == 0 {
		t.Errorf("rule from file = %+v", info)
	}

	// Upload through the API: in force as soon as the answer comes.
	yml, err := os.ReadFile(fixture("upload", "d3dcompiler.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		Rules []rules.Info `json:"rules"`
	}
	status, raw := s.call(t, http.MethodPost, "/api/v1/rules", s.Token, yml, "Content-Type", "application/yaml")
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, raw)
	}
	decodeJSON(t, raw, &up)
	if len(up.Rules) != 1 || up.Rules[0].ID != ruleD3D || !up.Rules[0].Uploaded || !up.Rules[0].Enabled {
		t.Fatalf("uploaded = %+v", up.Rules)
	}
	if got := alertsFor(t, d3d); len(got) != 1 || got[0] != ruleD3D {
		t.Errorf("after upload: alerts %v, want %s", got, ruleD3D)
	}
	status, raw = s.call(t, http.MethodPost, "/api/v1/rules", s.Token, []byte("title: no detection\n"), "Content-Type", "application/yaml")
	if status != http.StatusBadRequest {
		t.Errorf("invalid rule upload: %d %s", status, raw)
	}

	// Disable and enable.
	s.callJSON(t, http.MethodPatch, "/api/v1/rules/"+ruleD3D, s.Token, []byte(`{"enabled":false}`), http.StatusOK, &info)
	if info.Enabled {
		t.Errorf("after disabling: %+v", info)
	}
	if got := alertsFor(t, d3d); len(got) != 0 {
		t.Errorf("disabled rule raised %v", got)
	}
	s.callJSON(t, http.MethodPatch, "/api/v1/rules/"+ruleD3D, s.Token, []byte(`{"enabled":true}`), http.StatusOK, &info)
	if !info.Enabled {
		t.Errorf("after enabling: %+v", info)
	}
	if got := alertsFor(t, d3d); len(got) != 1 || got[0] != ruleD3D {
		t.Errorf("re-enabled rule: alerts %v", got)
	}

	// A rule from the --rules directory cannot be deleted through the API;
	// an uploaded one can, and stops matching.
	s.callJSON(t, http.MethodDelete, "/api/v1/rules/"+ruleFFmpg, s.Token, nil, http.StatusConflict, nil)
	s.callJSON(t, http.MethodDelete, "/api/v1/rules/"+ruleD3D, s.Token, nil, http.StatusNoContent, nil)
	s.callJSON(t, http.MethodGet, "/api/v1/rules/"+ruleD3D, s.Token, nil, http.StatusNotFound, nil)
	if got := alertsFor(t, d3d); len(got) != 0 {
		t.Errorf("deleted rule raised %v", got)
	}

	// Every change is in the audit log.
	var audit struct {
		Entries []struct {
			Action, Target string
		} `json:"entries"`
	}
	s.callJSON(t, http.MethodGet, "/api/v1/audit?target="+ruleD3D, s.Token, nil, http.StatusOK, &audit)
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Action)
	}
	want := []string{"rule.delete", "rule.enable", "rule.disable", "rule.upload"} // newest first
	if fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Errorf("audit actions = %v, want %v", actions, want)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	// Write beside and rename, as an operator's deploy would, so that the
	// server never reads half a file.
	tmp := to + ".part"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, to); err != nil {
		t.Fatal(err)
	}
}
