package client

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/pipeline"
	"github.com/vigilsoc/vigil/internal/pki"
)

// fakeServer answers POST /api/v1/events from a script of statuses and
// records every body it received, decompressed.
type fakeServer struct {
	mu      sync.Mutex
	script  []int // status per attempt; after the script, 200
	headers []http.Header
	bodies  [][]string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.bodies)
	status := http.StatusOK
	if n < len(f.script) {
		status = f.script[n]
	}
	var lines []string
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err == nil {
			sc := bufio.NewScanner(zr)
			for sc.Scan() {
				lines = append(lines, sc.Text())
			}
		}
	}
	f.bodies = append(f.bodies, lines)
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch status {
	case http.StatusOK:
		json.NewEncoder(w).Encode(map[string]any{"accepted": len(lines), "rejected": []any{}, "alerts": 1})
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(status)
		io.WriteString(w, `{"error":{"code":"busy","message":"at capacity"}}`)
	case http.StatusBadGateway:
		w.WriteHeader(status)
		io.WriteString(w, "<html>bad gateway</html>")
	default:
		w.WriteHeader(status)
		io.WriteString(w, `{"error":{"code":"x","message":"status `+http.StatusText(status)+`"}}`)
	}
}

func (f *fakeServer) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func newTestClient(t *testing.T, url string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: url, Token: "tok", RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testEvents(n int) []*event.Event {
	evs := make([]*event.Event, n)
	for i := range evs {
		evs[i] = &event.Event{
			Time: time.Date(2023, 3, 29, 9, 0, i, 0, time.UTC), Host: "ws-01",
			Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
			Fields:    []event.Field{{Name: "Image", Value: event.S(`C:\Windows\System32\cmd.exe`)}, {Name: "N", Value: event.N(float64(i))}},
		}
	}
	return evs
}

func TestPostEventsRetries(t *testing.T) {
	tests := []struct {
		name       string
		script     []int
		maxRetries int
		wantErr    int // HTTP status of the *APIError, 0 for success
		wantTries  int
	}{
		{"ok first time", nil, 0, 0, 1},
		{"busy then ok", []int{429, 429}, 0, 0, 3},
		{"unavailable then ok", []int{503}, 0, 0, 2},
		{"server error then ok", []int{500, 502}, 0, 0, 3},
		{"bad request is final", []int{400}, 0, 400, 1},
		{"unauthorized is final", []int{401}, 0, 401, 1},
		{"forbidden is final", []int{403}, 0, 403, 1},
		{"too large splits the batch", []int{413}, 0, 0, 3},
		{"too large single event is final", []int{413, 413}, 0, 413, 2},
		{"max retries", []int{503, 503, 503, 503}, 2, 503, 3},
		{"no retries", []int{503}, -1, 503, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeServer{script: tc.script}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			c := newTestClient(t, srv.URL, func(c *Config) { c.MaxRetries = tc.maxRetries })
			evs := testEvents(3)
			res, err := c.PostEvents(t.Context(), evs)
			if got := fs.attempts(); got != tc.wantTries {
				t.Errorf("attempts = %d, want %d", got, tc.wantTries)
			}
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("PostEvents: %v", err)
				}
				if res.Accepted != 3 || res.Alerts < 1 || res.Rejected == nil {
					t.Errorf("result = %+v", res)
				}
				return
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tc.wantErr {
				t.Fatalf("err = %v, want APIError %d", err, tc.wantErr)
			}
		})
	}
}

