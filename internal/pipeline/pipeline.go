// Package pipeline is the server's path from accepted events to stored events
// and alerts: it gives events ids, runs detection, writes events durably
// (group-committing concurrent batches into one store write), raises alerts,
// and only then acknowledges the batch. A sender that retries until it is
// acknowledged therefore loses nothing, and the ids make the retry store
// nothing twice.
//
// It depends on the store interfaces and the detection runner, not on HTTP.
package pipeline

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/zeebo/xxh3"

	"github.com/vigilsoc/vigil/internal/detect"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/store"
)

// ErrBusy means the pipeline holds as many events as it may; the caller
// should retry later (HTTP 429).
var ErrBusy = errors.New("pipeline: at capacity, retry later")

// ErrClosed means the pipeline is shutting down.
var ErrClosed = errors.New("pipeline: closed")

// Detector is what the pipeline needs of the detection runner. Current
// returns the runner in force; rules reload by swapping it.
type Detector interface {
	Current() *detect.Runner
}

// Config configures a Pipeline.
type Config struct {
	Events   store.EventStore
	State    store.StateStore
	Detector Detector
	// MaxInFlight bounds the events accepted but not yet acknowledged;
	// beyond it Submit answers ErrBusy. Default 200,000.
	MaxInFlight int
	// MaxBatch bounds one group commit. Default 20,000 events.
	MaxBatch int
	// DedupWindow merges repeats of a rule on a host into one open alert.
	// Default 1h; negative turns deduplication off.
	DedupWindow time.Duration
	Logger      *slog.Logger
	Registerer  prometheus.Registerer
}

// Pipeline accepts batches of events. Submit may be called concurrently.
type Pipeline struct {
	cfg    Config
	log    *slog.Logger
	queue  chan *batch
	mu     sync.Mutex // guards inFlight and closed
	inFlig int
	closed bool
	corrMu sync.Mutex // correlation runs one batch at a time
	done   chan struct{}
	m      metrics
}

type batch struct {
	events []*event.Event
	dets   []*detect.Detection // the events' detections, recorded with them
	done   chan error
}

// New returns a Pipeline; Run must be running for Submit to complete.
func New(cfg Config) *Pipeline {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 200_000
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 20_000
	}
	if cfg.DedupWindow == 0 {
		cfg.DedupWindow = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{cfg: cfg, log: cfg.Logger, queue: make(chan *batch, 1024), done: make(chan struct{})}
	p.m = newMetrics(cfg.Registerer, p)
	return p
}

// Result says what happened to a submitted batch.
type Result struct {
	// Accepted events are durably stored (now or by an earlier delivery).
	Accepted int
	// Alerts raised or updated by the batch.
	Alerts int
}

// Submit detects over events, stores them durably and records their alerts,
// then returns. Events without an ID get one derived from their content, so
// a retried batch is recognised. On error nothing is acknowledged: the
// caller must retry the whole batch (events already stored are skipped).
func (p *Pipeline) Submit(ctx context.Context, events []*event.Event) (Result, error) {
	if len(events) == 0 {
		return Result{}, nil
	}
	if err := p.acquire(len(events)); err != nil {
		p.m.rejectedBusy.Add(float64(len(events)))
		return Result{}, err
	}
	defer p.release(len(events))
	p.m.received.Add(float64(len(events)))

	now := time.Now().UTC()
	for _, ev := range events {
		// The id comes from the event as sent, before the receive time
		// fills a missing timestamp: a retry must get the same id.
		if ev.ID == "" {
			ev.ID = ContentID(ev)
		}
		if ev.Time.IsZero() {
			ev.Time = now
		}
	}

	// Detection before storage: alerts are written before the batch is
	// acknowledged, so a crash in between leaves an unacknowledged batch
	// whose retry detects again.
	start := time.Now()
	runner := p.cfg.Detector.Current()
	dets := match(runner, events)
	emit := func(d *detect.Detection) { dets = append(dets, d) }
	p.corrMu.Lock()
	runner.Flush(emit)
	p.corrMu.Unlock()
	p.m.detectSeconds.Observe(time.Since(start).Seconds())

	b := &batch{events: events, dets: dets, done: make(chan error, 1)}
	select {
	case p.queue <- b:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-p.done:
		return Result{}, ErrClosed
	}
	select {
	case err := <-b.done:
		if err != nil {
			return Result{}, err
		}
	case <-ctx.Done():
		// The write may still complete; the sender retries and the ids
		// make that harmless.
		return Result{}, ctx.Err()
	case <-p.done:
		// Closing: the writer drains the queue, but whether this batch
		// made it is not known here, so it is not acknowledged.
		return Result{}, ErrClosed
	}

	return Result{Accepted: len(events), Alerts: countAlerts(dets)}, nil
}

