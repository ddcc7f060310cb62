package fieldmap

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vigilsoc/vigil/internal/event"
)

// Tables is a copy of the loaded tables, for documentation and tools such
// as `vigil rules mappings`; changing it does not change the Mappings.
type Tables struct {
	Channels         []ChannelRule
	Categories       []CategoryRule
	CategoryParents  map[string][]string
	WindowsAliases   []AliasSet
	ECSProducts      []ProductRule
	ECSCategories    []ECSCategoryRule
	ECSFields        []Alias
	Export           []ExportRule
	AuditdLogsource  event.Logsource
	AuditdEncoded    []string
	AuditbeatAliases []Alias
	// Syscalls counts the syscall names known per audit arch.
	Syscalls map[string]int
}

// Tables returns a copy of the tables.
func (m *Mappings) Tables() Tables {
	t := Tables{
		Channels:         slices.Clone(m.channels),
		Categories:       slices.Clone(m.categories),
		CategoryParents:  maps.Clone(m.parents),
		WindowsAliases:   slices.Clone(m.winAliases),
		ECSProducts:      slices.Clone(m.ecsProducts),
		ECSCategories:    slices.Clone(m.ecsCategories),
		ECSFields:        slices.Clone(m.ecsFields),
		Export:           slices.Clone(m.export),
		AuditdLogsource:  m.AuditdLogsource(),
		AuditdEncoded:    slices.Sorted(maps.Keys(m.auditdEncoded)),
		AuditbeatAliases: slices.Clone(m.auditbeat),
		Syscalls:         map[string]int{},
	}
	for arch, names := range m.syscalls {
		t.Syscalls[arch] = len(names)
	}
	return t
}

// Logsources returns every distinct logsource the tables can give an event,
// sorted, so tests and docs can check them against the Sigma taxonomy.
func (m *Mappings) Logsources() []event.Logsource {
	seen := map[event.Logsource]bool{}
	for _, c := range m.channels {
		seen[event.Logsource{Product: c.Product, Service: c.Service}] = true
	}
	for _, r := range m.categories {
		ls := m.WindowsLogsource(WindowsSource{Channel: r.Channel, Provider: r.Provider, EventID: r.EventIDs[0], HasID: true},
			func(name string) (string, bool) {
				if want, ok := r.When[name]; ok && len(want) > 0 {
					return want[0], true
				}
				return "", false
			})
		seen[ls] = true
	}
	for _, r := range m.ecsCategories {
		seen[event.Logsource{Category: r.Category}] = true
	}
	for _, p := range m.ecsProducts {
		for _, v := range p.Values {
			seen[event.Logsource{Product: v}] = true
		}
	}
	seen[m.AuditdLogsource()] = true
	return slices.SortedFunc(maps.Keys(seen), func(a, b event.Logsource) int {
		return strings.Compare(a.Product+"/"+a.Category+"/"+a.Service, b.Product+"/"+b.Category+"/"+b.Service)
	})
}

// Describe writes the tables as readable text.
func (m *Mappings) Describe(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	p("Windows channels (%s)\nCHANNEL\tPRODUCT\tSERVICE\tPROVIDERS\n", WindowsFile)
	for _, c := range m.channels {
		p("%s\t%s\t%s\t%s\n", c.Channel, c.Product, c.Service, strings.Join(c.Providers, ", "))
	}
	p("\nWindows categories (%s)\nCHANNEL/PROVIDER\tEVENT IDS\tCATEGORY\tWHEN\n", WindowsFile)
	for _, r := range m.categories {
		p("%s\t%s\t%s\t%s\n", r.Channel+r.Provider, ints(r.EventIDs), r.Category, when(r.When))
	}
	p("\nCategory parents (%s)\nRULE CATEGORY\tALSO SEES\n", WindowsFile)
	for _, k := range slices.Sorted(maps.Keys(m.parents)) {
		p("%s\t%s\n", k, strings.Join(m.parents[k], ", "))
	}
	p("\nWindows field aliases (%s)\n", WindowsFile)
	for _, s := range m.winAliases {
		p("[%s] %s %s\n", s.Name, s.Channel+s.Provider, ints(s.EventIDs))
		describeAliases(p, s.Fields)
	}
	p("\nECS -> Sigma fields (%s)\n", ECSFile)
	describeAliases(p, m.ecsFields)
	p("\nECS categories (%s)\nEVENT.CATEGORY\tEVENT.TYPE\tHAS\tCATEGORY\n", ECSFile)
	for _, r := range m.ecsCategories {
		p("%s\t%s\t%s\t%s\n", r.EventCategory, r.EventType, r.Has, r.Category)
	}
	p("\nSigma -> ECS export (%s)\nSIGMA\tECS\tCATEGORIES\n", ECSFile)
	for _, e := range m.export {
		p("%s\t%s\t%s\n", e.Sigma, e.ECS, strings.Join(e.Categories, ", "))
	}
	p("\nAuditbeat -> Sigma auditd fields (%s), logsource %+v\n", AuditdFile, m.auditdLogsource)
	describeAliases(p, m.auditbeat)
	p("\nSyscall tables (%s)\n", SyscallsFile)
	for _, arch := range slices.Sorted(maps.Keys(m.syscalls)) {
		p("%s\t%d names\n", arch, len(m.syscalls[arch]))
	}
	return tw.Flush()
}

func describeAliases(p func(string, ...any), as []Alias) {
	for _, a := range as {
		var how string
		switch {
		case a.From != "":
			how = a.From
			if a.Transform != "" {
				how += " (" + a.Transform + ")"
			}
			if len(a.Values) > 0 {
				how += fmt.Sprintf(" (%d value translations)", len(a.Values))
			}
		case a.Template != "":
			how = "template " + a.Template
		case len(a.Join) > 0:
			parts := make([]string, len(a.Join))
			for i, j := range a.Join {
				parts[i] = j.Label + "=" + j.From
			}
			how = "join " + strings.Join(parts, a.Sep)
		case len(a.JoinNumbered) > 0:
			how = "join numbered " + strings.Join(a.JoinNumbered, "N, ") + "N"
		case a.Prefix != "":
			how = a.Prefix + "*"
		case a.Spread != "":
			how = "items of " + a.Spread
		}
		name := a.Name
		switch {
		case a.Prefix != "":
			name += "*"
		case a.Spread != "":
			name += "N"
		}
		extra := ""
		if len(a.Categories) > 0 {
			extra = " [" + strings.Join(a.Categories, ", ") + "]"
		}
		if a.Override {
			extra += " (overrides)"
		}
		p("  %s\t<- %s%s\n", name, how, extra)
	}
}

func ints(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}

func when(w map[string][]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(w)) {
		parts = append(parts, k+" in "+strings.Join(w[k], "|"))
	}
	return strings.Join(parts, "; ")
}
