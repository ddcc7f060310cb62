// Package e2e holds black-box tests of the real `vigil` binary: TestMain
// builds it once, and each test starts `vigil server` as a separate process
// on a free loopback port with its own data directory, then talks to it over
// HTTPS as a user would (raw HTTP, the Go client, the `vigil ingest`
// command). Crash tests kill the process with SIGKILL and restart it on the
// same data.
package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/client"
	"github.com/vigilsoc/vigil/internal/store"
)

// vigilBin is the binary TestMain built.
var vigilBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vigil-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	vigilBin = filepath.Join(dir, "vigil")
	build := exec.Command("go", "build", "-o", vigilBin, "./cmd/vigil")
	build.Dir = ".." // the module root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building vigil:", err)
		return 1
	}
	return m.Run()
}

// Deadlines for waiting on the server; generous because the machine is
// shared. They bound a wait, they are not performance assertions.
const (
	startDeadline = 90 * time.Second
	stopDeadline  = 60 * time.Second
	pollDeadline  = 30 * time.Second
	pollEvery     = 50 * time.Millisecond
)

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serverOpts says how to start a server.
type serverOpts struct {
	// Data is the data directory; empty makes a fresh one.
	Data string
	// Listen defaults to 127.0.0.1:0; a restart passes the old address so
	// that clients keep their URL.
	Listen string
	Rules  []string
	Args   []string
}

// vigilServer is one running `vigil server` process.
type vigilServer struct {
	t        *testing.T
	opts     serverOpts
	cmd      *exec.Cmd
	stdout   *lockedBuffer
	stderr   *lockedBuffer
	exited   chan struct{}
	exitCode int

	URL         string
	Addr        string // host:port
	Token       string // the admin token
	CAFile      string
	Fingerprint string
	Admin       *client.Client
	HTTP        *http.Client // trusts the server's CA, sends no token
}

var bannerRE = regexp.MustCompile(`Vigil server listening on (https?://(\S+))`)
var fingerprintRE = regexp.MustCompile(`sha256 ([0-9a-f]{64})`)