// countAlerts is how many alerts dets raise or update: one per rule and
// host.
func countAlerts(dets []*detect.Detection) int {
	if len(dets) == 0 {
		return 0
	}
	seen := make(map[alertKey]struct{}, len(dets))
	for _, d := range dets {
		seen[keyOf(d)] = struct{}{}
	}
	return len(seen)
}

func (p *Pipeline) acquire(n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	// A batch larger than the whole budget is let through alone, else it
	// could never be accepted.
	if p.inFlig > 0 && p.inFlig+n > p.cfg.MaxInFlight {
		return ErrBusy
	}
	p.inFlig += n
	return nil
}

func (p *Pipeline) release(n int) {
	p.mu.Lock()
	p.inFlig -= n
	p.mu.Unlock()
}

// InFlight returns the events accepted but not yet acknowledged.
func (p *Pipeline) InFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlig
}

// Run writes queued batches until ctx ends or Close is called, grouping
// whatever is queued into one durable store write followed by one write of
// the group's alerts; a batch is acknowledged only when both succeeded.
func (p *Pipeline) Run(ctx context.Context) {
	for {
		var first *batch
		select {
		case first = <-p.queue:
		case <-ctx.Done():
			p.drain(ErrClosed)
			return
		case <-p.done:
			p.drain(ErrClosed)
			return
		}
		group := []*batch{first}
		total := len(first.events)
	collect:
		for total < p.cfg.MaxBatch {
			select {
			case b := <-p.queue:
				group = append(group, b)
				total += len(b.events)
			default:
				break collect
			}
		}
		all := make([]*event.Event, 0, total)
		for _, b := range group {
			all = append(all, b.events...)
		}
		start := time.Now()
		stored, err := p.cfg.Events.AppendEvents(context.WithoutCancel(ctx), all)
		p.m.writeSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			p.log.Error("storing events failed; the batches are not acknowledged", "events", total, "err", err)
			p.m.storeErrors.Inc()
		} else {
			p.m.stored.Add(float64(stored))
			p.m.duplicates.Add(float64(total - stored))
			// The group's alerts are recorded together, after its events
			// and before any of its batches is acknowledged: repeats of a
			// rule on a host across the group's batches become one
			// upsert, in one transaction.
			var dets []*detect.Detection
			for _, b := range group {
				dets = append(dets, b.dets...)
			}
			if _, err = p.raise(ctx, dets); err != nil {
				p.log.Error("recording alerts failed; the batches are not acknowledged", "events", total, "err", err)
				p.m.storeErrors.Inc()
				err = fmt.Errorf("recording alerts: %w", err)
			}
		}
		for _, b := range group {
			b.done <- err
		}
	}
}

func (p *Pipeline) drain(err error) {
	for {
		select {
		case b := <-p.queue:
			b.done <- err
		default:
			return
		}
	}
}

// Close stops accepting batches; batches already queued fail with ErrClosed
// unless Run writes them first. Callers stop the HTTP server before Close so
// that in-flight requests finish.
func (p *Pipeline) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.done)
	}
	p.mu.Unlock()
}

// alertKey is what a batch's detections merge by before the store's own
// deduplication.
type alertKey struct{ rule, host string }

func keyOf(d *detect.Detection) alertKey {
	if d.Event != nil {
		return alertKey{d.RuleID, d.Event.Host}
	}
	return alertKey{d.RuleID, ""}
}

// raise turns detections into alerts, merging a batch's repeats of one rule
// on one host into one upsert.
func (p *Pipeline) raise(ctx context.Context, dets []*detect.Detection) (int, error) {
	if len(dets) == 0 {
		return 0, nil
	}
	merged := map[alertKey]*store.Alert{}
	var order []alertKey
	hits := map[string]int64{}
	for _, d := range dets {
		hits[d.RuleID]++
		k := keyOf(d)
		a := merged[k]
		if a == nil {
			a = alertFor(d)
			merged[k] = a
			order = append(order, k)
			continue
		}
		a.Count++
		if t := d.Time(); t.Before(a.Time) {
			a.Time = t
		}
		if d.Event != nil && len(a.EventIDs) < store.MaxAlertEventIDs {
			a.EventIDs = append(a.EventIDs, d.Event.ID)
		}
	}
	ctx = context.WithoutCancel(ctx) // half-written alerts help nobody
	window := p.cfg.DedupWindow
	if window < 0 {
		window = 0
	}
	// One transaction for the batch's alerts: a commit per (rule, host)
	// was most of the cost of an alert-heavy batch.
	alerts := make([]store.Alert, len(order))
	for i, k := range order {
		alerts[i] = *merged[k]
	}
	created, err := p.cfg.State.UpsertAlerts(ctx, alerts, window)
	if err != nil {
		return 0, err
	}
	p.m.alertsRaised.Add(float64(created))
	if err := p.cfg.State.IncrementRuleHits(ctx, hits, time.Now().UTC()); err != nil {
		return 0, err
	}
	return len(order), nil
}

