package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/client"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/pki"
	"github.com/vigilsoc/vigil/internal/store"
)

const (
	ruleShell = "5f0c1a2e-3c1d-4e2b-9a51-3cc0e2e00001"
	ruleDNS   = "5f0c1a2e-3c1d-4e2b-9a51-3cc0e2e00002"
	ruleFFmpg = "5f0c1a2e-3c1d-4e2b-9a51-3cc0e2e00003"
	ruleD3D   = "5f0c1a2e-3c1d-4e2b-9a51-3cc0e2e00004"
)

type ingestAnswer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	} `json:"rejected"`
	Alerts int `json:"alerts"`
}

// shellEvent is the trojanised 3CX client starting cmd.exe on host.
func shellEvent(host string, t time.Time) *event.Event {
	return &event.Event{
		Time: t, Host: host,
		Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
		Fields: []event.Field{
			{Name: "Image", Value: event.S(`C:\Windows\System32\cmd.exe`)},
			{Name: "ParentImage", Value: event.S(`C:\Users\dana\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`)},
			{Name: "CommandLine", Value: event.S(`cmd.exe /c whoami`)},
		},
	}
}

func TestIngestAndAlert(t *testing.T) {
	s := startServer(t, serverOpts{Rules: []string{fixture("rules")}})

	// Raw NDJSON as curl would send it: flat, normalised and Windows
	// shapes, and one broken line (line 3).
	body, err := os.ReadFile(fixture("events", "shapes.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var ans ingestAnswer
	s.callJSON(t, http.MethodPost, "/api/v1/events", s.Token, body, http.StatusOK, &ans)
	if ans.Accepted != 4 || len(ans.Rejected) != 1 || ans.Rejected[0].Line != 3 || ans.Rejected[0].Error == "" {
		t.Fatalf("answer = %+v, want 4 accepted and line 3 rejected", ans)
	}
	if ans.Alerts != 3 {
		t.Errorf("answer alerts = %d, want 3 (flat shell, Windows shell, DNS)", ans.Alerts)
	}

	// The same through the Go client, gzip-compressed.
	res, err := s.Admin.PostEvents(t.Context(), []*event.Event{shellEvent("ws-client-01", time.Date(2026, 3, 29, 11, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || len(res.Rejected) != 0 || res.Alerts != 1 {
		t.Fatalf("client result = %+v", res)
	}

	// The alerts are listed with the fields the contract names.
	alerts := s.alerts(t, url.Values{"rule_id": {ruleShell}})
	hosts := map[string]store.Alert{}
	for _, a := range alerts {
		hosts[a.Host] = a
	}
	for _, h := range []string{"ws-shapes-flat", "ws-shapes-win", "ws-client-01"} {
		a, ok := hosts[h]
		if !ok {
			t.Fatalf("no shell alert for %s in %+v", h, alerts)
		}
		if a.ID == "" || a.RuleTitle != "3CX Desktop App Spawns a Shell" || a.Level != "high" || a.Time.IsZero() || a.Status != store.StatusNew {
			t.Errorf("alert for %s = %+v", h, a)
		}
	}
	// The raw JSON has the contract's names, whatever the Go types say.
	status, raw := s.call(t, http.MethodGet, "/api/v1/alerts?rule_id="+ruleDNS, s.Token, nil)
	if status != http.StatusOK {
		t.Fatalf("GET alerts: %d %s", status, raw)
	}
	var rawList struct {
		Alerts []map[string]any `json:"alerts"`
	}
	if err := json.Unmarshal(raw, &rawList); err != nil || len(rawList.Alerts) != 1 {
		t.Fatalf("DNS alerts: %s (%v)", raw, err)
	}
	for _, k := range []string{"id", "rule_id", "rule_title", "level", "host", "time", "status"} {
		if _, ok := rawList.Alerts[0][k]; !ok {
			t.Errorf("alert JSON lacks %q: %s", k, raw)
		}
	}
	dnsID := rawList.Alerts[0]["id"].(string)

	// One alert in detail: the matched event and its host's context.
	var detail struct {
		store.Alert
		Events  []event.Event `json:"events"`
		Context []event.Event `json:"context"`
	}
	s.callJSON(t, http.MethodGet, "/api/v1/alerts/"+dnsID, s.Token, nil, http.StatusOK, &detail)
	if detail.RuleID != ruleDNS || detail.Host != "ws-shapes-norm" || detail.Level != "critical" {
		t.Errorf("detail = %+v", detail.Alert)
	}
	if len(detail.Events) != 1 {
		t.Fatalf("detail has %d matched events, want 1", len(detail.Events))
	}
	if q, _ := detail.Events[0].Get("QueryName"); q.Str != "www.msstorageboxes.com" {
		t.Errorf("matched event = %+v", detail.Events[0])
	}
	if len(detail.Context) != 2 {
		t.Errorf("context has %d events, want the host's 2", len(detail.Context))
	}
	s.callJSON(t, http.MethodGet, "/api/v1/alerts/no-such-alert", s.Token, nil, http.StatusNotFound, nil)

	// Triage: the status changes and the audit log says who did it.
	var patched store.Alert
	s.callJSON(t, http.MethodPatch, "/api/v1/alerts/"+dnsID, s.Token, []byte(`{"status":"acknowledged","comment":"isolating ws-shapes-norm"}`), http.StatusOK, &patched)
	if patched.Status != store.StatusAcknowledged {
		t.Errorf("patched status = %q", patched.Status)
	}
	got := s.alerts(t, url.Values{"rule_id": {ruleDNS}, "status": {"acknowledged"}})
	if len(got) != 1 || got[0].ID != dnsID {
		t.Errorf("acknowledged alerts = %+v", got)
	}
	s.callJSON(t, http.MethodPatch, "/api/v1/alerts/"+dnsID, s.Token, []byte(`{"status":"sleeping"}`), http.StatusBadRequest, nil)
	var audit struct {
		Entries []store.Audit `json:"entries"`
	}
	s.callJSON(t, http.MethodGet, "/api/v1/audit?action=alert.update", s.Token, nil, http.StatusOK, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Target != dnsID || !strings.Contains(audit.Entries[0].Detail, "status=acknowledged") || audit.Entries[0].Actor == "" {
		t.Errorf("audit = %+v", audit.Entries)
	}

	// Hunting finds the stored events.
	ids, total := s.eventIDs(t, "host:ws-shapes-norm")
	if total != 2 || len(ids) != 2 {
		t.Errorf("host:ws-shapes-norm: total %d, ids %v; want 2", total, ids)
	}
	page, err := s.Admin.SearchEvents(t.Context(), url.Values{"q": {`QueryName:"*.msstorageboxes.com"`}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].ID != detail.Events[0].ID {
		t.Errorf("search found %+v", page.Events)
	}
	status, raw = s.call(t, http.MethodGet, "/api/v1/events?q="+url.QueryEscape("host:(a OR"), s.Token, nil)
	if status != http.StatusBadRequest || !bytes.Contains(raw, []byte(`"invalid_query"`)) {
		t.Errorf("bad query: %d %s", status, raw)
	}

	// Re-sending the same batch stores nothing twice.
	s.callJSON(t, http.MethodPost, "/api/v1/events", s.Token, body, http.StatusOK, &ans)
	if _, total := s.eventIDs(t, "host:ws-shapes-norm"); total != 2 {
		t.Errorf("after re-sending, host:ws-shapes-norm has %d events, want 2", total)
	}
}

func TestAuth(t *testing.T) {
	s := startServer(t, serverOpts{Rules: []string{fixture("rules")}})
	ev := []byte(`{"time":"2026-03-29T10:00:00Z","host":"ws-auth","logsource":{"category":"dns_query"},"fields":{"QueryName":"example.com"}}` + "\n")

	expectError := func(t *testing.T, method, path, token string, body []byte, want int, code string) {
		t.Helper()
		status, raw := s.call(t, method, path, token, body)
		if status != want {
			t.Fatalf("%s %s: status %d, want %d; %s", method, path, status, want, raw)
		}
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || env.Error.Code != code || env.Error.Message == "" {
			t.Errorf("%s %s: body %s, want error envelope with code %q", method, path, raw, code)
		}
	}

	// /healthz is the only route without a token.
	if status, raw := s.call(t, http.MethodGet, "/healthz", "", nil); status != http.StatusOK {
		t.Errorf("/healthz: %d %s", status, raw)
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/alerts"}, {"POST", "/api/v1/events"}, {"GET", "/api/v1/events"},
		{"GET", "/api/v1/tokens"}, {"GET", "/api/v1/nothing-here"}, {"GET", "/metrics"},
	} {
		expectError(t, r.method, r.path, "", nil, http.StatusUnauthorized, "unauthorized")
	}
	expectError(t, "GET", "/api/v1/alerts", "vgl_not-a-real-token", nil, http.StatusUnauthorized, "unauthorized")

	viewerID, viewer := s.createToken(t, "soc-viewer", "viewer")
	_, ingester := s.createToken(t, "winlogbeat", "ingest")

	// A viewer reads but changes nothing.
	s.callJSON(t, "GET", "/api/v1/alerts", viewer, nil, http.StatusOK, nil)
	s.callJSON(t, "GET", "/api/v1/events", viewer, nil, http.StatusOK, nil)
	expectError(t, "POST", "/api/v1/events", viewer, ev, http.StatusForbidden, "forbidden")
	expectError(t, "GET", "/api/v1/tokens", viewer, nil, http.StatusForbidden, "forbidden")
	expectError(t, "POST", "/api/v1/tokens", viewer, []byte(`{"name":"x","role":"admin"}`), http.StatusForbidden, "forbidden")
	expectError(t, "GET", "/api/v1/audit", viewer, nil, http.StatusForbidden, "forbidden")

	// An ingest token sends events and reads nothing.
	var ans ingestAnswer
	s.callJSON(t, "POST", "/api/v1/events", ingester, ev, http.StatusOK, &ans)
	if ans.Accepted != 1 {
		t.Errorf("ingest token: %+v", ans)
	}
	expectError(t, "GET", "/api/v1/alerts", ingester, nil, http.StatusForbidden, "forbidden")
	expectError(t, "GET", "/api/v1/events", ingester, nil, http.StatusForbidden, "forbidden")

	// The client reports refusals as typed errors and does not retry them.
	_, _, err := s.newClient(t, ingester).ListAlerts(t.Context(), nil)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || ae.Code != "forbidden" {
		t.Errorf("client error = %v", err)
	}

	// A revoked token is refused at once.
	s.callJSON(t, "DELETE", "/api/v1/tokens/"+viewerID, s.Token, nil, http.StatusNoContent, nil)
	expectError(t, "GET", "/api/v1/alerts", viewer, nil, http.StatusUnauthorized, "unauthorized")
	var toks struct {
		Tokens []store.Token `json:"tokens"`
	}
	s.callJSON(t, "GET", "/api/v1/tokens", s.Token, nil, http.StatusOK, &toks)
	i := slices.IndexFunc(toks.Tokens, func(tk store.Token) bool { return tk.ID == viewerID })
	if i < 0 || !toks.Tokens[i].Revoked {
		t.Errorf("tokens = %+v, want %s revoked", toks.Tokens, viewerID)
	}
	// Token secrets are never listed.
	_, raw := s.call(t, "GET", "/api/v1/tokens", s.Token, nil)
	if bytes.Contains(raw, []byte(ingester)) || bytes.Contains(raw, []byte(s.Token)) {
		t.Errorf("token list shows a secret: %s", raw)
	}
}

func TestIngestCommand(t *testing.T) {
	// The data directory has the default name, so that `vigil ingest` run
	// beside it finds the CA and the admin token by itself.
	dir := t.TempDir()
	s := startServer(t, serverOpts{Data: filepath.Join(dir, "vigil-data"), Rules: []string{fixture("rules")}})
	file := filepath.Join(dir, "one.jsonl")
	var lines []string
	for i := range 50 {
		ev := shellEvent("ws-cli-file", time.Date(2026, 3, 29, 12, 0, i, 0, time.UTC))
		if i%10 != 0 {
			ev.Fields[1].Value = event.S(`C:\Windows\explorer.exe`)
		}
		b, _ := json.Marshal(ev)
		lines = append(lines, string(b))
	}
	writeFile(t, file, strings.Join(lines, "\n")+"\n")

	type counts struct {
		Files, Unreadable, Skipped                                int
		Events, BadLines, Accepted, Rejected, Undelivered, Alerts int64
	}
	runIngest := func(t *testing.T, args ...string) (int, counts, string) {
		t.Helper()
		code, out, errOut := runVigil(t, append([]string{"ingest", "--server", s.URL, "--token-file", filepath.Join(s.opts.Data, "admin.token"), "--json"}, args...)...)
		var c struct {
			Files       int   `json:"files"`
			Unreadable  int   `json:"unreadable"`
			Skipped     int   `json:"skipped"`
			Events      int64 `json:"events"`
			BadLines    int64 `json:"bad_lines"`
			Accepted    int64 `json:"accepted"`
			Rejected    int64 `json:"rejected"`
			Undelivered int64 `json:"undelivered"`
			Alerts      int64 `json:"alerts"`
		}
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("vigil ingest output %q: %v\nstderr: %s", out, err, errOut)
		}
		return code, counts{c.Files, c.Unreadable, c.Skipped, c.Events, c.BadLines, c.Accepted, c.Rejected, c.Undelivered, c.Alerts}, errOut
	}

	// One file, pinned by the CA fingerprint.
	code, c, errOut := runIngest(t, "--ca-sha256", s.Fingerprint, "--batch", "7", file)
	if code != 0 || c.Files != 1 || c.Events != 50 || c.Accepted != 50 || c.Rejected != 0 || c.BadLines != 0 || c.Alerts == 0 {
		t.Fatalf("vigil ingest file: exit %d, %+v\nstderr: %s", code, c, errOut)
	}
	if _, total := s.eventIDs(t, "host:ws-cli-file"); total != 50 {
		t.Errorf("stored %d events of ws-cli-file, want 50", total)
	}
	if a := s.alerts(t, url.Values{"host": {"ws-cli-file"}}); len(a) != 1 || a[0].RuleID != ruleShell || a[0].Count != 5 {
		t.Errorf("alerts of ws-cli-file = %+v, want one shell alert counting 5", a)
	}

	// A directory: a good file, a file with a bad line, and a file in no
	// known format, which is skipped.
	sub := filepath.Join(dir, "logs")
	writeFile(t, filepath.Join(sub, "a.jsonl"), `{"time":"2026-03-29T13:00:00Z","host":"ws-cli-dir","logsource":{"category":"dns_query"},"fields":{"QueryName":"raw.pbxsources.com"}}`+"\n")
	writeFile(t, filepath.Join(sub, "nested", "b.ndjson"), `{"time":"2026-03-29T13:00:01Z","host":"ws-cli-dir","logsource":{"category":"dns_query"},"fields":{"QueryName":"example.net"}}`+"\n{oops\n")
	writeFile(t, filepath.Join(sub, "notes.log"), "just some text\n")
	code, c, errOut = runIngest(t, "--ca-file", s.CAFile, sub)
	if code != 1 {
		t.Errorf("directory with a bad line: exit %d, want 1", code)
	}
	if c.Events != 2 || c.Accepted != 2 || c.BadLines != 1 || c.Skipped != 1 || c.Undelivered != 0 {
		t.Errorf("directory: %+v\nstderr: %s", c, errOut)
	}
	if !strings.Contains(errOut, "b.ndjson: line 2") {
		t.Errorf("stderr does not name the bad line:\n%s", errOut)
	}
	if a := s.alerts(t, url.Values{"host": {"ws-cli-dir"}}); len(a) != 1 || a[0].RuleID != ruleDNS {
		t.Errorf("alerts of ws-cli-dir = %+v", a)
	}

	// An unreadable input fails the run; the other input is still sent.
	code, c, _ = runIngest(t, "--ca-file", s.CAFile, filepath.Join(dir, "missing.jsonl"), file)
	if code != 1 || c.Unreadable != 1 || c.Accepted != 50 {
		t.Errorf("missing input: exit %d, %+v", code, c)
	}

	// Beside a local server's data directory, no token or CA is needed.
	code, out, errOut := runVigilIn(t, dir, "ingest", "--server", s.URL, "--json", "--progress", file)
	if code != 0 || !strings.Contains(out, `"accepted":50`) {
		t.Errorf("defaults from ./vigil-data: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	// A token that may not ingest stops the run with exit 1 and says why.
	_, viewer := s.createToken(t, "viewer", "viewer")
	code, out, errOut = runVigil(t, "ingest", "--server", s.URL, "--token", viewer, "--ca-file", s.CAFile, file)
	if code != 1 || !strings.Contains(errOut, "forbidden") {
		t.Errorf("viewer token: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// A CA that is not the server's is refused, not retried for ever.
	otherCA, err := pki.LoadOrCreateCA(filepath.Join(dir, "other"), nil)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other-ca.pem")
	writeFile(t, other, string(otherCA.CertPEM()))
	code, _, errOut = runVigil(t, "ingest", "--server", s.URL, "--token", s.Token, "--ca-file", other, file)
	if code != 1 || !strings.Contains(errOut, "certificate") {
		t.Errorf("wrong CA: exit %d\nstderr: %s", code, errOut)
	}
}

func TestInsecureHTTPOnlyOnLoopback(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := runVigil(t, "server", "--data", data, "--insecure-http", "--listen", "0.0.0.0:0")
	if code == 0 || !strings.Contains(errOut, "loopback") {
		t.Fatalf("--insecure-http on 0.0.0.0: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if strings.Contains(out, "listening") {
		t.Errorf("server said it was listening: %s", out)
	}

	// On loopback it serves plain HTTP.
	s := startServer(t, serverOpts{Args: []string{"--insecure-http"}})
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %s", s.URL)
	}
	if _, _, err := s.Admin.ListAlerts(t.Context(), nil); err != nil {
		t.Errorf("plain HTTP API: %v", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
