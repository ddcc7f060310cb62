// Command ingest is a load generator for `vigil server`, printing the
// figures the "vigil server" issue asks for: sustained acknowledged
// events/s, acknowledgement latency per batch, 429s, detection latency (how
// long after a batch is sent its alert can be read from the API), and a
// check that the server stored exactly what it acknowledged.
//
// By default it builds (if missing) and starts bin/vigil server on a free
// loopback port with a temporary data directory and every SigmaHQ Windows
// rule; -server points it at an external server instead. Only loopback
// traffic is intended.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/vigilsoc/vigil/internal/cli"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma/synth"
)

// Targets from the issue.
const (
	targetEventsPerSec = 50_000
	targetDetectP99    = time.Second
)

// The trigger event: whoami.exe /all, which the SigmaHQ rule "Enumerate All
// Information With Whoami.EXE" (c248c896-e412-4279-8c15-1c558067b6fa)
// detects. Each one gets a host name of its own, so its alert is found by
// host and is never merged into another by the server's deduplication.
const triggerRuleID = "c248c896-e412-4279-8c15-1c558067b6fa"

type options struct {
	corpus, bin, dataDir     string
	serverURL, token, caFile string
	tls, keep, inProcess     bool
	senders, batch           int
	duration, phase2Duration time.Duration
	rate, phase2Rate         float64
	triggerEvery             int
	phase2TriggerEvery       int
	poll                     time.Duration
	cpuProfile               string
	shape                    string
}

func main() {
	var o options
	defCorpus := os.Getenv("VIGIL_CORPUS")
	if defCorpus == "" {
		defCorpus = filepath.Join("..", "shared", "corpus")
	}
	flag.StringVar(&o.corpus, "corpus", defCorpus, "shared corpus (its sigma/rules/windows is loaded into the server); default $VIGIL_CORPUS or ../shared/corpus")
	flag.StringVar(&o.bin, "bin", filepath.Join("bin", "vigil"), "vigil binary to start (built with go build ./cmd/vigil when missing)")
	flag.StringVar(&o.dataDir, "data", "", "server data directory (default: a new temporary directory, removed afterwards unless -keep)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directory and server log")
	flag.BoolVar(&o.tls, "tls", false, "start the server with HTTPS (its self-signed CA) instead of --insecure-http")
	flag.StringVar(&o.serverURL, "server", "", "use this running server (base URL) instead of starting one")
	flag.StringVar(&o.token, "token", os.Getenv("VIGIL_ADMIN_TOKEN"), "API token for -server (default $VIGIL_ADMIN_TOKEN)")
	flag.StringVar(&o.caFile, "ca-file", "", "CA certificate (PEM) for an HTTPS -server")
	flag.IntVar(&o.senders, "senders", 4, "concurrent senders")
	flag.StringVar(&o.shape, "shape", "normalised", "event JSON shape: normalised ({\"id\",\"time\",\"host\",\"logsource\",\"fields\"}) or flat (Sysmon fields at the top level)")
	flag.IntVar(&o.batch, "batch", 2000, "events per batch")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "phase 1 length")
	flag.Float64Var(&o.rate, "rate", 0, "phase 1 target events/s over all senders (0: as fast as acknowledged)")
	flag.DurationVar(&o.phase2Duration, "phase2-duration", 20*time.Second, "phase 2 length (0 skips phase 2)")
	flag.Float64Var(&o.phase2Rate, "phase2-rate", 10_000, "phase 2 target events/s, for detection latency at a steady rate")
	flag.IntVar(&o.triggerEvery, "trigger-every", 5, "phase 1: one batch in this many carries a trigger event")
	flag.IntVar(&o.phase2TriggerEvery, "phase2-trigger-every", 1, "phase 2: one batch in this many carries a trigger event")
	flag.DurationVar(&o.poll, "poll", 20*time.Millisecond, "how often a pending trigger's alert is looked for (detection latency resolution)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write this process's CPU profile here (with -in-process it includes the server)")
	flag.BoolVar(&o.inProcess, "in-process", false, "run the server inside this process (internal/cli.Main) instead of bin/vigil, to profile it with -cpuprofile")
	flag.Parse()
	if o.shape != "normalised" && o.shape != "flat" {
		fmt.Fprintf(os.Stderr, "bench/ingest: -shape %q: want normalised or flat\n", o.shape)
		os.Exit(2)
	}
	if o.senders < 1 || o.batch < 2 || o.triggerEvery < 1 || o.phase2TriggerEvery < 1 || o.duration <= 0 {
		fmt.Fprintln(os.Stderr, "bench/ingest: -senders >= 1, -batch >= 2, -trigger-every >= 1 and -duration > 0 are required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench/ingest: %v\n", err)
		os.Exit(1)
	}
}

