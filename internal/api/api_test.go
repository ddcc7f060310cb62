package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/vigilsoc/vigil/internal/auth"
	"github.com/vigilsoc/vigil/internal/fieldmap"
	"github.com/vigilsoc/vigil/internal/ingest/jsonl"
	"github.com/vigilsoc/vigil/internal/pipeline"
	"github.com/vigilsoc/vigil/internal/rules"
	"github.com/vigilsoc/vigil/internal/store"
	"github.com/vigilsoc/vigil/internal/store/duckdb"
	"github.com/vigilsoc/vigil/internal/store/sqlite"
)

const testRule = `title: 3CX C2 Domain Queried
id: 22222222-2222-4222-8222-222222222222
status: test
logsource:
  category: dns_query
detection:
  selection:
    QueryName|endswith: 'msstorageboxes.com'
  condition: selection
level: critical
tags: [attack.command-and-control]
`

type env struct {
	t      *testing.T
	srv    *httptest.Server
	state  store.StateStore
	events store.EventStore
	pipe   *pipeline.Pipeline
	admin  string
}

// newEnv runs the API on real SQLite and DuckDB files with one rule loaded.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	state, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "state.db")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { state.Close() })
	events, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, "events.duckdb"), Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { events.Close() })
	ruleDir := t.TempDir()
	writeFile(t, filepath.Join(ruleDir, "dns.yml"), testRule)
	mgr, err := rules.New(ctx, rules.Config{Paths: []string{ruleDir}, UploadDir: filepath.Join(dir, "rules"), State: state})
	if err != nil {
		t.Fatal(err)
	}
	maps, err := fieldmap.New(fieldmap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := jsonl.NewDecoder(jsonl.Config{Mappings: maps})
	if err != nil {
		t.Fatal(err)
	}
	pipe := pipeline.New(pipeline.Config{Events: events, State: state, Detector: mgr})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { pipe.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	a := New(Config{Ingest: pipe, Decoder: dec, Events: events, State: state, Rules: mgr})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, state: state, events: events, pipe: pipe}
	e.admin = e.token("admin", auth.RoleAdmin)
	return e
}

func (e *env) token(name string, role auth.Role) string {
	e.t.Helper()
	plain, hash := auth.NewToken(auth.DefaultTokenPrefix)
	if _, err := e.state.CreateToken(context.Background(), name, string(role), hash, time.Time{}); err != nil {
		e.t.Fatal(err)
	}
	return plain
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d, body not JSON: %v\n%s", r.status, err, r.body)
	}
}

func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var b errorBody
	r.decode(t, &b)
	return b.Error.Code
}

