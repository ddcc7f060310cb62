package fieldmap

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vigilsoc/vigil/internal/event"
)

// WindowsSource is what routing needs to know about a Windows event.
type WindowsSource struct {
	Channel  string
	Provider string
	EventID  int
	HasID    bool
}

// WindowsSourceOf reads Channel, Provider_Name and EventID from fields.
func WindowsSourceOf(ev *event.Event) WindowsSource {
	var s WindowsSource
	if v, ok := ev.Get("Channel"); ok {
		s.Channel = v.Text()
	}
	if v, ok := ev.Get("Provider_Name"); ok {
		s.Provider = v.Text()
	}
	if v, ok := ev.Get("EventID"); ok {
		if n, ok := v.Number(); ok && n >= 0 && n == float64(int(n)) {
			s.EventID, s.HasID = int(n), true
		}
	}
	return s
}

// channelRule finds the routing rule for a channel, or for the provider when
// the event names no channel.
func (m *Mappings) channelRule(channel, provider string) (ChannelRule, bool) {
	if channel != "" {
		lc := strings.ToLower(channel)
		if i, ok := m.channelExact[lc]; ok {
			return m.channels[i], true
		}
		for _, i := range m.channelPrefixes {
			p := strings.ToLower(strings.TrimSuffix(m.channels[i].Channel, "*"))
			if strings.HasPrefix(lc, p) {
				return m.channels[i], true
			}
		}
		return ChannelRule{}, false
	}
	if i, ok := m.providerChannel[strings.ToLower(provider)]; ok {
		return m.channels[i], true
	}
	return ChannelRule{}, false
}

// WindowsLogsource returns the logsource of a Windows event: product
// (windows unless the channel says otherwise), service from the channel,
// category from the channel or provider and event id. get reads a field for
// conditional category rules; it may be nil.
func (m *Mappings) WindowsLogsource(src WindowsSource, get func(name string) (string, bool)) event.Logsource {
	ls := event.Logsource{Product: "windows"}
	channel := src.Channel
	if rule, ok := m.channelRule(src.Channel, src.Provider); ok {
		ls.Product, ls.Service = rule.Product, rule.Service
		if channel == "" && !strings.HasSuffix(rule.Channel, "*") {
			channel = rule.Channel
		}
	}
	if !src.HasID {
		return ls
	}
	for _, key := range []string{channel, src.Provider} {
		if key == "" {
			continue
		}
		for _, i := range m.categoryIndex[categoryKey{strings.ToLower(key), src.EventID}] {
			r := m.categories[i]
			if whenHolds(r.When, get) {
				ls.Category = r.Category
				return ls
			}
		}
	}
	return ls
}

func whenHolds(when map[string][]string, get func(string) (string, bool)) bool {
	for field, want := range when {
		if get == nil {
			return false
		}
		v, ok := get(field)
		if !ok || !slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, v) }) {
			return false
		}
	}
	return true
}

func textGetter(ev *event.Event) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := ev.Get(name)
		return v.Text(), ok
	}
}

// NormalizeWindows sets the logsource of a Windows event from its Channel,
// Provider_Name and EventID fields and adds the Sigma aliases its tables
// give (Security 4688 -> process_creation names, ...).
func (m *Mappings) NormalizeWindows(ev *event.Event) {
	src := WindowsSourceOf(ev)
	ev.Logsource = m.WindowsLogsource(src, textGetter(ev))
	m.applyWindowsAliases(ev, src)
}

func (m *Mappings) applyWindowsAliases(ev *event.Event, src WindowsSource) {
	for i := range m.winAliases {
		s := &m.winAliases[i]
		if s.Channel != "" && !strings.EqualFold(s.Channel, src.Channel) {
			if src.Channel != "" {
				continue
			}
			// No channel on the event: accept the provider's channel.
			rule, ok := m.channelRule("", src.Provider)
			if !ok || !strings.EqualFold(rule.Channel, s.Channel) {
				continue
			}
		}
		if s.Provider != "" && !strings.EqualFold(s.Provider, src.Provider) {
			continue
		}
		if len(s.EventIDs) > 0 && (!src.HasID || !slices.Contains(s.EventIDs, src.EventID)) {
			continue
		}
		applyAliases(ev, s.Fields)
	}
}

// CategoryMatches reports whether a rule written for category ruleCat sees
// an event of category eventCat: the same category, or one the tables list
// under ruleCat (registry_event covers registry_add, _delete, _set, _rename).
func (m *Mappings) CategoryMatches(ruleCat, eventCat string) bool {
	return ruleCat == eventCat || slices.Contains(m.parents[ruleCat], eventCat)
}