func row(label, format string, args ...any) {
	fmt.Printf("%-40s %s\n", label, fmt.Sprintf(format, args...))
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuTime is this process's user+system CPU time: the load generator shares
// the machine with the server, so what it costs is printed too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is another process's user+system CPU time from /proc (Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: utime and stime are the 14th and 15th fields overall.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks
}

// runqueueWait is how long the threads of a process have waited, runnable,
// for a CPU (the second field of /proc/PID/task/TID/schedstat, summed over
// the threads alive now). On a shared machine it tells a server that is
// starved of CPU from one that is idle waiting on something else.
func runqueueWait(pid int) time.Duration {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil {
		return 0
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			sum += n
		}
	}
	return time.Duration(sum)
}

func run(ctx context.Context, o options) error {
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	srv, err := startOrConnect(ctx, o)
	if err != nil {
		return err
	}
	defer srv.stop()

	fmt.Printf("%-40s %s (%s)\n", "server", srv.base, srv.mode)
	row("senders x batch", "%d x %d events, gzip NDJSON, %s shape (Sysmon process creation 60%%, DNS query 25%%, network connection 15%%)", o.senders, o.batch, o.shape)
	before, err := srv.storedTotal(ctx)
	if err != nil {
		return fmt.Errorf("counting stored events before the run: %w", err)
	}

	gen := newGenerator(time.Now(), o.shape == "flat")
	var phases []*phaseResult
	p1 := runPhase(ctx, srv, gen, o, "phase 1", o.duration, o.rate, o.triggerEvery)
	phases = append(phases, p1)
	p1.print(srv, targetEventsPerSec, 0)
	if o.phase2Duration > 0 && ctx.Err() == nil {
		p2 := runPhase(ctx, srv, gen, o, "phase 2", o.phase2Duration, o.phase2Rate, o.phase2TriggerEvery)
		phases = append(phases, p2)
		p2.print(srv, 0, targetDetectP99)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	var acked int64
	for _, p := range phases {
		acked += p.acked
	}
	after, err := srv.storedTotal(ctx)
	if err != nil {
		return fmt.Errorf("counting stored events: %w", err)
	}
	stored := after - before
	fmt.Println("-- end")
	row("events acknowledged (all phases)", "%d", acked)
	row("events stored (GET /api/v1/events)", "%d  (total %d, %d before the run)  %s", stored, after, before,
		map[bool]string{true: "equal to acknowledged: OK", false: "NOT equal to acknowledged"}[stored == acked])
	if stored != acked {
		return fmt.Errorf("the server stored %d events but acknowledged %d", stored, acked)
	}
	return nil
}

// server is the server under load and how to reach it.
type server struct {
	base, token, mode string
	client            *http.Client
	cmd               *exec.Cmd
	// exited is closed once the started server has exited; waitErr is
	// then its exit status.
	exited  chan struct{}
	waitErr error
	// cancel stops an in-process server.
	cancel  context.CancelFunc
	cleanup []func()
}

// bannerWatcher copies the server's standard output to the log and sends
// the address from its "listening on URL" line.
type bannerWatcher struct {
	log     io.Writer
	addr    chan<- string
	partial []byte
}

func (w *bannerWatcher) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if _, u, ok := strings.Cut(line, "listening on "); ok {
			select {
			case w.addr <- strings.TrimSpace(u):
			default:
			}
		}
		fmt.Fprintln(w.log, line)
	}
	return len(p), nil
}