func (e *env) do(method, path, token string, body io.Reader, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := osWriteFile(path, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

const dnsBatch = `{"time":"2023-03-29T09:00:00Z","host":"ws-03","logsource":{"product":"windows","category":"dns_query"},"fields":{"QueryName":"www.msstorageboxes.com","Image":"C:\\3CX\\3CXDesktopApp.exe"}}
{"time": "2023-03-29T09:00:01Z", "fields": {broken
{"QueryName":"example.org","Computer":"ws-04","UtcTime":"2023-03-29 09:00:02.000"}
{"Event":{"System":{"Provider":{"@Name":"Microsoft-Windows-Sysmon"},"EventID":22,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"ws-05","TimeCreated":{"@SystemTime":"2023-03-29T09:05:00Z"}},"EventData":{"QueryName":"msstorageboxes.com","Image":"C:\\3CX\\3CXDesktopApp.exe"}}}
`

func TestEveryRouteNeedsAToken(t *testing.T) {
	e := newEnv(t)
	a := New(Config{State: e.state, Rules: nil})
	for _, rt := range a.routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{id}", "x", "{field}", "Image").Replace(path)
		for _, tok := range []string{"", "vgl_not-a-real-token"} {
			r := e.do(method, path, tok, strings.NewReader("{}"))
			if r.status != http.StatusUnauthorized || r.errorCode(t) != codeUnauthorized {
				t.Errorf("%s %s with token %q: status %d, want 401 envelope", method, path, tok, r.status)
			}
		}
	}
	if r := e.do("GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Errorf("/healthz: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/nosuch", e.admin, nil); r.status != http.StatusNotFound || r.errorCode(t) != codeNotFound {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	viewer := e.token("v", auth.RoleViewer)
	ingest := e.token("i", auth.RoleIngest)
	analyst := e.token("a", auth.RoleAnalyst)
	cases := []struct {
		name, method, path, token string
		want                      int
	}{
		{"viewer reads alerts", "GET", "/api/v1/alerts", viewer, 200},
		{"viewer cannot ingest", "POST", "/api/v1/events", viewer, 403},
		{"viewer cannot list tokens", "GET", "/api/v1/tokens", viewer, 403},
		{"ingest posts events", "POST", "/api/v1/events", ingest, 200},
		{"ingest cannot read alerts", "GET", "/api/v1/alerts", ingest, 403},
		{"ingest cannot search", "GET", "/api/v1/events", ingest, 403},
		{"analyst cannot read audit", "GET", "/api/v1/audit", analyst, 403},
		{"analyst reads rules", "GET", "/api/v1/rules", analyst, 200},
		{"admin reads audit", "GET", "/api/v1/audit", e.admin, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := io.Reader(nil)
			if c.method == "POST" {
				body = strings.NewReader(`{"QueryName":"a.example"}` + "\n")
			}
			r := e.do(c.method, c.path, c.token, body)
			if r.status != c.want {
				t.Fatalf("status %d, want %d: %s", r.status, c.want, r.body)
			}
			if c.want == 403 && r.errorCode(t) != codeForbidden {
				t.Errorf("403 without the forbidden envelope: %s", r.body)
			}
		})
	}
}

func TestIngestDetectAlert(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/events", e.admin, strings.NewReader(dnsBatch), "Content-Type", "application/x-ndjson")
	var ir ingestResponse
	r.decode(t, &ir)
	if r.status != 200 || ir.Accepted != 3 || len(ir.Rejected) != 1 || ir.Rejected[0].Line != 2 {
		t.Fatalf("ingest answer %d %+v", r.status, ir)
	}
	if ir.Alerts != 2 {
		t.Errorf("alerts = %d, want 2 (ws-03 and ws-05)", ir.Alerts)
	}

	// Acknowledged means stored: the events are searchable right away.
	r = e.do("GET", "/api/v1/events?total=true&q="+urlQuery(`QueryName:*msstorageboxes.com`), e.admin, nil)
	var er struct {
		Events []json.RawMessage `json:"events"`
		Total  int64             `json:"total"`
	}
	r.decode(t, &er)
	if er.Total != 2 {
		t.Fatalf("search total = %d, want 2: %s", er.Total, r.body)
	}

	// A retry of the same batch is not stored twice. (Events that carry no
	// time of their own are stamped on receipt, so only events with a time or
	// an id are recognised on retry; see postEvents.)
	e.do("POST", "/api/v1/events", e.admin, strings.NewReader(dnsBatch))
	st, _ := e.events.Stats(context.Background())
	if st.Events != 3 {
		t.Errorf("after a retried batch the store holds %d events, want 3", st.Events)
	}

	r = e.do("GET", "/api/v1/alerts?level=critical", e.admin, nil)
	var ar alertsResponse
	r.decode(t, &ar)
	if len(ar.Alerts) != 2 {
		t.Fatalf("alerts: %s", r.body)
	}
	hosts := map[string]bool{}
	for _, a := range ar.Alerts {
		hosts[a.Host] = true
		if a.RuleID != "22222222-2222-4222-8222-222222222222" || a.RuleTitle == "" || a.Status != store.StatusNew || a.Time.IsZero() {
			t.Errorf("alert lacks contract fields: %+v", a)
		}
	}
	if !hosts["ws-03"] || !hosts["ws-05"] {
		t.Errorf("alert hosts = %v", hosts)
	}

	id := ar.Alerts[0].ID
	r = e.do("GET", "/api/v1/alerts/"+id, e.admin, nil)
	var ad struct {
		store.Alert
		Events  []map[string]any `json:"events"`
		Context []map[string]any `json:"context"`
		Rule    *rules.Info      `json:"rule"`
	}
	r.decode(t, &ad)
	if len(ad.Events) != 1 || len(ad.Context) == 0 || ad.Rule == nil || ad.Rule.Level != "critical" {
		t.Errorf("alert detail: %s", r.body)
	}
	if len(ad.Matched) == 0 || ad.Matched[0] != "QueryName" {
		t.Errorf("matched = %v", ad.Matched)
	}

	r = e.do("PATCH", "/api/v1/alerts/"+id, e.admin, strings.NewReader(`{"status":"acknowledged","assignee":"ana","comment":"looking"}`))
	var updated store.Alert
	r.decode(t, &updated)
	if updated.Status != store.StatusAcknowledged || updated.Assignee != "ana" {
		t.Errorf("patched alert: %s", r.body)
	}
	if r := e.do("PATCH", "/api/v1/alerts/"+id, e.admin, strings.NewReader(`{"status":"closed"}`)); r.status != 400 {
		t.Errorf("bad status accepted: %d", r.status)
	}
	if r := e.do("PATCH", "/api/v1/alerts/nosuch", e.admin, strings.NewReader(`{"status":"resolved"}`)); r.status != 404 {
		t.Errorf("unknown alert: %d", r.status)
	}

	r = e.do("GET", "/api/v1/audit?action=alert.update", e.admin, nil)
	var audit struct{ Entries []store.Audit }
	r.decode(t, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Target != id || !strings.HasPrefix(audit.Entries[0].Actor, "token:") {
		t.Errorf("audit: %s", r.body)
	}

	// The histogram counts the same events.
	r = e.do("GET", "/api/v1/events/histogram?buckets=10&from=2023-03-29T00:00:00Z&to=2023-03-30T00:00:00Z", e.admin, nil)
	var h struct{ Buckets []bucketJSON }
	r.decode(t, &h)
	var sum int64
	for _, b := range h.Buckets {
		sum += b.Count
	}
	if len(h.Buckets) != 10 || sum != 3 {
		t.Errorf("histogram: %s", r.body)
	}
}

func TestIngestEncodings(t *testing.T) {
	e := newEnv(t)
	line := `{"QueryName":"enc.example","Computer":"h1"}` + "\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(line))
	zw.Close()
	var zs bytes.Buffer
	zsw, _ := zstd.NewWriter(&zs)
	zsw.Write([]byte(`{"QueryName":"enc2.example","Computer":"h1"}` + "\n"))
	zsw.Close()
	for _, c := range []struct {
		name     string
		body     []byte
		encoding string
		want     int
	}{
		{"gzip", gz.Bytes(), "gzip", 200},
		{"gzip unannounced", gz.Bytes(), "", 200},
		{"zstd", zs.Bytes(), "zstd", 200},
		{"brotli", []byte(line), "br", 400},
		{"corrupt gzip", []byte{0x1f, 0x8b, 1, 2, 3}, "gzip", 400},
	} {
		r := e.do("POST", "/api/v1/events", e.admin, bytes.NewReader(c.body), "Content-Encoding", c.encoding)
		if r.status != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.want, r.body)
		}
	}
	if r := e.do("POST", "/api/v1/events", e.admin, strings.NewReader(line), "Content-Type", "multipart/form-data; boundary=x"); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("multipart: %d", r.status)
	}
}