// IsECS reports whether flattened fields look like an ECS document: an
// "@timestamp" and a field under one of the ECS objects readers produce.
func IsECS(ev *event.Event) bool {
	if _, ok := ev.Get("@timestamp"); !ok {
		return false
	}
	for _, f := range ev.Fields {
		// Only an object counts: a flat event may well have "host":"ws1".
		root, _, nested := strings.Cut(f.Name, ".")
		if !nested {
			continue
		}
		switch root {
		case "winlog", "event", "process", "host", "ecs", "agent", "auditd", "file", "dns", "destination", "source", "registry", "dll", "user", "network":
			return true
		}
	}
	return false
}

// NormalizeECS sets the logsource of an ECS document (Winlogbeat, Elastic
// Agent, Auditbeat), whose fields are already flattened with dots, and adds
// the Sigma names beside the ECS ones.
func (m *Mappings) NormalizeECS(ev *event.Event) {
	if isAuditbeat(ev) {
		ev.Logsource = event.Logsource(m.auditdLogsource)
		applyAliases(ev, m.auditbeat)
		addExecveType(ev)
		return
	}
	ev.Logsource = event.Logsource{Product: m.ecsProduct(ev), Category: m.ecsCategory(ev)}
	applyAliases(ev, m.ecsFields)
	if _, ok := ev.Get("Channel"); ok {
		if _, ok := ev.Get("EventID"); ok {
			ecsCat := ev.Logsource.Category
			m.NormalizeWindows(ev)
			if ev.Logsource.Category == "" {
				ev.Logsource.Category = ecsCat
			}
		}
	}
}

// addExecveType lists EXECVE among the record types of an Auditbeat
// execve event that carries its arguments: Auditbeat folds the EXECVE
// record into the SYSCALL document, and rules select the arguments with
// type: EXECVE.
func addExecveType(ev *event.Event) {
	sc, ok := ev.Get("SYSCALL")
	if !ok || (sc.Text() != "execve" && sc.Text() != "execveat") {
		return
	}
	if _, ok := ev.Get("process.args"); !ok {
		return
	}
	t, ok := ev.Get("type")
	if !ok || t.Kind == event.List || t.Text() == "EXECVE" {
		return
	}
	ev.Set("type", event.L(t, event.S("EXECVE")))
}

func isAuditbeat(ev *event.Event) bool {
	if v, ok := ev.Get("event.module"); ok && v.Text() == "auditd" {
		return true
	}
	for _, f := range ev.Fields {
		if strings.HasPrefix(f.Name, "auditd.") {
			return true
		}
	}
	return false
}

func (m *Mappings) ecsProduct(ev *event.Event) string {
	for _, r := range m.ecsProducts {
		if v, ok := ev.Get(r.Field); ok {
			if p, ok := r.Values[strings.ToLower(v.Text())]; ok {
				return p
			}
		}
	}
	return ""
}

func (m *Mappings) ecsCategory(ev *event.Event) string {
	cats, _ := ev.Get("event.category")
	types, _ := ev.Get("event.type")
	for _, r := range m.ecsCategories {
		if !valueHas(cats, r.EventCategory) {
			continue
		}
		if r.EventType != "" && !valueHas(types, r.EventType) {
			continue
		}
		if r.Has != "" {
			if _, ok := ev.Get(r.Has); !ok {
				continue
			}
		}
		return r.Category
	}
	return ""
}

// valueHas reports whether v is s or a list holding s.
func valueHas(v event.Value, s string) bool {
	if v.Kind == event.List {
		for _, it := range v.Items {
			if it.Text() == s {
				return true
			}
		}
		return false
	}
	return v.Kind == event.String && v.Str == s
}

// applyAliases adds each alias's field in order.
func applyAliases(ev *event.Event, as []Alias) {
	for i := range as {
		as[i].apply(ev)
	}
}

func (a *Alias) apply(ev *event.Event) {
	if len(a.Categories) > 0 && !slices.Contains(a.Categories, ev.Logsource.Category) {
		return
	}
	switch {
	case a.Prefix != "":
		n := len(ev.Fields)
		for i := 0; i < n; i++ {
			f := ev.Fields[i]
			if rest, ok := strings.CutPrefix(f.Name, a.Prefix); ok && rest != "" {
				add(ev, a.Name+rest, f.Value, a.Override)
			}
		}
	case a.Spread != "":
		v, ok := ev.Get(a.Spread)
		if !ok {
			return
		}
		items := []event.Value{v}
		if v.Kind == event.List {
			items = v.Items
		}
		for i, it := range items {
			add(ev, a.Name+strconv.Itoa(i), it, a.Override)
		}
	default:
		if v, ok := a.value(ev); ok {
			add(ev, a.Name, v, a.Override)
		}
	}
}

