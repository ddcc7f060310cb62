// Package fieldmap provides the tables that turn source-specific events into
// Sigma's terms: Windows channel -> service, (channel, event id) -> category,
// field aliases (Security 4688 -> process_creation names, ECS -> Sigma,
// Auditbeat -> auditd), the Sigma -> ECS export table and Linux syscall
// names. The tables are YAML data files embedded in the binary (data/*.yaml,
// each naming its sources), so a mapping change is a data change, reviewable
// beside the spec it follows; New loads and validates them once, and the
// resulting *Mappings is read-only and safe for concurrent use.
//
// It depends only on the event model; readers (winevent, jsonl, auditd) use
// it, never the reverse.
package fieldmap

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed data/*.yaml
var embedded embed.FS

// The data files New reads.
const (
	WindowsFile  = "windows.yaml"
	ECSFile      = "ecs.yaml"
	AuditdFile   = "auditd.yaml"
	SyscallsFile = "syscalls.yaml"
)

// ErrInvalid is wrapped by every *TableError.
var ErrInvalid = errors.New("invalid mapping table")

// TableError reports a problem in a mapping file at a line.
type TableError struct {
	File string
	Line int
	Msg  string
}

func (e *TableError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *TableError) Unwrap() error { return ErrInvalid }

// Config says where the tables come from.
type Config struct {
	// FS holds the four data files at its root; nil means the embedded
	// defaults. Tests and operators with site-specific channels use it.
	FS fs.FS
}

// Mappings is the loaded, validated set of tables. The zero value is not
// usable; build one with New.
type Mappings struct {
	channels        []ChannelRule
	channelExact    map[string]int // lower-cased channel -> index in channels
	channelPrefixes []int          // indexes of "prefix/*" rules
	providerChannel map[string]int // lower-cased provider -> index in channels
	categories      []CategoryRule
	categoryIndex   map[categoryKey][]int
	parents         map[string][]string // parent category -> children
	winAliases      []AliasSet

	ecsProducts   []ProductRule
	ecsCategories []ECSCategoryRule
	ecsFields     []Alias
	export        []ExportRule

	auditdEncoded   map[string]bool
	auditdLogsource LogsourceSpec
	auditbeat       []Alias

	syscalls map[string]map[int]string // audit arch (lower-case hex) -> number -> name
}

type categoryKey struct {
	source  string // lower-cased channel or provider
	eventID int
}

// LogsourceSpec is a logsource as written in the tables.
type LogsourceSpec struct {
	Product  string `yaml:"product"`
	Category string `yaml:"category"`
	Service  string `yaml:"service"`
}

// ChannelRule routes a Windows channel to a Sigma service (and product).
type ChannelRule struct {
	// Channel is matched without case; "X/*" matches every channel
	// starting with "X/".
	Channel string `yaml:"channel"`
	// Providers are the event providers whose events count as this
	// channel's when an event carries no channel (flat JSON events often
	// name only Provider_Name).
	Providers []string `yaml:"providers"`
	// Product defaults to "windows".
	Product string `yaml:"product"`
	Service string `yaml:"service"`
	Line    int    `yaml:"-"`
}

// CategoryRule gives events of a channel (or provider) and event ids a
// Sigma category, optionally only when fields hold given values.
type CategoryRule struct {
	Channel  string              `yaml:"channel"`
	Provider string              `yaml:"provider"`
	EventIDs []int               `yaml:"event_ids"`
	When     map[string][]string `yaml:"when"`
	Category string              `yaml:"category"`
	Line     int                 `yaml:"-"`
}

// AliasSet is a group of aliases that apply to Windows events of a channel
// or provider (and event ids, when given).
type AliasSet struct {
	Name     string  `yaml:"name"`
	Channel  string  `yaml:"channel"`
	Provider string  `yaml:"provider"`
	EventIDs []int   `yaml:"event_ids"`
	Fields   []Alias `yaml:"fields"`
	Line     int     `yaml:"-"`
}

// Alias adds one field computed from others. Exactly one of From, Template,
// Join, JoinNumbered, Prefix and Spread says how.
type Alias struct {
	// Name is the field to add. For Prefix it is prepended to the rest of
	// the name; for Spread it is the stem of Name0, Name1, ...
	Name string `yaml:"name"`
	// From copies a field; "list[].key" collects key from each object in
	// the list field.
	From string `yaml:"from"`
	// Values translates From's text; a value not listed is kept as it is.
	Values map[string]string `yaml:"values"`
	// Transform is "upper" or "lower", applied to From's text, or "number",
	// which makes a decimal text a number (Winlogbeat writes event ids as
	// text; EVTX and Sysmon give numbers, and every source should agree).
	Transform string `yaml:"transform"`
	// Template builds text from {Field} references; the alias is skipped
	// when any of them is missing or empty.
	Template string `yaml:"template"`
	// Join builds "LABEL=value" parts of the fields present, joined by Sep.
	Join []JoinPart `yaml:"join"`
	// JoinNumbered joins the values of P1, P2, ... for each prefix P (the
	// first prefix with any such field), in number order, with Sep.
	JoinNumbered []string `yaml:"join_numbered"`
	Sep          string   `yaml:"sep"`
	// Prefix adds, for every field named Prefix+rest, the field Name+rest.
	Prefix string `yaml:"prefix"`
	// Spread turns the list field Spread into Name0, Name1, ...
	Spread string `yaml:"spread"`
	// Categories restricts the alias to events of these categories.
	Categories []string `yaml:"categories"`
	// Override replaces a field of the same name instead of yielding to it.
	Override bool `yaml:"override"`
	Line     int  `yaml:"-"`
}

// JoinPart is one labelled part of a Join alias.
type JoinPart struct {
	Label string `yaml:"label"`
	From  string `yaml:"from"`
}

// ProductRule derives the Sigma product from an ECS field's value.
type ProductRule struct {
	Field  string            `yaml:"field"`
	Values map[string]string `yaml:"values"`
	Line   int               `yaml:"-"`
}

// ECSCategoryRule derives a Sigma category from ECS event.category and
// event.type (and a field that must be present).
type ECSCategoryRule struct {
	EventCategory string `yaml:"event_category"`
	EventType     string `yaml:"event_type"`
	Has           string `yaml:"has"`
	Category      string `yaml:"category"`
	Line          int    `yaml:"-"`
}

// ExportRule maps a Sigma field to its ECS name, for export.
type ExportRule struct {
	Sigma      string   `yaml:"sigma"`
	ECS        string   `yaml:"ecs"`
	Categories []string `yaml:"categories"`
	Line       int      `yaml:"-"`
}

// New loads and validates the tables, reporting every problem found (as
// *TableError values joined together), not only the first.
func New(cfg Config) (*Mappings, error) {
	fsys := cfg.FS
	if fsys == nil {
		sub, err := fs.Sub(embedded, "data")
		if err != nil {
			return nil, fmt.Errorf("fieldmap: embedded data: %w", err)
		}
		fsys = sub
	}
	m := &Mappings{}
	var errs []error
	l := loader{fsys: fsys, errs: &errs}
	l.windows(m)
	l.ecs(m)
	l.auditd(m)
	l.syscalls(m)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return m, nil
}

type loader struct {
	fsys fs.FS
	errs *[]error
}

func (l loader) fail(file string, line int, format string, args ...any) {
	*l.errs = append(*l.errs, &TableError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// root reads a file and returns its top-level mapping keys.
func (l loader) root(file string) map[string]*yaml.Node {
	data, err := fs.ReadFile(l.fsys, file)
	if err != nil {
		*l.errs = append(*l.errs, fmt.Errorf("fieldmap: %w", err))
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.fail(file, 0, "%v", err)
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		l.fail(file, 0, "want a mapping at the top")
		return nil
	}
	top := doc.Content[0]
	keys := map[string]*yaml.Node{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		keys[top.Content[i].Value] = top.Content[i+1]
	}
	return keys
}

// items decodes each element of a sequence node into a T, recording its line
// through setLine.
func items[T any](l loader, file, key string, n *yaml.Node, setLine func(*T, int)) []T {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.fail(file, n.Line, "%s: want a list", key)
		return nil
	}
	out := make([]T, 0, len(n.Content))
	for _, c := range n.Content {
		var v T
		if err := decodeStrict(c, &v); err != nil {
			l.fail(file, c.Line, "%s: %v", key, err)
			continue
		}
		setLine(&v, c.Line)
		out = append(out, v)
	}
	return out
}

// decodeStrict decodes a node, rejecting keys the target does not have, so
// a misspelt key in a table is an error rather than a silently ignored rule.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	return dec.Decode(v)
}

func (l loader) windows(m *Mappings) {
	const f = WindowsFile
	keys := l.root(f)
	if keys == nil {
		return
	}
	m.channels = items(l, f, "channels", keys["channels"], func(r *ChannelRule, line int) { r.Line = line })
	m.channelExact = map[string]int{}
	m.providerChannel = map[string]int{}
	for i := range m.channels {
		r := &m.channels[i]
		if r.Product == "" {
			r.Product = "windows"
		}
		for _, p := range r.Providers {
			k := strings.ToLower(p)
			if prev, dup := m.providerChannel[k]; dup {
				l.fail(f, r.Line, "provider %q already mapped at line %d", p, m.channels[prev].Line)
				continue
			}
			m.providerChannel[k] = i
		}
		if r.Channel == "" || r.Service == "" {
			l.fail(f, r.Line, "channel rule needs channel and service")
			continue
		}
		if strings.HasSuffix(r.Channel, "/*") {
			m.channelPrefixes = append(m.channelPrefixes, i)
			continue
		}
		k := strings.ToLower(r.Channel)
		if prev, dup := m.channelExact[k]; dup {
			l.fail(f, r.Line, "channel %q already mapped at line %d", r.Channel, m.channels[prev].Line)
			continue
		}
		m.channelExact[k] = i
	}

	m.categories = items(l, f, "categories", keys["categories"], func(r *CategoryRule, line int) { r.Line = line })
	m.categoryIndex = map[categoryKey][]int{}
	for i, r := range m.categories {
		if (r.Channel == "") == (r.Provider == "") {
			l.fail(f, r.Line, "category rule needs exactly one of channel and provider")
			continue
		}
		if r.Category == "" || len(r.EventIDs) == 0 {
			l.fail(f, r.Line, "category rule needs category and event_ids")
			continue
		}
		src := strings.ToLower(r.Channel + r.Provider)
		for _, id := range r.EventIDs {
			k := categoryKey{src, id}
			// An unconditional rule ends the search; one after it for the
			// same key could never match.
			for _, j := range m.categoryIndex[k] {
				if len(m.categories[j].When) == 0 {
					l.fail(f, r.Line, "event id %d of %s is already categorised unconditionally at line %d", id, r.Channel+r.Provider, m.categories[j].Line)
				}
			}
			m.categoryIndex[k] = append(m.categoryIndex[k], i)
		}
	}

	m.parents = map[string][]string{}
	if n := keys["category_parents"]; n != nil {
		if err := n.Decode(&m.parents); err != nil {
			l.fail(f, n.Line, "category_parents: %v", err)
		}
	}

	m.winAliases = items(l, f, "aliases", keys["aliases"], func(r *AliasSet, line int) { r.Line = line })
	aliasLines(keys["aliases"], m.winAliases)
	for i := range m.winAliases {
		s := &m.winAliases[i]
		if (s.Channel == "") == (s.Provider == "") {
			l.fail(f, s.Line, "alias set %q needs exactly one of channel and provider", s.Name)
		}
		l.checkAliases(f, s.Fields, s.Line)
	}
	for k := range keys {
		if !slices.Contains([]string{"channels", "categories", "category_parents", "aliases"}, k) {
			l.fail(f, keys[k].Line, "unknown table %q", k)
		}
	}
}

func (l loader) checkAliases(file string, as []Alias, setLine int) {
	for i := range as {
		a := &as[i]
		if a.Line == 0 {
			a.Line = setLine
		}
		ways := 0
		for _, set := range []bool{a.From != "", a.Template != "", len(a.Join) > 0, len(a.JoinNumbered) > 0, a.Prefix != "", a.Spread != ""} {
			if set {
				ways++
			}
		}
		if ways != 1 {
			l.fail(file, a.Line, "alias %q needs exactly one of from, template, join, join_numbered, prefix, spread", a.Name)
		}
		if a.Name == "" && a.Prefix == "" {
			l.fail(file, a.Line, "alias needs a name")
		}
		if a.Template != "" && len(templateRefs(a.Template)) == 0 {
			l.fail(file, a.Line, "template %q references no {Field}", a.Template)
		}
		if a.Transform != "" && a.Transform != "upper" && a.Transform != "lower" && a.Transform != "number" {
			l.fail(file, a.Line, "transform %q: want upper, lower or number", a.Transform)
		}
		if (a.Values != nil || a.Transform != "") && a.From == "" {
			l.fail(file, a.Line, "values and transform need from")
		}
	}
}

// aliasLines gives each alias inside a set the line of its own node, so
// errors point at the alias rather than at its set.
func aliasLines(n *yaml.Node, sets []AliasSet) {
	if n == nil || n.Kind != yaml.SequenceNode {
		return
	}
	for _, setNode := range n.Content {
		var set *AliasSet
		for i := range sets {
			if sets[i].Line == setNode.Line {
				set = &sets[i]
			}
		}
		if set == nil || setNode.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(setNode.Content); i += 2 {
			if setNode.Content[i].Value != "fields" || setNode.Content[i+1].Kind != yaml.SequenceNode {
				continue
			}
			for j, a := range setNode.Content[i+1].Content {
				if j < len(set.Fields) {
					set.Fields[j].Line = a.Line
				}
			}
		}
	}
}

// aliasItems decodes a list of aliases, keeping each one's line.
func aliasItems(l loader, file, key string, n *yaml.Node) []Alias {
	as := items(l, file, key, n, func(a *Alias, line int) { a.Line = line })
	l.checkAliases(file, as, 0)
	return as
}

func (l loader) ecs(m *Mappings) {
	const f = ECSFile
	keys := l.root(f)
	if keys == nil {
		return
	}
	m.ecsProducts = items(l, f, "products", keys["products"], func(r *ProductRule, line int) { r.Line = line })
	m.ecsCategories = items(l, f, "categories", keys["categories"], func(r *ECSCategoryRule, line int) { r.Line = line })
	for _, r := range m.ecsCategories {
		if r.EventCategory == "" || r.Category == "" {
			l.fail(f, r.Line, "category rule needs event_category and category")
		}
	}
	m.ecsFields = aliasItems(l, f, "fields", keys["fields"])
	m.export = items(l, f, "export", keys["export"], func(r *ExportRule, line int) { r.Line = line })
	// The export table must be the inverse of part of the import table, so
	// an exported event reads back as the same Sigma fields.
	for _, e := range m.export {
		found := false
		for _, a := range m.ecsFields {
			if a.From == e.ECS && a.Name == e.Sigma && (len(a.Categories) == 0 || subset(e.Categories, a.Categories)) {
				found = true
				break
			}
		}
		if !found {
			l.fail(f, e.Line, "export %s -> %s has no matching import in fields", e.Sigma, e.ECS)
		}
	}
}

func subset(a, b []string) bool {
	if len(a) == 0 {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func (l loader) auditd(m *Mappings) {
	const f = AuditdFile
	keys := l.root(f)
	if keys == nil {
		return
	}
	var encoded []string
	if n := keys["encoded"]; n != nil {
		if err := n.Decode(&encoded); err != nil {
			l.fail(f, n.Line, "encoded: %v", err)
		}
	}
	m.auditdEncoded = map[string]bool{}
	for _, k := range encoded {
		m.auditdEncoded[k] = true
	}
	if n := keys["logsource"]; n != nil {
		if err := decodeStrict(n, &m.auditdLogsource); err != nil {
			l.fail(f, n.Line, "logsource: %v", err)
		}
	}
	if m.auditdLogsource.Product == "" && m.auditdLogsource.Service == "" {
		l.fail(f, 0, "logsource is missing")
	}
	m.auditbeat = aliasItems(l, f, "auditbeat", keys["auditbeat"])
}

func (l loader) syscalls(m *Mappings) {
	const f = SyscallsFile
	keys := l.root(f)
	if keys == nil {
		return
	}
	type arch struct {
		Arch     string         `yaml:"arch"`
		Syscalls map[int]string `yaml:"syscalls"`
		Line     int            `yaml:"-"`
	}
	arches := items(l, f, "arches", keys["arches"], func(a *arch, line int) { a.Line = line })
	m.syscalls = map[string]map[int]string{}
	for _, a := range arches {
		if a.Arch == "" || len(a.Syscalls) == 0 {
			l.fail(f, a.Line, "arch entry needs arch and syscalls")
			continue
		}
		m.syscalls[strings.ToLower(a.Arch)] = a.Syscalls
	}
}

// templateRefs returns the {Field} names a template references.
func templateRefs(t string) []string {
	var refs []string
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			return refs
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			return refs
		}
		refs = append(refs, t[i+1:i+j])
		t = t[i+j+1:]
	}
}
