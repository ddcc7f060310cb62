// Package rules manages the server's live rule set: the rule directories
// named on the command line, rules uploaded through the API (kept as files in
// the data directory), and per-rule enable/disable settings. It rebuilds the
// detection runner when any of these change and swaps it in atomically, so
// events in flight finish on the old rules and the next batch uses the new.
// Correlation state moves from the old runner to the new one, and is saved
// to the state store so it survives restarts.
package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/vigilsoc/vigil/internal/atomicfile"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsoc/vigil/internal/detect"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/correlate"
	"github.com/vigilsoc/vigil/internal/store"
)

// Errors callers test for.
var (
	ErrNotFound = errors.New("rule not found")
	// ErrNotUploaded: only uploaded rules can be deleted; rules from a
	// directory are disabled instead.
	ErrNotUploaded = errors.New("rule comes from a rules directory, not an upload: disable it instead")
	// ErrInvalidRule: an upload that does not parse or compile.
	ErrInvalidRule = errors.New("invalid rule")
)

// stateKey is the blob under which correlation state is saved.
const stateKey = "correlation-state"

// Config configures a Manager.
type Config struct {
	// Paths are rule files or directories (the --rules flags).
	Paths []string
	// UploadDir keeps rules uploaded through the API, one file per rule.
	UploadDir string
	State     store.StateStore
	// Placeholders give values to expand placeholders.
	Placeholders map[string][]string
	// CategoryMatches relates rule and event categories beyond equality.
	CategoryMatches func(ruleCategory, eventCategory string) bool
	// Poll is how often the rule files are checked for changes; default 2s.
	Poll        time.Duration
	Correlation correlate.Config
	Logger      *slog.Logger
}

// Manager owns the live rule set. It is safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger
	cur atomic.Pointer[detect.Runner]

	mu       sync.Mutex // serialises reloads and guards the fields below
	coll     *sigma.Collection
	errs     []sigma.FileError
	finger   string
	disabled map[string]bool
	loadedAt time.Time
}

// New loads the rules and restores saved correlation state.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UploadDir != "" {
		if err := os.MkdirAll(cfg.UploadDir, 0o750); err != nil {
			return nil, fmt.Errorf("rule upload directory: %w", err)
		}
	}
	for _, p := range cfg.Paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("rules path: %w", err)
		}
	}
	m := &Manager{cfg: cfg, log: cfg.Logger}
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	if data, err := cfg.State.GetBlob(ctx, stateKey); err == nil {
		if err := m.Current().Correlations().RestoreState(data); err != nil {
			m.log.Warn("saved correlation state not restored; correlations start empty", "err", err)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("reading correlation state: %w", err)
	}
	return m, nil
}

// Current returns the runner in force.
func (m *Manager) Current() *detect.Runner { return m.cur.Load() }

// Run reloads when rule files change, and saves correlation state, until ctx
// ends; it saves the state once more on the way out.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	saveEvery := 15 * time.Second
	lastSave := time.Now()
	for {
		select {
		case <-ctx.Done():
			if err := m.SaveState(context.WithoutCancel(ctx)); err != nil {
				m.log.Error("saving correlation state", "err", err)
			}
			return
		case <-t.C:
		}
		if f := m.fingerprint(); f != m.currentFinger() {
			if err := m.Reload(ctx); err != nil {
				m.log.Error("reloading rules", "err", err)
			}
		}
		if time.Since(lastSave) >= saveEvery {
			lastSave = time.Now()
			if err := m.SaveState(ctx); err != nil {
				m.log.Error("saving correlation state", "err", err)
			}
		}
	}
}

// SaveState writes the correlation state to the state store.
func (m *Manager) SaveState(ctx context.Context) error {
	data, err := m.Current().Correlations().MarshalState()
	if err != nil {
		return err
	}
	return m.cfg.State.PutBlob(ctx, stateKey, data)
}

func (m *Manager) currentFinger() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.finger
}