func (s *server) stop() {
	if s.cancel != nil {
		s.cancel()
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
		}
	}
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	for _, f := range slices.Backward(s.cleanup) {
		f()
	}
}

// cpu is the started server's CPU time so far; 0 for an external server.
func (s *server) cpu() time.Duration {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return procCPU(s.cmd.Process.Pid)
}

// waited is the started server's run-queue wait so far (see runqueueWait);
// with -in-process it is this process's.
func (s *server) waited() time.Duration {
	switch {
	case s.cmd != nil && s.cmd.Process != nil:
		return runqueueWait(s.cmd.Process.Pid)
	case s.cancel != nil:
		return runqueueWait(os.Getpid())
	}
	return 0
}

func newClient(senders int, ca *x509.CertPool) *http.Client {
	tr := &http.Transport{
		MaxIdleConns:        4 * senders,
		MaxIdleConnsPerHost: 4 * senders,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	if ca != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return pool, nil
}

func startOrConnect(ctx context.Context, o options) (*server, error) {
	if o.serverURL != "" {
		if o.token == "" {
			return nil, errors.New("-server needs -token or VIGIL_ADMIN_TOKEN")
		}
		var ca *x509.CertPool
		if o.caFile != "" {
			var err error
			if ca, err = loadCA(o.caFile); err != nil {
				return nil, err
			}
		}
		return &server{base: strings.TrimRight(o.serverURL, "/"), token: o.token, mode: "external server", client: newClient(o.senders, ca)}, nil
	}

	s := &server{}
	if _, err := os.Stat(o.bin); err != nil {
		fmt.Fprintf(os.Stderr, "bench/ingest: %s missing; building it\n", o.bin)
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", o.bin, "./cmd/vigil")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("building %s: %w", o.bin, err)
		}
	}
	rules := filepath.Join(o.corpus, "sigma", "rules", "windows")
	if _, err := os.Stat(rules); err != nil {
		return nil, fmt.Errorf("rules: %w (set -corpus or VIGIL_CORPUS)", err)
	}
	dir := o.dataDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "vigil-bench-ingest-"); err != nil {
			return nil, err
		}
		if !o.keep {
			s.cleanup = append(s.cleanup, func() { os.RemoveAll(dir) })
		}
	}
	logPath := filepath.Join(dir, "server.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { logf.Close() })

	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	s.token = "bench-" + hex.EncodeToString(tok)
	args := []string{"server", "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
		"--rules", rules, "--retention", "0", "--log-level", "warn"}
	s.mode = "started " + o.bin + ", HTTPS with its own CA, loopback"
	if !o.tls {
		args = append(args, "--insecure-http")
		s.mode = "started " + o.bin + ", plain HTTP (--insecure-http), loopback"
	}
	// The banner's first line names the address; the whole banner goes to
	// the log.
	addr := make(chan string, 1)
	banner := &bannerWatcher{log: logf, addr: addr}
	t0 := time.Now()
	s.exited = make(chan struct{})
	if o.inProcess {
		// The same server code, run by cli.Main in this process so that
		// -cpuprofile sees where the server spends its time.
		s.mode = strings.Replace(s.mode, "started "+o.bin, "in-process cli.Main server", 1)
		os.Setenv("VIGIL_ADMIN_TOKEN", s.token)
		sctx, cancel := context.WithCancel(context.Background())
		s.cancel = cancel
		go func() {
			if code := cli.Main(sctx, args, cli.Stdio{In: strings.NewReader(""), Out: banner, Err: logf}); code != 0 {
				s.waitErr = fmt.Errorf("exit code %d", code)
			}
			close(s.exited)
		}()
	} else {
		s.cmd = exec.Command(o.bin, args...)
		s.cmd.Env = append(os.Environ(), "VIGIL_ADMIN_TOKEN="+s.token)
		s.cmd.Stderr = logf
		s.cmd.Stdout = banner
		if err := s.cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting %s: %w", o.bin, err)
		}
		go func() {
			s.waitErr = s.cmd.Wait()
			close(s.exited)
		}()
	}
	select {
	case s.base = <-addr:
	case <-s.exited:
		err := s.waitErr
		s.stop()
		return nil, fmt.Errorf("server exited before listening (%v); see %s", err, logPath)
	case <-time.After(5 * time.Minute):
		s.stop()
		return nil, fmt.Errorf("server did not listen within 5 minutes; see %s", logPath)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	var ca *x509.CertPool
	if o.tls {
		if ca, err = loadCA(filepath.Join(dir, "data", "ca.pem")); err != nil {
			s.stop()
			return nil, err
		}
	}
	s.client = newClient(o.senders, ca)
	row("server start (rules loaded)", "%s, log in %s%s", time.Since(t0).Round(time.Millisecond), logPath,
		map[bool]string{true: " (kept)", false: " (removed at exit; -keep keeps it)"}[o.keep || o.dataDir != ""])
	return s, nil
}