// TestPostEventsSameIDsOnRetry checks the property that makes retries safe:
// every attempt carries the same ids, the events' content ids.
func TestPostEventsSameIDsOnRetry(t *testing.T) {
	fs := &fakeServer{script: []int{503, 500}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	evs := testEvents(4)
	evs[2].ID = "given-id"
	if _, err := c.PostEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if len(fs.bodies) != 3 {
		t.Fatalf("%d attempts, want 3", len(fs.bodies))
	}
	for i, ev := range evs {
		want := pipeline.ContentID(&event.Event{Time: ev.Time, Host: ev.Host, Logsource: ev.Logsource, Fields: ev.Fields})
		if i == 2 {
			want = "given-id"
		}
		if ev.ID != want {
			t.Errorf("event %d id = %q, want %q", i, ev.ID, want)
		}
	}
	for a, lines := range fs.bodies {
		if len(lines) != len(evs) {
			t.Fatalf("attempt %d sent %d lines, want %d", a, len(lines), len(evs))
		}
		for i, line := range lines {
			var got event.Event
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("attempt %d line %d: %v", a, i+1, err)
			}
			if got.ID != evs[i].ID || !got.Time.Equal(evs[i].Time) || got.Host != evs[i].Host {
				t.Errorf("attempt %d line %d = %+v, want id %s", a, i+1, got, evs[i].ID)
			}
		}
	}
	h := fs.headers[0]
	if h.Get("Authorization") != "Bearer tok" || h.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("headers = %v", h)
	}
}

// TestPostEventsSplitsTooLarge: a server that takes at most 3 lines per
// request still gets every event, and rejected lines keep their numbers
// within the whole batch.
func TestPostEventsSplitsTooLarge(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var lines []string
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		mu.Lock()
		sizes = append(sizes, len(lines))
		mu.Unlock()
		if len(lines) > 3 {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			io.WriteString(w, `{"error":{"code":"payload_too_large","message":"split the batch"}}`)
			return
		}
		// Reject the event whose N field is 5, by its line in this request.
		var rej []Rejected
		for i, l := range lines {
			if strings.Contains(l, `"N":5`) {
				rej = append(rej, Rejected{Line: i + 1, Error: "five"})
			}
		}
		json.NewEncoder(w).Encode(Result{Accepted: len(lines) - len(rej), Rejected: rej, Alerts: 1})
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	res, err := c.PostEvents(t.Context(), testEvents(10))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 9 || len(res.Rejected) != 1 || res.Rejected[0].Line != 6 {
		t.Errorf("result = %+v, want 9 accepted and line 6 rejected; request sizes %v", res, sizes)
	}
	sent := 0
	for _, n := range sizes {
		if n <= 3 {
			sent += n
		}
	}
	if sent != 10 {
		t.Errorf("accepted requests carried %d events, want 10 (sizes %v)", sent, sizes)
	}
}

func TestAPIErrorDecoding(t *testing.T) {
	tests := []struct {
		name                string
		status              int
		wantCode, wantInMsg string
	}{
		{"envelope", 403, "x", "Forbidden"},
		{"not an envelope", 502, "", "bad gateway"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(&fakeServer{script: []int{tc.status, tc.status}})
			defer srv.Close()
			c := newTestClient(t, srv.URL, func(c *Config) { c.MaxRetries = -1 })
			_, _, err := c.ListAlerts(t.Context(), nil)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Status != tc.status || ae.Code != tc.wantCode || !strings.Contains(ae.Message, tc.wantInMsg) {
				t.Errorf("APIError = %+v", ae)
			}
		})
	}
}

