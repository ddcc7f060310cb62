package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/client"
	"github.com/vigilsoc/vigil/internal/event"
)

// stream sends numbered batches of events from several senders, each batch
// retried until the server acknowledges it, and records which batches were
// acknowledged. Every event has an explicit id; every matchEvery-th event
// is the 3CX shell on a host of its own, so it must raise an alert of its
// own.
type stream struct {
	runID      string
	batches    int
	batchSize  int
	matchEvery int
	senders    int
	base       time.Time

	acked    atomic.Int64
	inFlight atomic.Int64
	mu       sync.Mutex
	ackedSet map[int]bool
	errs     []error
	wg       sync.WaitGroup
}

func newStream(runID string, batches, batchSize int) *stream {
	return &stream{
		runID: runID, batches: batches, batchSize: batchSize, matchEvery: 25, senders: 2,
		base: time.Now().UTC().Truncate(time.Second), ackedSet: map[int]bool{},
	}
}

func (st *stream) eventID(k int) string { return fmt.Sprintf("%s-%07d", st.runID, k) }

func (st *stream) matchHost(k int) string { return fmt.Sprintf("%s-hit-%07d", st.runID, k) }

func (st *stream) batch(b int) []*event.Event {
	evs := make([]*event.Event, st.batchSize)
	for i := range evs {
		k := b*st.batchSize + i
		ev := shellEvent(st.runID+"-bg", st.base.Add(time.Duration(k)*time.Millisecond))
		if k%st.matchEvery == 0 {
			ev.Host = st.matchHost(k)
		} else {
			ev.Fields[1].Value = event.S(`C:\Windows\explorer.exe`)
		}
		ev.ID = st.eventID(k)
		ev.Fields = append(ev.Fields,
			event.Field{Name: "RunID", Value: event.S(st.runID)},
			event.Field{Name: "Seq", Value: event.N(float64(k))})
		evs[i] = ev
	}
	return evs
}

// start sends every batch through c; each sender takes every senders-th
// batch in order and retries it until it is acknowledged or ctx ends.
func (st *stream) start(ctx context.Context, c *client.Client) {
	for w := range st.senders {
		st.wg.Go(func() {
			for b := w; b < st.batches; b += st.senders {
				st.inFlight.Add(1)
				res, err := c.PostEvents(ctx, st.batch(b))
				st.inFlight.Add(-1)
				st.mu.Lock()
				if err != nil {
					st.errs = append(st.errs, fmt.Errorf("batch %d: %w", b, err))
					st.mu.Unlock()
					return
				}
				if res.Accepted != st.batchSize || len(res.Rejected) != 0 {
					st.errs = append(st.errs, fmt.Errorf("batch %d: answer %+v", b, res))
				}
				st.ackedSet[b] = true
				st.mu.Unlock()
				st.acked.Add(1)
			}
		})
	}
}

// waitAcked waits until n batches are acknowledged and one is in flight,
// so that the server is stopped mid-stream.
func (st *stream) waitAcked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * startDeadline)
	for st.acked.Load() < int64(n) || st.inFlight.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d batches acknowledged after %v; want %d", st.acked.Load(), 2*startDeadline, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (st *stream) wait(t *testing.T) {
	t.Helper()
	st.wg.Wait()
	for _, err := range st.errs {
		t.Error(err)
	}
	if len(st.ackedSet) != st.batches {
		t.Fatalf("%d of %d batches acknowledged", len(st.ackedSet), st.batches)
	}
}