func (s *server) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	return json.Unmarshal(body, out)
}

func (s *server) storedTotal(ctx context.Context) (int64, error) {
	var r struct {
		Total *int64 `json:"total"`
	}
	if err := s.get(ctx, "/api/v1/events?total=true&limit=1", &r); err != nil {
		return 0, err
	}
	if r.Total == nil {
		return 0, errors.New("the answer has no total")
	}
	return *r.Total, nil
}

// generator turns a pool of pre-marshalled events into batches with
// distinct ids, so that the load generator spends its CPU on compression
// and HTTP, not on building events.
type generator struct {
	runID string
	// pool holds marshalled events without their opening brace and id.
	pool     [][]byte
	seq      atomic.Int64
	triggers atomic.Int64
	now      time.Time
	flat     bool
}

func newGenerator(now time.Time, flat bool) *generator {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	g := &generator{runID: hex.EncodeToString(b), now: now.UTC(), flat: flat}
	const poolSize = 30_000
	procs := synth.ProcessCreation(poolSize*60/100, 7)
	hosts := map[string]bool{}
	var hostList []string
	for _, ev := range procs {
		if !hosts[ev.Host] {
			hosts[ev.Host] = true
			hostList = append(hostList, ev.Host)
		}
	}
	rng := mrand.New(mrand.NewPCG(7, 11))
	evs := make([]*event.Event, 0, poolSize)
	evs = append(evs, procs...)
	for range poolSize * 25 / 100 {
		evs = append(evs, dnsQuery(rng, hostList))
	}
	for range poolSize * 15 / 100 {
		evs = append(evs, networkConnection(rng, hostList))
	}
	rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	for i, ev := range evs {
		// Times are recent, spread over the last minute, so that no
		// retention or time-range default hides them.
		ev.Time = g.now.Add(-time.Duration(i%60000) * time.Millisecond)
		ev.ID = ""
		var b []byte
		if flat {
			// Sysmon's own field names at the top level, as a shipper
			// that forwards EventData sends them; the server finds the
			// log source from Channel and EventID, the time from UtcTime.
			setField(ev, "UtcTime", event.S(ev.Time.Format("2006-01-02 15:04:05.000")))
			b = event.MarshalFields(ev.Fields)
		} else {
			b, _ = ev.MarshalJSON()
		}
		g.pool = append(g.pool, b[1:])
	}
	return g
}

func setField(ev *event.Event, name string, v event.Value) {
	for i := range ev.Fields {
		if ev.Fields[i].Name == name {
			ev.Fields[i].Value = v
			return
		}
	}
	ev.Fields = append(ev.Fields, event.Field{Name: name, Value: v})
}