func add(ev *event.Event, name string, v event.Value, override bool) {
	if override {
		ev.Set(name, v)
		return
	}
	if _, exists := ev.Get(name); !exists {
		ev.Fields = append(ev.Fields, event.Field{Name: name, Value: v})
	}
}

func (a *Alias) value(ev *event.Event) (event.Value, bool) {
	switch {
	case a.From != "":
		v, ok := getPath(ev, a.From)
		if !ok {
			return v, false
		}
		if a.Transform == "" && a.Values == nil {
			return v, true
		}
		text := v.Text()
		switch a.Transform {
		case "number":
			if v.Kind == event.Number {
				return v, true
			}
			if n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64); err == nil {
				return event.NumText(strings.TrimSpace(text), float64(n)), true
			}
			return v, true
		case "upper":
			text = strings.ToUpper(text)
		case "lower":
			text = strings.ToLower(text)
		}
		if mapped, ok := a.Values[text]; ok {
			text = mapped
		}
		return event.S(text), true
	case a.Template != "":
		var b strings.Builder
		t := a.Template
		for {
			i := strings.IndexByte(t, '{')
			j := strings.IndexByte(t, '}')
			if i < 0 || j < i {
				b.WriteString(t)
				break
			}
			b.WriteString(t[:i])
			v, ok := ev.Get(t[i+1 : j])
			if !ok || v.Text() == "" || v.Text() == "-" {
				return event.Value{}, false
			}
			b.WriteString(v.Text())
			t = t[j+1:]
		}
		return event.S(b.String()), true
	case len(a.Join) > 0:
		var parts []string
		for _, p := range a.Join {
			if v, ok := ev.Get(p.From); ok && v.Text() != "" {
				parts = append(parts, p.Label+"="+v.Text())
			}
		}
		if len(parts) == 0 {
			return event.Value{}, false
		}
		return event.S(strings.Join(parts, a.Sep)), true
	case len(a.JoinNumbered) > 0:
		for _, prefix := range a.JoinNumbered {
			type numbered struct {
				n    int
				text string
			}
			var got []numbered
			for _, f := range ev.Fields {
				rest, ok := strings.CutPrefix(f.Name, prefix)
				if !ok || rest == "" {
					continue
				}
				if n, err := strconv.Atoi(rest); err == nil && n >= 0 {
					got = append(got, numbered{n, f.Value.Text()})
				}
			}
			if len(got) == 0 {
				continue
			}
			slices.SortStableFunc(got, func(x, y numbered) int { return x.n - y.n })
			texts := make([]string, len(got))
			for i, g := range got {
				texts[i] = g.text
			}
			return event.S(strings.Join(texts, a.Sep)), true
		}
	}
	return event.Value{}, false
}

// getPath reads a field; "list[].key" collects key from each JSON object
// held in the list field (objects inside lists are kept as JSON text when
// events are flattened).
func getPath(ev *event.Event, path string) (event.Value, bool) {
	list, key, ok := strings.Cut(path, "[].")
	if !ok {
		return ev.Get(path)
	}
	v, ok := ev.Get(list)
	if !ok {
		return v, false
	}
	items := []event.Value{v}
	if v.Kind == event.List {
		items = v.Items
	}
	var out []event.Value
	for _, it := range items {
		if it.Kind != event.String {
			continue
		}
		fields, err := event.UnmarshalFields([]byte(it.Str))
		if err != nil {
			continue
		}
		sub := event.Event{Fields: fields}
		if x, ok := sub.Get(key); ok {
			out = append(out, x)
		}
	}
	switch len(out) {
	case 0:
		return event.Value{}, false
	case 1:
		return out[0], true
	}
	return event.L(out...), true
}

// SyscallName names a syscall number for an audit arch (the hex arch= value
// of a SYSCALL record, such as c000003e for x86_64).
func (m *Mappings) SyscallName(arch string, nr int) (string, bool) {
	name, ok := m.syscalls[strings.ToLower(arch)][nr]
	return name, ok
}

// AuditdEncoded reports whether auditd hex-encodes the unquoted value of key.
func (m *Mappings) AuditdEncoded(key string) bool { return m.auditdEncoded[key] }

// AuditdLogsource is the logsource of Linux audit events.
func (m *Mappings) AuditdLogsource() event.Logsource { return event.Logsource(m.auditdLogsource) }

// ECSName returns the ECS name of a Sigma field for export, considering
// category-specific entries for category first.
func (m *Mappings) ECSName(sigma, category string) (string, bool) {
	for _, e := range m.export {
		if e.Sigma == sigma && slices.Contains(e.Categories, category) {
			return e.ECS, true
		}
	}
	for _, e := range m.export {
		if e.Sigma == sigma && len(e.Categories) == 0 {
			return e.ECS, true
		}
	}
	return "", false
}