// startServer starts `vigil server` and waits until its banner is printed
// and /healthz answers. The process is killed when the test ends.
func startServer(t *testing.T, o serverOpts) *vigilServer {
	t.Helper()
	if o.Data == "" {
		o.Data = filepath.Join(t.TempDir(), "data")
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	args := []string{"server", "--data", o.Data, "--listen", o.Listen}
	for _, r := range o.Rules {
		args = append(args, "--rules", r)
	}
	args = append(args, o.Args...)
	s := &vigilServer{t: t, opts: o, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(vigilBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	// The admin token comes from DATA/admin.token, as in production.
	s.cmd.Env = append(os.Environ(), "VIGIL_ADMIN_TOKEN=")
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting vigil server: %v", err)
	}
	go func() {
		s.cmd.Wait()
		s.exitCode = s.cmd.ProcessState.ExitCode()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("server %s stdout:\n%s\nstderr (tail):\n%s", s.URL, s.stdout.String(), tail(s.stderr.String(), 6000))
		}
	})

	deadline := time.Now().Add(startDeadline)
	for {
		if m := bannerRE.FindStringSubmatch(s.stdout.String()); m != nil && strings.Contains(s.stdout.String(), "admin API token") {
			s.URL, s.Addr = m[1], m[2]
			break
		}
		select {
		case <-s.exited:
			t.Fatalf("vigil server exited with %d before listening\nstderr:\n%s", s.exitCode, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner from vigil server within %v\nstdout:\n%s\nstderr:\n%s", startDeadline, s.stdout.String(), s.stderr.String())
		}
		time.Sleep(pollEvery)
	}
	if m := fingerprintRE.FindStringSubmatch(s.stdout.String()); m != nil {
		s.Fingerprint = m[1]
	}
	tok, err := os.ReadFile(filepath.Join(o.Data, "admin.token"))
	if err != nil {
		t.Fatalf("admin token: %v", err)
	}
	s.Token = strings.TrimSpace(string(tok))
	s.HTTP = &http.Client{Timeout: time.Minute}
	if strings.HasPrefix(s.URL, "https:") {
		s.CAFile = filepath.Join(o.Data, "ca.pem")
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			t.Fatalf("CA certificate: %v", err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		s.HTTP.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	s.Admin = s.newClient(t, s.Token)
	s.waitHealthy(t)
	return s
}

// newClient returns an API client for the server with the given token,
// retrying briefly (the tests decide how long they wait).
func (s *vigilServer) newClient(t *testing.T, token string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{
		BaseURL: s.URL, Token: token, CAFile: s.CAFile, Timeout: time.Minute,
		RetryMin: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond, MaxRetries: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *vigilServer) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(startDeadline)
	for {
		err := s.Admin.Health(t.Context())
		if err == nil {
			return
		}
		select {
		case <-s.exited:
			t.Fatalf("vigil server exited with %d\nstderr:\n%s", s.exitCode, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer within %v: %v", startDeadline, err)
		}
		time.Sleep(pollEvery)
	}
}

// signal sends sig and waits for the process to exit; it returns the exit
// code (-1 when killed by a signal).
func (s *vigilServer) signal(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	if err := syscall.Kill(s.cmd.Process.Pid, sig); err != nil {
		t.Fatalf("kill %d %v: %v", s.cmd.Process.Pid, sig, err)
	}
	select {
	case <-s.exited:
		return s.exitCode
	case <-time.After(stopDeadline):
		t.Fatalf("vigil server did not exit within %v of %v\nstderr:\n%s", stopDeadline, sig, tail(s.stderr.String(), 6000))
		return 0
	}
}

// restart starts a new server process on the same data and address.
func (s *vigilServer) restart(t *testing.T) *vigilServer {
	t.Helper()
	o := s.opts
	o.Listen = s.Addr
	return startServer(t, o)
}

// call makes a raw HTTP request, as curl would, and returns the status and
// body. token "" sends no Authorization header.
func (s *vigilServer) call(t *testing.T, method, path, token string, body []byte, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// callJSON makes a request and decodes the JSON answer into out, failing
// the test unless the status is want.
func (s *vigilServer) callJSON(t *testing.T, method, path, token string, body []byte, want int, out any) {
	t.Helper()
	status, data := s.call(t, method, path, token, body, "Content-Type", "application/json")
	if status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

// createToken makes an API token with the admin token.
func (s *vigilServer) createToken(t *testing.T, name, role string) (id, secret string) {
	t.Helper()
	var out struct {
		Token string `json:"token"`
		ID    string `json:"id"`
		Role  string `json:"role"`
	}
	body, _ := json.Marshal(map[string]string{"name": name, "role": role})
	s.callJSON(t, http.MethodPost, "/api/v1/tokens", s.Token, body, http.StatusCreated, &out)
	if out.Token == "" || out.ID == "" || out.Role != role {
		t.Fatalf("created token = %+v", out)
	}
	return out.ID, out.Token
}

// alerts returns every alert matching q, following the pages.
func (s *vigilServer) alerts(t *testing.T, q url.Values) []store.Alert {
	t.Helper()
	q = cloneValues(q)
	if q.Get("limit") == "" {
		q.Set("limit", "1000")
	}
	var all []store.Alert
	for {
		page, next, err := s.Admin.ListAlerts(t.Context(), q)
		if err != nil {
			t.Fatalf("listing alerts %v: %v", q, err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		q.Set("cursor", next)
	}
}

// eventIDs returns the ids of every event matching the query, in the order
// stored (duplicates kept, so that a caller can look for them), and the
// server's total.
func (s *vigilServer) eventIDs(t *testing.T, query string) ([]string, int64) {
	t.Helper()
	q := url.Values{"q": {query}, "limit": {"10000"}, "total": {"true"}}
	var ids []string
	total := int64(-1)
	for {
		page, err := s.Admin.SearchEvents(t.Context(), q)
		if err != nil {
			t.Fatalf("searching events %q: %v", query, err)
		}
		if total < 0 {
			total = page.Total
		}
		for _, ev := range page.Events {
			ids = append(ids, ev.ID)
		}
		if page.Next == "" {
			return ids, total
		}
		q.Set("cursor", page.Next)
		q.Del("total")
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", pollDeadline, what)
		}
		time.Sleep(pollEvery)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// runVigil runs the binary to completion and returns its exit code and output.
func runVigil(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runVigilIn(t, "", args...)
}

// runVigilIn runs the binary in the working directory dir.
func runVigilIn(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), vigilBin, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "VIGIL_TOKEN=")
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("running vigil %v: %v", args, err)
		}
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

func fixture(parts ...string) string {
	abs, err := filepath.Abs(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		panic(err)
	}
	return abs
}

func decodeJSON(t *testing.T, raw []byte, out any) {
	t.Helper()
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
}