// Reload reads every rule again and swaps in a new runner.
func (m *Manager) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	finger := m.fingerprint()
	paths := append([]string(nil), m.cfg.Paths...)
	if m.cfg.UploadDir != "" {
		paths = append(paths, m.cfg.UploadDir)
	}
	coll := sigma.LoadPaths(paths...)
	settings, err := m.cfg.State.RuleSettings(ctx)
	if err != nil {
		return fmt.Errorf("reading rule settings: %w", err)
	}
	disabled := map[string]bool{}
	for _, s := range settings {
		if !s.Enabled {
			disabled[s.RuleID] = true
		}
	}
	active := &sigma.Collection{Filters: coll.Filters}
	for _, r := range coll.Rules {
		if !disabled[key(r.ID, r.Name, r.Title)] {
			active.Rules = append(active.Rules, r)
		}
	}
	for _, c := range coll.Correlations {
		if !disabled[key(c.ID, c.Name, c.Title)] {
			active.Correlations = append(active.Correlations, c)
		}
	}
	runner, compileErrs, err := detect.New(detect.Config{
		Rules: active, Placeholders: m.cfg.Placeholders, Explain: true,
		CategoryMatches: m.cfg.CategoryMatches, Correlation: m.cfg.Correlation, Logger: m.log,
	})
	if err != nil {
		return err
	}
	if old := m.cur.Load(); old != nil {
		if data, err := old.Correlations().MarshalState(); err == nil {
			if err := runner.Correlations().RestoreState(data); err != nil {
				m.log.Warn("correlation state not carried over the reload", "err", err)
			}
		}
	}
	m.coll = coll
	m.errs = append(append([]sigma.FileError(nil), coll.Errors...), compileErrs...)
	m.finger = finger
	m.disabled = disabled
	m.loadedAt = time.Now()
	m.cur.Store(runner)
	m.log.Info("rules loaded", "rules", len(runner.Engine().Rules()), "correlations", len(active.Correlations),
		"disabled", len(disabled), "errors", len(m.errs))
	return nil
}

// fingerprint summarises the rule files' names, sizes and modification
// times; a change means a reload.
func (m *Manager) fingerprint() string {
	h := sha256.New()
	roots := append([]string(nil), m.cfg.Paths...)
	if m.cfg.UploadDir != "" {
		roots = append(roots, m.cfg.UploadDir)
	}
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !isRuleFile(path) {
				return nil
			}
			if info, err := d.Info(); err == nil {
				fmt.Fprintf(h, "%s\x00%d\x00%d\n", path, info.Size(), info.ModTime().UnixNano())
			}
			return nil
		})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func isRuleFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yml" || ext == ".yaml"
}

// key is how rules are named in settings and alerts: id, else name, else title.
func key(id, name, title string) string {
	switch {
	case id != "":
		return id
	case name != "":
		return name
	}
	return title
}

// Info describes one rule for the API.
type Info struct {
	ID          string          `json:"id"`
	Title       string          `json:"title"`
	Kind        string          `json:"kind"` // "rule" or "correlation"
	Level       string          `json:"level"`
	Status      string          `json:"status,omitempty"`
	Description string          `json:"description,omitempty"`
	Tags        []string        `json:"tags,omitempty"`
	Logsource   event.Logsource `json:"logsource"`
	References  []string        `json:"references,omitempty"`
	Path        string          `json:"path"`
	Uploaded    bool            `json:"uploaded"`
	Enabled     bool            `json:"enabled"`
	Hits        int64           `json:"hits"`
	LastHit     time.Time       `json:"last_hit,omitzero"`
}

// List describes every loaded rule, enabled or not, with its hit count.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	settings, err := m.cfg.State.RuleSettings(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]store.RuleSetting{}
	for _, s := range settings {
		byID[s.RuleID] = s
	}
	m.mu.Lock()
	coll := m.coll
	m.mu.Unlock()
	var out []Info
	add := func(in Info) {
		s, ok := byID[in.ID]
		in.Enabled = !ok || s.Enabled
		in.Hits, in.LastHit = s.Hits, s.LastHit
		in.Uploaded = m.isUploaded(in.Path)
		out = append(out, in)
	}
	for _, r := range coll.Rules {
		add(Info{ID: key(r.ID, r.Name, r.Title), Title: r.Title, Kind: "rule", Level: r.Level, Status: r.Status,
			Description: r.Description, Tags: r.Tags, Logsource: r.Logsource, References: r.References, Path: r.Path})
	}
	for _, c := range coll.Correlations {
		add(Info{ID: key(c.ID, c.Name, c.Title), Title: c.Title, Kind: "correlation", Level: c.Level, Status: c.Status,
			Description: c.Description, Tags: c.Tags, References: c.References, Path: c.Path})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Title < out[j].Title })
	return out, nil
}