var (
	domains = []string{"www.google.com", "login.microsoftonline.com", "outlook.office365.com", "teams.microsoft.com",
		"github.com", "update.googleapis.com", "slack.com", "cdn.jsdelivr.net", "settings-win.data.microsoft.com",
		"ctldl.windowsupdate.com", "www.bing.com", "api.segment.io", "fonts.gstatic.com", "clients4.google.com",
		"raw.githubusercontent.com", "pastebin.com", "a1b2c3.ngrok.io", "download.3cx.com"}
	images = []string{`C:\Program Files\Google\Chrome\Application\chrome.exe`, `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`,
		`C:\Windows\System32\svchost.exe`, `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`,
		`C:\Users\jdoe\AppData\Local\Microsoft\Teams\current\Teams.exe`, `C:\Program Files\Slack\slack.exe`,
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Users\jdoe\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`}
	users = []string{`CORP\jdoe`, `CORP\asmith`, `CORP\mlee`, `NT AUTHORITY\SYSTEM`, `NT AUTHORITY\NETWORK SERVICE`}
)

func guid(rng *mrand.Rand) string {
	return fmt.Sprintf("{%08x-%04x-%04x-%04x-%012x}", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
}

func sysmonHeader(rng *mrand.Rand, id int, host string) []event.Field {
	return []event.Field{
		{Name: "EventID", Value: event.N(float64(id))},
		{Name: "Channel", Value: event.S("Microsoft-Windows-Sysmon/Operational")},
		{Name: "Provider_Name", Value: event.S("Microsoft-Windows-Sysmon")},
		{Name: "Computer", Value: event.S(host)},
		{Name: "RuleName", Value: event.S("-")},
		{Name: "ProcessGuid", Value: event.S(guid(rng))},
		{Name: "ProcessId", Value: event.N(float64(1000 + rng.IntN(60000)))},
	}
}

// dnsQuery is a Sysmon event 22 as normalised.
func dnsQuery(rng *mrand.Rand, hosts []string) *event.Event {
	host := hosts[rng.IntN(len(hosts))]
	name := domains[rng.IntN(len(domains))]
	f := append(sysmonHeader(rng, 22, host),
		event.Field{Name: "QueryName", Value: event.S(name)},
		event.Field{Name: "QueryStatus", Value: event.S("0")},
		event.Field{Name: "QueryResults", Value: event.S(fmt.Sprintf("::ffff:%d.%d.%d.%d;", 13+rng.IntN(200), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254)))},
		event.Field{Name: "Image", Value: event.S(images[rng.IntN(len(images))])},
		event.Field{Name: "User", Value: event.S(users[rng.IntN(len(users))])},
	)
	return &event.Event{Host: host, Logsource: event.Logsource{Product: "windows", Category: "dns_query"}, Fields: f}
}

// networkConnection is a Sysmon event 3 as normalised.
func networkConnection(rng *mrand.Rand, hosts []string) *event.Event {
	host := hosts[rng.IntN(len(hosts))]
	ports := []int{443, 443, 443, 80, 53, 445, 3389, 8080, 5985}
	port := ports[rng.IntN(len(ports))]
	f := append(sysmonHeader(rng, 3, host),
		event.Field{Name: "Image", Value: event.S(images[rng.IntN(len(images))])},
		event.Field{Name: "User", Value: event.S(users[rng.IntN(len(users))])},
		event.Field{Name: "Protocol", Value: event.S("tcp")},
		event.Field{Name: "Initiated", Value: event.S("true")},
		event.Field{Name: "SourceIsIpv6", Value: event.S("false")},
		event.Field{Name: "SourceIp", Value: event.S(fmt.Sprintf("10.%d.%d.%d", rng.IntN(4), rng.IntN(256), 1+rng.IntN(254)))},
		event.Field{Name: "SourceHostname", Value: event.S(host)},
		event.Field{Name: "SourcePort", Value: event.N(float64(49152 + rng.IntN(16000)))},
		event.Field{Name: "DestinationIsIpv6", Value: event.S("false")},
		event.Field{Name: "DestinationIp", Value: event.S(fmt.Sprintf("%d.%d.%d.%d", 13+rng.IntN(200), rng.IntN(256), rng.IntN(256), 1+rng.IntN(254)))},
		event.Field{Name: "DestinationHostname", Value: event.S(domains[rng.IntN(len(domains))])},
		event.Field{Name: "DestinationPort", Value: event.N(float64(port))},
	)
	return &event.Event{Host: host, Logsource: event.Logsource{Product: "windows", Category: "network_connection"}, Fields: f}
}

// trigger is a process creation the whoami rule detects, on a host of its
// own; it returns the marshalled event and the host.
func (g *generator) trigger() ([]byte, string) {
	k := g.triggers.Add(1)
	host := fmt.Sprintf("bench-%s-trigger-%d", g.runID, k)
	ev := event.Event{
		ID: fmt.Sprintf("%s-trigger-%d", g.runID, k), Time: time.Now().UTC(), Host: host,
		Logsource: event.Logsource{Product: "windows", Category: "process_creation"},
		Fields: []event.Field{
			{Name: "EventID", Value: event.N(1)},
			{Name: "Channel", Value: event.S("Microsoft-Windows-Sysmon/Operational")},
			{Name: "Computer", Value: event.S(host)},
			{Name: "Image", Value: event.S(`C:\Windows\System32\whoami.exe`)},
			{Name: "OriginalFileName", Value: event.S("whoami.exe")},
			{Name: "CommandLine", Value: event.S(`whoami.exe /all`)},
			{Name: "ParentImage", Value: event.S(`C:\Windows\System32\cmd.exe`)},
			{Name: "User", Value: event.S(`CORP\jdoe`)},
		},
	}
	var b []byte
	if g.flat {
		ev.Fields = append(ev.Fields, event.Field{Name: "UtcTime", Value: event.S(ev.Time.Format("2006-01-02 15:04:05.000"))})
		b = event.MarshalFields(ev.Fields)
		b = append([]byte(`{"id":"`+ev.ID+`",`), b[1:]...)
	} else {
		b, _ = ev.MarshalJSON()
	}
	return b, host
}

// batchBody writes n events (the last replaced by a trigger when withTrigger)
// as gzip NDJSON into buf; it returns the trigger's host, if any.
func (g *generator) batchBody(buf *bytes.Buffer, zw *gzip.Writer, n int, withTrigger bool) string {
	buf.Reset()
	zw.Reset(buf)
	var line []byte
	start := g.seq.Add(int64(n)) - int64(n)
	host := ""
	for i := range n {
		if withTrigger && i == n-1 {
			var b []byte
			b, host = g.trigger()
			zw.Write(b)
			zw.Write([]byte{'\n'})
			break
		}
		seq := start + int64(i)
		line = append(line[:0], `{"id":"`...)
		line = append(line, g.runID...)
		line = append(line, '-')
		line = strconv.AppendInt(line, seq, 10)
		line = append(line, `",`...)
		line = append(line, g.pool[seq%int64(len(g.pool))]...)
		line = append(line, '\n')
		zw.Write(line)
	}
	zw.Close()
	return host
}

// phaseResult collects one phase's figures.
type phaseResult struct {
	name                   string
	rate                   float64
	elapsed                time.Duration
	acked, batches         int64
	rejected, n429, errs   atomic.Int64
	reqLat, batchLat       []time.Duration
	detLat                 []time.Duration
	detMissed              int
	triggers               atomic.Int64
	poll                   time.Duration
	serverCPU, clientCPU   time.Duration
	serverWait             time.Duration
	wireBytes, loadAtStart string
}

type triggerSent struct {
	host string
	sent time.Time
}

func runPhase(ctx context.Context, srv *server, gen *generator, o options, name string, d time.Duration, rate float64, triggerEvery int) *phaseResult {
	res := &phaseResult{name: name, rate: rate, loadAtStart: loadavg(), poll: o.poll}
	mode := "as fast as acknowledged"
	if rate > 0 {
		mode = fmt.Sprintf("paced at %.0f events/s", rate)
	}
	fmt.Printf("\n== %s: %s for %s, one batch in %d carries a trigger (load %s)\n", name, mode, d, triggerEvery, res.loadAtStart)

	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	triggers := make(chan triggerSent, 1024)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		res.detLat, res.detMissed = pollAlerts(ctx, srv, o.poll, triggers)
	}()

	var (
		mu        sync.Mutex
		batchNo   atomic.Int64
		acked     atomic.Int64
		batches   atomic.Int64
		wireBytes atomic.Int64
		wg        sync.WaitGroup
	)
	srvCPU0, cliCPU0, wait0 := srv.cpu(), cpuTime(), srv.waited()
	start := time.Now()
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(o.batch*o.senders) / rate)
	}
	for w := range o.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
			var reqLat, batchLat []time.Duration
			next := start.Add(time.Duration(w) * interval / time.Duration(o.senders))
			for k := 0; pctx.Err() == nil; k++ {
				if interval > 0 {
					if wait := time.Until(next); wait > 0 {
						select {
						case <-time.After(wait):
						case <-pctx.Done():
						}
						if pctx.Err() != nil {
							break
						}
					}
					next = next.Add(interval)
				}
				withTrigger := (batchNo.Add(1)-1)%int64(triggerEvery) == 0
				host := gen.batchBody(&buf, zw, o.batch, withTrigger)
				sent := time.Now()
				if host != "" {
					triggers <- triggerSent{host: host, sent: sent}
					res.triggers.Add(1)
				}
				wireBytes.Add(int64(buf.Len()))
				// Once sent, a batch is retried until acknowledged, even
				// past the phase's end: a shipper loses nothing.
				n, lat, err := srv.post(ctx, buf.Bytes(), res)
				if err != nil {
					return
				}
				acked.Add(int64(n))
				batches.Add(1)
				reqLat = append(reqLat, lat)
				batchLat = append(batchLat, time.Since(sent))
			}
			mu.Lock()
			res.reqLat = append(res.reqLat, reqLat...)
			res.batchLat = append(res.batchLat, batchLat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.serverCPU, res.clientCPU, res.serverWait = srv.cpu()-srvCPU0, cpuTime()-cliCPU0, srv.waited()-wait0
	res.acked, res.batches = acked.Load(), batches.Load()
	res.wireBytes = fmt.Sprintf("%.1f MB gzip", float64(wireBytes.Load())/1e6)
	close(triggers)
	<-pollDone
	return res
}