// parallelMatchMin is the smallest batch whose matching is split across
// cores: below it the goroutines cost more than they save.
const parallelMatchMin = 256

// match runs the rules over events, on every core for a large batch (an
// HTTP request is one goroutine, so a large batch would otherwise wait on
// one core), and returns the detections in event order.
func match(runner *detect.Runner, events []*event.Event) []*detect.Detection {
	workers := runtime.GOMAXPROCS(0)
	if len(events) < parallelMatchMin || workers < 2 {
		var dets []*detect.Detection
		emit := func(d *detect.Detection) { dets = append(dets, d) }
		for _, ev := range events {
			runner.Match(ev, emit)
		}
		return dets
	}
	chunk := (len(events) + workers - 1) / workers
	parts := make([][]*detect.Detection, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo := min(w*chunk, len(events))
		hi := min(lo+chunk, len(events))
		wg.Go(func() {
			emit := func(d *detect.Detection) { parts[w] = append(parts[w], d) }
			for _, ev := range events[lo:hi] {
				runner.Match(ev, emit)
			}
		})
	}
	wg.Wait()
	var dets []*detect.Detection
	for _, p := range parts {
		dets = append(dets, p...)
	}
	return dets
}

func alertFor(d *detect.Detection) *store.Alert {
	a := &store.Alert{
		RuleID: d.RuleID, RuleTitle: d.RuleTitle, Level: d.Level.String(), Tags: d.Tags,
		Time: d.Time(), Count: 1, Matched: d.Matched, Source: store.SourceSigma,
	}
	if d.Kind == detect.KindCorrelation {
		a.Source = store.SourceCorrelation
		if d.Count > 0 {
			a.Details = correlationDetails(d)
		}
	}
	if d.Event != nil {
		a.Host = d.Event.Host
		a.EventIDs = []string{d.Event.ID}
	}
	for _, ev := range d.Events {
		if ev != d.Event && len(a.EventIDs) < store.MaxAlertEventIDs {
			a.EventIDs = append(a.EventIDs, ev.ID)
		}
	}
	return a
}

func correlationDetails(d *detect.Detection) []byte {
	group := event.MarshalFields(d.Group)
	return fmt.Appendf(nil, `{"count":%d,"value":%g,"first":%q,"last":%q,"group":%s}`,
		d.Count, d.Value, d.First.UTC().Format(time.RFC3339Nano), d.Last.UTC().Format(time.RFC3339Nano), group)
}

// ContentID derives an event id from its content: time, host, logsource and
// fields. Two deliveries of the same event get the same id; two events that
// differ in anything get different ids. Senders that can name their events
// (a record number, a sequence) should send "id" themselves, because two
// genuinely separate events with identical content share a content id.
func ContentID(ev *event.Event) string {
	h := xxh3.New()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(ev.Time.UnixNano()))
	h.Write(buf[:])
	writeStr := func(s string) {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.WriteString(s)
	}
	writeStr(ev.Host)
	writeStr(ev.Logsource.Product)
	writeStr(ev.Logsource.Category)
	writeStr(ev.Logsource.Service)
	var writeVal func(v event.Value)
	writeVal = func(v event.Value) {
		h.Write([]byte{byte(v.Kind)})
		switch v.Kind {
		case event.List:
			binary.LittleEndian.PutUint64(buf[:], uint64(len(v.Items)))
			h.Write(buf[:])
			for _, it := range v.Items {
				writeVal(it)
			}
		case event.Number:
			if v.Str == "" {
				binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v.Num))
				h.Write(buf[:])
				return
			}
			writeStr(v.Str)
		default:
			writeStr(v.Str)
		}
	}
	for _, f := range ev.Fields {
		writeStr(f.Name)
		writeVal(f.Value)
	}
	sum := h.Sum128().Bytes()
	return hex.EncodeToString(sum[:])
}