func TestPostEventsContextEnds(t *testing.T) {
	fs := &fakeServer{script: make([]int, 1000)}
	for i := range fs.script {
		fs.script[i] = 503
	}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for fs.attempts() < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.PostEvents(ctx, testEvents(1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 {
		t.Errorf("err = %v, want the last APIError inside", err)
	}
}

// flakyTransport fails the first n round trips as a refused connection
// would, then passes requests on.
type flakyTransport struct {
	mu   sync.Mutex
	n    int
	next http.RoundTripper
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	fail := f.n > 0
	f.n--
	f.mu.Unlock()
	if fail {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return f.next.RoundTrip(r)
}

func TestRetryNetworkError(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		path      string
		wantTries int
	}{
		// A server that is down at first: the batch is retried until it is
		// acknowledged, and the server sees it once.
		{"ingest", http.MethodPost, "/api/v1/events", 1},
		// A connection refused never reached the server, so even a PATCH
		// is retried.
		{"patch", http.MethodPatch, "/api/v1/alerts/x", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeServer{}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			c := newTestClient(t, srv.URL, func(c *Config) {
				c.HTTPClient = &http.Client{Transport: &flakyTransport{n: 4, next: http.DefaultTransport}}
			})
			var err error
			if tc.path == "/api/v1/events" {
				_, err = c.PostEvents(t.Context(), testEvents(2))
			} else {
				err = c.Do(t.Context(), tc.method, tc.path, nil, map[string]string{"status": "resolved"}, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if fs.attempts() != tc.wantTries {
				t.Errorf("server saw %d attempts, want %d", fs.attempts(), tc.wantTries)
			}
		})
	}
}

func TestNonIdempotentNotRetriedOnServerError(t *testing.T) {
	fs := &fakeServer{script: []int{500}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	err := c.Do(t.Context(), http.MethodPatch, "/api/v1/alerts/x", nil, map[string]string{"status": "resolved"}, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 {
		t.Fatalf("err = %v", err)
	}
	if fs.attempts() != 1 {
		t.Errorf("attempts = %d, want 1", fs.attempts())
	}
}

func TestSearchEvents(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/events" || r.URL.Query().Get("q") != "host:ws-01" {
			http.Error(w, "bad", 400)
			return
		}
		if r.URL.Query().Get("total") == "true" {
			io.WriteString(w, `{"events":[{"id":"a","time":"2023-03-29T09:00:00Z","host":"ws-01","fields":{"Image":"x"}}],"next":"c1","total":7}`)
			return
		}
		io.WriteString(w, `{"events":[]}`)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	page, err := c.SearchEvents(t.Context(), url.Values{"q": {"host:ws-01"}, "total": {"true"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].ID != "a" || page.Next != "c1" || page.Total != 7 {
		t.Errorf("page = %+v", page)
	}
	page, err = c.SearchEvents(t.Context(), url.Values{"q": {"host:ws-01"}})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != -1 || len(page.Events) != 0 {
		t.Errorf("page without total = %+v", page)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCertificate([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"ok"}`)
	}))
	srv.TLS = pki.ServerTLSConfig(cert, nil, false)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()

	other, err := pki.LoadOrCreateCA(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr bool
	}{
		{"ca file", func(c *Config) { c.CAFile = filepath.Join(dir, pki.CACertFile) }, false},
		{"pin", func(c *Config) { c.CASHA256 = ca.Fingerprint() }, false},
		{"wrong pin", func(c *Config) { c.CASHA256 = other.Fingerprint() }, true},
		{"system roots", func(c *Config) {}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Retries allowed: a certificate error must fail at once anyway.
			c := newTestClient(t, srv.URL, func(c *Config) { tc.mod(c); c.RetryMin, c.RetryMax = time.Hour, time.Hour })
			err := c.Health(t.Context())
			if (err != nil) != tc.wantErr {
				t.Fatalf("Health: err = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []Config{
		{BaseURL: "127.0.0.1:8443"},
		{BaseURL: "ftp://x"},
		{BaseURL: "https://x", CAFile: "a", CASHA256: "b"},
		{BaseURL: "https://x", CASHA256: "zz"},
		{BaseURL: "https://x", CAFile: filepath.Join(t.TempDir(), "missing.pem")},
	}
	for _, cfg := range tests {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{"0", 0},
		{"-3", 0},
		{"3600", time.Minute},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second},
		{"soon", 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1", func(c *Config) { c.RetryMin = 100 * time.Millisecond; c.RetryMax = time.Second })
	for attempt := range 70 {
		ceil := min(time.Second, 100*time.Millisecond<<min(attempt, 20))
		for range 20 {
			d := c.backoff(attempt)
			if d < ceil/2 || d > ceil {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, ceil/2, ceil)
			}
		}
	}
}