func TestQueryErrors(t *testing.T) {
	e := newEnv(t)
	r := e.do("GET", "/api/v1/events?q="+urlQuery(`Image:(a OR`), e.admin, nil)
	var b errorBody
	r.decode(t, &b)
	if r.status != 400 || b.Error.Code != codeInvalidQuery || b.Error.Details == nil {
		t.Errorf("bad query: %d %s", r.status, r.body)
	}
	// A hostile value is a value, not SQL.
	r = e.do("GET", "/api/v1/events?q="+urlQuery(`host:"x'; DROP TABLE events; --"`), e.admin, nil)
	if r.status != 200 {
		t.Errorf("hostile value: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/events?from=yesterday-ish", e.admin, nil); r.status != 400 {
		t.Errorf("bad from: %d", r.status)
	}
}

func TestTokensLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/tokens", e.admin, strings.NewReader(`{"name":"shipper","role":"ingest","expires_in":"24h"}`))
	var created struct{ Token, ID, Role string }
	r.decode(t, &created)
	if r.status != 201 || !strings.HasPrefix(created.Token, auth.DefaultTokenPrefix) || created.Role != "ingest" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/events", created.Token, strings.NewReader(`{"QueryName":"a"}`+"\n")); r.status != 200 {
		t.Fatalf("new token refused: %d", r.status)
	}
	r = e.do("GET", "/api/v1/tokens", e.admin, nil)
	if bytes.Contains(r.body, []byte(created.Token)) || bytes.Contains(r.body, []byte(auth.Hash(created.Token))) {
		t.Fatal("token listing leaks the secret or its hash")
	}
	if r := e.do("DELETE", "/api/v1/tokens/"+created.ID, e.admin, nil); r.status != 204 {
		t.Fatalf("revoke: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/events", created.Token, strings.NewReader(`{"QueryName":"a"}`+"\n")); r.status != 401 {
		t.Errorf("revoked token: %d, want 401", r.status)
	}
	for _, body := range []string{`{"name":"x","role":"root"}`, `{"role":"viewer"}`, `{"name":"x","role":"viewer","expires_in":"-1h"}`, `{"name":"x","role":"viewer","extra":1}`} {
		if r := e.do("POST", "/api/v1/tokens", e.admin, strings.NewReader(body)); r.status != 400 {
			t.Errorf("%s: %d, want 400", body, r.status)
		}
	}
}