// verify checks that every acknowledged event is stored exactly once and
// every alert the acknowledged events should raise exists.
func (st *stream) verify(t *testing.T, s *vigilServer) {
	t.Helper()
	ids, total := s.eventIDs(t, "RunID:"+st.runID)
	want := st.batches * st.batchSize
	if total != int64(want) || len(ids) != want {
		t.Errorf("stored %d events (total %d), want %d", len(ids), total, want)
	}
	seen := make(map[string]int, len(ids))
	for _, id := range ids {
		seen[id]++
	}
	var missing, dup []string
	for b := range st.batches {
		if !st.ackedSet[b] {
			continue
		}
		for i := range st.batchSize {
			id := st.eventID(b*st.batchSize + i)
			switch seen[id] {
			case 0:
				missing = append(missing, id)
			case 1:
			default:
				dup = append(dup, id)
			}
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d acknowledged events lost, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
	if len(dup) > 0 {
		t.Errorf("%d events stored more than once, e.g. %v", len(dup), dup[:min(5, len(dup))])
	}

	var wantHosts []string
	for k := 0; k < want; k += st.matchEvery {
		wantHosts = append(wantHosts, st.matchHost(k))
	}
	var gotHosts []string
	recounted := 0
	for _, a := range s.alerts(t, url.Values{"rule_id": {ruleShell}}) {
		if a.Host == st.runID+"-bg" {
			t.Errorf("alert on a host with no matching event: %+v", a)
			continue
		}
		gotHosts = append(gotHosts, a.Host)
		if a.Count != 1 {
			recounted++
		}
	}
	slices.Sort(gotHosts)
	if !slices.Equal(gotHosts, wantHosts) {
		var lost []string
		for _, h := range wantHosts {
			if _, ok := slices.BinarySearch(gotHosts, h); !ok {
				lost = append(lost, h)
			}
		}
		t.Errorf("alerts on %d hosts, want %d; missing e.g. %v", len(gotHosts), len(wantHosts), lost[:min(5, len(lost))])
	}
	if recounted > 0 {
		// A batch whose alerts were written but whose answer was lost in
		// the crash is detected again on retry, and the deduplicated
		// alert counts the event twice. Reported, not failed: the alert
		// exists, which is what the guarantee is about.
		t.Logf("%d alerts count a retried event twice", recounted)
	}
}

// TestCrashSafety kills the server with SIGKILL twice while a client
// streams batches, restarts it on the same data, and checks that nothing
// acknowledged was lost and nothing was stored twice.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: kills and restarts the server; runs without -short")
	}
	s := startServer(t, serverOpts{Rules: []string{fixture("rules")}})
	st := newStream("crash", 40, 500)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	c, err := client.New(client.Config{
		BaseURL: s.URL, Token: s.Token, CAFile: s.CAFile, Timeout: time.Minute,
		RetryMin: 50 * time.Millisecond, RetryMax: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	st.start(ctx, c)
	for _, after := range []int{6, 20} {
		st.waitAcked(t, after)
		if code := s.signal(t, syscall.SIGKILL); code != -1 {
			t.Errorf("after SIGKILL exit code %d, want -1 (killed)", code)
		}
		t.Logf("killed the server with %d batches acknowledged", st.acked.Load())
		s = s.restart(t)
	}
	st.wait(t)
	st.verify(t, s)
}

// TestGracefulShutdown stops the server with SIGTERM during ingest: it must
// exit 0 having finished what it acknowledged, and after a restart every
// acknowledged batch is stored.
func TestGracefulShutdown(t *testing.T) {
	s := startServer(t, serverOpts{Rules: []string{fixture("rules")}})
	st := newStream("term", 16, 500)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	c, err := client.New(client.Config{
		BaseURL: s.URL, Token: s.Token, CAFile: s.CAFile, Timeout: time.Minute,
		RetryMin: 50 * time.Millisecond, RetryMax: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	st.start(ctx, c)
	st.waitAcked(t, 4)
	if code := s.signal(t, syscall.SIGTERM); code != 0 {
		t.Errorf("after SIGTERM exit code %d, want 0\nstderr:\n%s", code, tail(s.stderr.String(), 4000))
	}
	ackedAtStop := st.acked.Load()
	s = s.restart(t)
	st.wait(t)
	if ackedAtStop >= int64(st.batches) {
		t.Logf("every batch was acknowledged before the server stopped; the restart was not exercised")
	}
	st.verify(t, s)
}