// post sends one gzip NDJSON batch until it is acknowledged, honouring
// 429's Retry-After; it returns the events accepted and the latency of the
// request that was acknowledged.
func (s *server) post(ctx context.Context, body []byte, res *phaseResult) (int, time.Duration, error) {
	for {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/v1/events", bytes.NewReader(body))
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Content-Encoding", "gzip")
		t0 := time.Now()
		resp, err := s.client.Do(req)
		if err != nil {
			res.errs.Add(1)
			time.Sleep(time.Second)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat := time.Since(t0)
		switch resp.StatusCode {
		case http.StatusOK:
			var r struct {
				Accepted int               `json:"accepted"`
				Rejected []json.RawMessage `json:"rejected"`
			}
			if err := json.Unmarshal(b, &r); err != nil {
				return 0, 0, fmt.Errorf("ingest answer: %w", err)
			}
			res.rejected.Add(int64(len(r.Rejected)))
			return r.Accepted, lat, nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if resp.StatusCode == http.StatusTooManyRequests {
				res.n429.Add(1)
			} else {
				res.errs.Add(1)
			}
			wait := time.Second
			if sec, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && sec >= 0 {
				wait = time.Duration(sec) * time.Second
			}
			time.Sleep(wait)
		default:
			res.errs.Add(1)
			fmt.Fprintf(os.Stderr, "bench/ingest: POST /api/v1/events: %s: %s\n", resp.Status, tail(string(b), 300))
			if resp.StatusCode < 500 {
				return 0, 0, fmt.Errorf("POST /api/v1/events: %s", resp.Status)
			}
			time.Sleep(time.Second)
		}
	}
}

// pollAlerts looks for each trigger's alert by host every poll interval
// from the moment its batch is sent, and returns the detection latencies;
// a trigger not visible within 30 s counts as missed.
func pollAlerts(ctx context.Context, srv *server, poll time.Duration, in <-chan triggerSent) ([]time.Duration, int) {
	const giveUp = 30 * time.Second
	var (
		pending []triggerSent
		lat     []time.Duration
		missed  int
		open    = true
	)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for open || len(pending) > 0 {
		if ctx.Err() != nil {
			return lat, missed + len(pending)
		}
		select {
		case t, ok := <-in:
			if !ok {
				open = false
				in = nil
				continue
			}
			pending = append(pending, t)
			continue
		case <-tick.C:
		}
		kept := pending[:0]
		for _, t := range pending {
			var r struct {
				Alerts []json.RawMessage `json:"alerts"`
			}
			err := srv.get(ctx, "/api/v1/alerts?limit=1&host="+url.QueryEscape(t.host), &r)
			now := time.Now()
			switch {
			case err == nil && len(r.Alerts) > 0:
				lat = append(lat, now.Sub(t.sent))
			case now.Sub(t.sent) > giveUp:
				missed++
			default:
				kept = append(kept, t)
			}
		}
		pending = kept
	}
	return lat, missed
}

func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(math.Ceil(q*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}

func (p *phaseResult) print(srv *server, targetRate float64, targetP99 time.Duration) {
	rate := float64(p.acked) / p.elapsed.Seconds()
	text := fmt.Sprintf("%.0f  (%d events in %d batches over %s)", rate, p.acked, p.batches, p.elapsed.Round(time.Millisecond))
	if targetRate > 0 {
		text += fmt.Sprintf("  target >= %.0f: %s", targetRate, verdict(rate >= targetRate))
	}
	row("events/s acknowledged", "%s", text)
	row("ack latency per request p50/p99/max", "%s / %s / %s", ms(pct(p.reqLat, .5)), ms(pct(p.reqLat, .99)), ms(pct(p.reqLat, 1)))
	row("ack latency per batch p50/p99/max", "%s / %s / %s  (first send to ack, retries included)", ms(pct(p.batchLat, .5)), ms(pct(p.batchLat, .99)), ms(pct(p.batchLat, 1)))
	row("429 answers / other errors", "%d / %d", p.n429.Load(), p.errs.Load())
	row("rejected lines", "%d", p.rejected.Load())
	text = fmt.Sprintf("%s / %s / %s  (%d of %d triggers seen, %d missed; poll resolution %s)",
		ms(pct(p.detLat, .5)), ms(pct(p.detLat, .99)), ms(pct(p.detLat, 1)), len(p.detLat), p.triggers.Load(), p.detMissed, p.poll)
	if targetP99 > 0 {
		text += fmt.Sprintf("  target p99 < %s: %s", targetP99, verdict(len(p.detLat) > 0 && p.detMissed == 0 && pct(p.detLat, .99) < targetP99))
	}
	row("detection latency p50/p99/max", "%s", text)
	if srv.cmd != nil {
		row("server CPU", "%.1f s  (%.1f cores; %.1f µs per event)", p.serverCPU.Seconds(), p.serverCPU.Seconds()/p.elapsed.Seconds(), float64(p.serverCPU.Microseconds())/math.Max(1, float64(p.acked)))
	}
	if p.serverWait > 0 {
		row("server run-queue wait", "%.1f s  (%.1f threads on average runnable but not running: CPU starvation by other load)", p.serverWait.Seconds(), p.serverWait.Seconds()/p.elapsed.Seconds())
	}
	label := "load generator CPU"
	if srv.cancel != nil {
		label = "process CPU (server + load generator)"
	}
	row(label, "%.1f s  (%.1f cores; %s sent)", p.clientCPU.Seconds(), p.clientCPU.Seconds()/p.elapsed.Seconds(), p.wireBytes)
	row("load average at end", "%s  (at start %s)", loadavg(), p.loadAtStart)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