func TestRulesAPI(t *testing.T) {
	e := newEnv(t)
	upload := strings.Replace(testRule, "22222222-2222-4222-8222-222222222222", "55555555-5555-4555-8555-555555555555", 1)
	upload = strings.Replace(upload, "msstorageboxes.com", "akamaicontainer.com", 1)
	r := e.do("POST", "/api/v1/rules", e.admin, strings.NewReader(upload))
	if r.status != 201 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/rules", e.admin, strings.NewReader("title: x\ndetection: {}\n")); r.status != 400 || r.errorCode(t) != codeInvalidRule {
		t.Errorf("invalid upload: %d %s", r.status, r.body)
	}
	line := `{"QueryName":"cdn.akamaicontainer.com","Computer":"h9","Channel":"x"}` + "\n"
	r = e.do("POST", "/api/v1/events", e.admin, strings.NewReader(line))
	var ir ingestResponse
	r.decode(t, &ir)
	if ir.Alerts != 1 {
		t.Fatalf("uploaded rule raised %d alerts: %s", ir.Alerts, r.body)
	}

	const id = "55555555-5555-4555-8555-555555555555"
	if r := e.do("PATCH", "/api/v1/rules/"+id, e.admin, strings.NewReader(`{"enabled":false}`)); r.status != 200 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/v1/events", e.admin, strings.NewReader(strings.Replace(line, "h9", "h10", 1)))
	r.decode(t, &ir)
	if ir.Alerts != 0 {
		t.Errorf("disabled rule still alerts")
	}
	r = e.do("GET", "/api/v1/rules", e.admin, nil)
	var list struct{ Rules []rules.Info }
	r.decode(t, &list)
	found := false
	for _, in := range list.Rules {
		if in.ID == id {
			found = true
			if in.Enabled || !in.Uploaded || in.Hits != 1 {
				t.Errorf("rule info %+v", in)
			}
		}
	}
	if !found {
		t.Fatalf("uploaded rule not listed: %s", r.body)
	}
	if r := e.do("DELETE", "/api/v1/rules/22222222-2222-4222-8222-222222222222", e.admin, nil); r.status != 409 {
		t.Errorf("deleting a directory rule: %d, want 409", r.status)
	}
	if r := e.do("DELETE", "/api/v1/rules/"+id, e.admin, nil); r.status != 204 {
		t.Errorf("delete: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/rules/"+id, e.admin, nil); r.status != 404 {
		t.Errorf("deleted rule still there: %d", r.status)
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	a := New(Config{Ingest: e.pipe, Decoder: mustDecoder(t), Events: e.events, State: e.state, MaxBatchEvents: 2, MaxBodyBytes: 1 << 10})
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	post := func(body string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(strings.Repeat(`{"a":1}`+"\n", 3)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("3 events over a limit of 2: %d", got)
	}
	if got := post(fmt.Sprintf(`{"a":"%s"}`, strings.Repeat("x", 2000))); got != http.StatusRequestEntityTooLarge {
		t.Errorf("body over 1 KiB: %d", got)
	}
}

func mustDecoder(t *testing.T) *jsonl.Decoder {
	maps, err := fieldmap.New(fieldmap.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := jsonl.NewDecoder(jsonl.Config{Mappings: maps})
	if err != nil {
		t.Fatal(err)
	}
	return d
}
