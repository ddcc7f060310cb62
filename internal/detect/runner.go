package detect

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/correlate"
	"github.com/vigilsoc/vigil/internal/sigma/engine"
)

// Config configures a Runner.
type Config struct {
	// Rules is the loaded rule collection (detection rules, correlations,
	// filters).
	Rules *sigma.Collection
	// Placeholders give values to %name% placeholders of expand modifiers.
	Placeholders map[string][]string
	// MinLevel drops detections below this level.
	MinLevel Level
	// RuleIDs, when not empty, keeps only detections of these rule ids or
	// names (correlations included).
	RuleIDs []string
	// Explain computes the matched field names for each detection.
	Explain bool
	// CategoryMatches relates rule categories to event categories beyond
	// equality (registry_event covers registry_set, ...); nil means equality.
	CategoryMatches func(ruleCategory, eventCategory string) bool
	// Profile records per-rule evaluation counts and time (Engine().Profile()).
	Profile bool
	// Correlation bounds the correlation runtime's memory.
	Correlation correlate.Config
	Logger      *slog.Logger
}

// Runner runs the Sigma engine and the correlation runtime over events.
//
// Match may be called from many goroutines. Correlation needs events in time
// order, which concurrent callers cannot promise, so Match only records the
// matches of rules that correlations reference (bounded by what matched, not
// by the events read); Flush then replays them in time order through the
// correlation runtime. The server, which sees events roughly in order, calls
// Flush after every batch.
type Runner struct {
	cfg     Config
	engine  *engine.Engine
	corr    *correlate.Engine
	ruleIDs map[string]bool
	levels  map[*sigma.Rule]Level
	// suppressed: rules referenced by a correlation without generate, whose
	// own matches are evidence, not detections.
	suppressed map[*sigma.Rule]bool
	referenced map[*sigma.Rule]bool

	mu      sync.Mutex
	pending []pendingMatch
	seq     uint64
}

type pendingMatch struct {
	rule *sigma.Rule
	ev   *event.Event
	seq  uint64
}

// New compiles the rules. Rules that do not compile are returned as errors
// and left out; the rest run.
func New(cfg Config) (*Runner, []sigma.FileError, error) {
	if cfg.Rules == nil {
		cfg.Rules = &sigma.Collection{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	eng, errs := engine.New(engine.Config{Placeholders: cfg.Placeholders, CategoryMatches: cfg.CategoryMatches, Profile: cfg.Profile, Logger: cfg.Logger}, cfg.Rules)
	if cfg.Correlation.Logger == nil {
		cfg.Correlation.Logger = cfg.Logger
	}
	corr, err := correlate.New(cfg.Correlation, cfg.Rules.Correlations)
	if err != nil {
		return nil, errs, fmt.Errorf("correlation rules: %w", err)
	}
	r := &Runner{
		cfg: cfg, engine: eng, corr: corr,
		levels:     map[*sigma.Rule]Level{},
		suppressed: map[*sigma.Rule]bool{},
		referenced: map[*sigma.Rule]bool{},
	}
	if len(cfg.RuleIDs) > 0 {
		r.ruleIDs = map[string]bool{}
		for _, id := range cfg.RuleIDs {
			r.ruleIDs[id] = true
		}
	}
	for _, rule := range eng.Rules() {
		lvl, _ := ParseLevel(rule.Level)
		r.levels[rule] = lvl
		generate, referenced := corr.Referenced(rule.ID, rule.Name)
		if referenced {
			r.referenced[rule] = true
			r.suppressed[rule] = !generate
		}
	}
	return r, errs, nil
}

// Engine returns the compiled Sigma engine.
func (r *Runner) Engine() *engine.Engine { return r.engine }

// Match runs the rules over ev and calls emit for each Sigma detection that
// passes the level and rule filters. ev must not change afterwards: matches
// of correlated rules keep it until Flush.
func (r *Runner) Match(ev *event.Event, emit func(*Detection)) {
	r.engine.Match(ev, func(rule *sigma.Rule) {
		if r.referenced[rule] {
			r.mu.Lock()
			r.seq++
			r.pending = append(r.pending, pendingMatch{rule: rule, ev: ev, seq: r.seq})
			r.mu.Unlock()
			if r.suppressed[rule] {
				return
			}
		}
		lvl := r.levels[rule]
		if lvl < r.cfg.MinLevel || !r.wanted(rule.ID, rule.Name) {
			return
		}
		d := &Detection{
			Kind: KindSigma, RuleID: ruleKey(rule.ID, rule.Name, rule.Title), RuleTitle: rule.Title,
			Level: lvl, Tags: rule.Tags, Event: ev,
		}
		if r.cfg.Explain {
			d.Matched = r.engine.Explain(rule, ev)
		}
		emit(d)
	})
}

// Flush feeds the recorded matches of correlated rules, in event-time order,
// through the correlation runtime and calls emit for each correlation that
// fires. It must not run concurrently with itself.
func (r *Runner) Flush(emit func(*Detection)) {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	sort.Slice(pending, func(i, j int) bool {
		ti, tj := pending[i].ev.Time, pending[j].ev.Time
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return pending[i].seq < pending[j].seq
	})
	for _, p := range pending {
		r.corr.Observe(p.rule.ID, p.rule.Name, p.ev, func(a correlate.Alert) {
			if d := r.correlationDetection(a); d != nil {
				emit(d)
			}
		})
	}
}

func (r *Runner) correlationDetection(a correlate.Alert) *Detection {
	c := a.Rule
	lvl, _ := ParseLevel(c.Level)
	if lvl < r.cfg.MinLevel || !r.wanted(c.ID, c.Name) {
		return nil
	}
	d := &Detection{
		Kind: KindCorrelation, RuleID: ruleKey(c.ID, c.Name, c.Title), RuleTitle: c.Title, Level: lvl, Tags: c.Tags,
		Group: a.Group, Count: a.Count, Value: a.Value, First: a.First, Last: a.Last, Events: a.Events,
	}
	if n := len(a.Events); n > 0 {
		d.Event = a.Events[n-1]
	}
	return d
}

// Advance closes correlation windows that end before now, on the events'
// clock, and emits what they decide (conditions with an upper bound, such as
// "fewer than 5", are decided only when their window closes). At the end of
// finite input, call it with a time after the last event.
func (r *Runner) Advance(now time.Time, emit func(*Detection)) {
	r.corr.Advance(now, func(a correlate.Alert) {
		if d := r.correlationDetection(a); d != nil {
			emit(d)
		}
	})
}

// Correlations returns the correlation runtime, for state persistence.
func (r *Runner) Correlations() *correlate.Engine { return r.corr }

func (r *Runner) wanted(id, name string) bool {
	return r.ruleIDs == nil || r.ruleIDs[id] || (name != "" && r.ruleIDs[name])
}

// ruleKey is the id detections carry: the rule's id, else its name, else
// its title (rules without ids exist in the wild).
func ruleKey(id, name, title string) string {
	switch {
	case id != "":
		return id
	case name != "":
		return name
	}
	return title
}