// Get describes one rule.
func (m *Manager) Get(ctx context.Context, id string) (Info, error) {
	all, err := m.List(ctx)
	if err != nil {
		return Info{}, err
	}
	for _, in := range all {
		if in.ID == id {
			return in, nil
		}
	}
	return Info{}, ErrNotFound
}

// Errors returns the rule files that failed to load or compile.
func (m *Manager) Errors() []sigma.FileError {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]sigma.FileError(nil), m.errs...)
}

// SetEnabled enables or disables a rule and reloads.
func (m *Manager) SetEnabled(ctx context.Context, id string, enabled bool) error {
	if _, err := m.Get(ctx, id); err != nil {
		return err
	}
	if err := m.cfg.State.SetRuleEnabled(ctx, id, enabled); err != nil {
		return err
	}
	return m.Reload(ctx)
}

// Upload validates a rule file (one or more YAML documents), stores it in
// the upload directory under its first rule's id and reloads. It returns the
// rules the file holds.
func (m *Manager) Upload(ctx context.Context, data []byte) ([]Info, error) {
	if m.cfg.UploadDir == "" {
		return nil, errors.New("rule uploads are not configured")
	}
	coll := sigma.ParseFile("upload.yml", data)
	if len(coll.Errors) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRule, errors.Join(fileErrors(coll.Errors)...))
	}
	if _, compileErrs := detectCheck(coll, m.cfg.Placeholders); len(compileErrs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidRule, errors.Join(fileErrors(compileErrs)...))
	}
	var ids []string
	for _, r := range coll.Rules {
		ids = append(ids, key(r.ID, r.Name, r.Title))
	}
	for _, c := range coll.Correlations {
		ids = append(ids, key(c.ID, c.Name, c.Title))
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: the file holds no detection or correlation rule", ErrInvalidRule)
	}
	name := safeFileName(ids[0]) + ".yml"
	path := filepath.Join(m.cfg.UploadDir, name)
	if err := atomicfile.Write(path, data, 0o640); err != nil {
		return nil, err
	}
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	var out []Info
	for _, id := range ids {
		if in, err := m.Get(ctx, id); err == nil {
			out = append(out, in)
		}
	}
	return out, nil
}

// Delete removes an uploaded rule's file and reloads.
func (m *Manager) Delete(ctx context.Context, id string) error {
	in, err := m.Get(ctx, id)
	if err != nil {
		return err
	}
	if !in.Uploaded {
		return ErrNotUploaded
	}
	if err := os.Remove(in.Path); err != nil {
		return err
	}
	return m.Reload(ctx)
}

func (m *Manager) isUploaded(path string) bool {
	if m.cfg.UploadDir == "" {
		return false
	}
	rel, err := filepath.Rel(m.cfg.UploadDir, path)
	return err == nil && !strings.HasPrefix(rel, "..")
}

// safeFileName keeps a rule id usable as a file name inside the upload
// directory: ids come from the network.
func safeFileName(id string) string {
	var b strings.Builder
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 100 {
		s = s[:100]
	}
	if s == "" {
		s = "rule"
	}
	return s
}

func fileErrors(errs []sigma.FileError) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

func detectCheck(coll *sigma.Collection, placeholders map[string][]string) (*detect.Runner, []sigma.FileError) {
	r, errs, err := detect.New(detect.Config{Rules: coll, Placeholders: placeholders})
	if err != nil {
		errs = append(errs, sigma.FileError{Path: "upload.yml", Err: err})
	}
	return r, errs
}
