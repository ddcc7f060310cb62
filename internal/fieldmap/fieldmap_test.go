package fieldmap

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

func load(t testing.TB) *Mappings {
	t.Helper()
	m, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWindowsLogsource(t *testing.T) {
	m := load(t)
	fields := func(kv ...string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == name {
					return kv[i+1], true
				}
			}
			return "", false
		}
	}
	tests := []struct {
		name string
		src  WindowsSource
		get  func(string) (string, bool)
		want event.Logsource
	}{
		{"sysmon 1", WindowsSource{Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 1, HasID: true}, nil,
			event.Logsource{Product: "windows", Category: "process_creation", Service: "sysmon"}},
		{"channel case", WindowsSource{Channel: "microsoft-windows-sysmon/operational", EventID: 3, HasID: true}, nil,
			event.Logsource{Product: "windows", Category: "network_connection", Service: "sysmon"}},
		{"sysmon 12 add", WindowsSource{Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 12, HasID: true}, fields("EventType", "CreateKey"),
			event.Logsource{Product: "windows", Category: "registry_add", Service: "sysmon"}},
		{"sysmon 12 delete", WindowsSource{Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 12, HasID: true}, fields("EventType", "DeleteValue"),
			event.Logsource{Product: "windows", Category: "registry_delete", Service: "sysmon"}},
		{"sysmon 22", WindowsSource{Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 22, HasID: true}, nil,
			event.Logsource{Product: "windows", Category: "dns_query", Service: "sysmon"}},
		{"sysmon by provider", WindowsSource{Provider: "Microsoft-Windows-Sysmon", EventID: 7, HasID: true}, nil,
			event.Logsource{Product: "windows", Category: "image_load", Service: "sysmon"}},
		{"security 4688", WindowsSource{Channel: "Security", EventID: 4688, HasID: true}, nil,
			event.Logsource{Product: "windows", Category: "process_creation", Service: "security"}},
		{"security 4624", WindowsSource{Channel: "Security", EventID: 4624, HasID: true}, nil,
			event.Logsource{Product: "windows", Service: "security"}},
		{"ps 4104", WindowsSource{Channel: "Microsoft-Windows-PowerShell/Operational", EventID: 4104, HasID: true}, nil,
			event.Logsource{Product: "windows", Category: "ps_script", Service: "powershell"}},
		{"ps core 4103", WindowsSource{Channel: "PowerShellCore/Operational", EventID: 4103, HasID: true}, nil,
			event.Logsource{Product: "windows", Category: "ps_module"}},
		{"ps classic 800", WindowsSource{Channel: "Windows PowerShell", EventID: 800, HasID: true}, nil,
			event.Logsource{Product: "windows", Category: "ps_classic_script", Service: "powershell-classic"}},
		{"applocker prefix", WindowsSource{Channel: "Microsoft-Windows-AppLocker/EXE and DLL", EventID: 8004, HasID: true}, nil,
			event.Logsource{Product: "windows", Service: "applocker"}},
		{"dns client", WindowsSource{Channel: "Microsoft-Windows-DNS-Client/Operational", EventID: 3008, HasID: true}, nil,
			event.Logsource{Product: "windows", Service: "dns-client"}},
		{"linux sysmon", WindowsSource{Channel: "Linux-Sysmon/Operational", EventID: 1, HasID: true}, nil,
			event.Logsource{Product: "linux", Category: "process_creation", Service: "sysmon"}},
		{"unknown channel", WindowsSource{Channel: "Foo/Bar", EventID: 1, HasID: true}, nil,
			event.Logsource{Product: "windows"}},
		{"no event id", WindowsSource{Channel: "Microsoft-Windows-Sysmon/Operational"}, nil,
			event.Logsource{Product: "windows", Service: "sysmon"}},
	}
	for _, tt := range tests {
		if got := m.WindowsLogsource(tt.src, tt.get); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestCategoryMatches(t *testing.T) {
	m := load(t)
	for _, tt := range []struct {
		rule, ev string
		want     bool
	}{
		{"registry_event", "registry_set", true},
		{"registry_event", "registry_delete", true},
		{"registry_set", "registry_set", true},
		{"registry_set", "registry_event", false},
		{"registry_event", "file_event", false},
	} {
		if got := m.CategoryMatches(tt.rule, tt.ev); got != tt.want {
			t.Errorf("CategoryMatches(%s, %s) = %v", tt.rule, tt.ev, got)
		}
	}
}

func TestAliasKinds(t *testing.T) {
	ev := &event.Event{Fields: []event.Field{
		{Name: "a", Value: event.S("x")},
		{Name: "d", Value: event.S("DOM")},
		{Name: "u", Value: event.S("usr")},
		{Name: "Data2", Value: event.S("two")},
		{Name: "Data1", Value: event.S("one")},
		{Name: "pre.k1", Value: event.S("v1")},
		{Name: "args", Value: event.L(event.S("ls"), event.S("-l"))},
		{Name: "paths", Value: event.L(event.S(`{"name":"/a"}`), event.S(`{"name":"/b"}`), event.S(`not json`))},
		{Name: "lvl", Value: event.S("s-1-16-12288")},
		{Name: "keep", Value: event.S("native")},
		{Name: "eid", Value: event.S("4688")},
	}, Logsource: event.Logsource{Category: "image_load"}}
	applyAliases(ev, []Alias{
		{Name: "A", From: "a"},
		{Name: "Missing", From: "nope"},
		{Name: "User", Template: `{d}\{u}`},
		{Name: "NoUser", Template: `{d}\{nope}`},
		{Name: "H", Join: []JoinPart{{"X", "a"}, {"Y", "nope"}, {"Z", "u"}}, Sep: ","},
		{Name: "Data", JoinNumbered: []string{"param", "Data"}, Sep: "|"},
		{Name: "p_", Prefix: "pre."},
		{Name: "a", Spread: "args"},
		{Name: "name", From: "paths[].name"},
		{Name: "Level", From: "lvl", Transform: "upper", Values: map[string]string{"S-1-16-12288": "High"}},
		{Name: "keep", From: "a"},
		{Name: "EventID", From: "eid", Transform: "number"},
		{Name: "NotNum", From: "a", Transform: "number"},
		{Name: "over", From: "a"},
		{Name: "over", From: "u", Override: true},
		{Name: "Only", From: "a", Categories: []string{"driver_load"}},
		{Name: "Yes", From: "a", Categories: []string{"image_load"}},
	})
	want := map[string]string{
		"A": "x", "User": `DOM\usr`, "H": "X=x,Z=usr", "Data": "one|two", "p_k1": "v1",
		"a0": "ls", "a1": "-l", "name": "/a, /b", "Level": "High", "keep": "native", "over": "usr", "Yes": "x",
	}
	for name, w := range want {
		v, ok := ev.Get(name)
		if !ok || v.Text() != w {
			t.Errorf("%s = %q (%v), want %q", name, v.Text(), ok, w)
		}
	}
	if v, _ := ev.Get("EventID"); v.Kind != event.Number || v.Num != 4688 {
		t.Errorf("EventID = %+v, want the number 4688", v)
	}
	if v, _ := ev.Get("NotNum"); v.Kind != event.String || v.Str != "x" {
		t.Errorf("NotNum = %+v, want the text kept", v)
	}
	for _, name := range []string{"Missing", "NoUser", "Only"} {
		if _, ok := ev.Get(name); ok {
			t.Errorf("%s should not be set", name)
		}
	}
}

func TestECSName(t *testing.T) {
	m := load(t)
	for _, tt := range []struct{ sigma, cat, want string }{
		{"Image", "process_creation", "process.executable"},
		{"ImageLoaded", "driver_load", "file.path"},
		{"ImageLoaded", "image_load", "dll.path"},
		{"QueryName", "", "dns.question.name"},
	} {
		if got, _ := m.ECSName(tt.sigma, tt.cat); got != tt.want {
			t.Errorf("ECSName(%s, %s) = %q, want %q", tt.sigma, tt.cat, got, tt.want)
		}
	}
	if _, ok := m.ECSName("NoSuchField", ""); ok {
		t.Error("unknown field exported")
	}
}

func TestSyscallName(t *testing.T) {
	m := load(t)
	for _, tt := range []struct {
		arch string
		nr   int
		want string
	}{{"c000003e", 59, "execve"}, {"C000003E", 322, "execveat"}, {"c00000b7", 221, "execve"}, {"c00000b7", 79, "newfstatat"}} {
		if got, _ := m.SyscallName(tt.arch, tt.nr); got != tt.want {
			t.Errorf("SyscallName(%s, %d) = %q, want %q", tt.arch, tt.nr, got, tt.want)
		}
	}
	if _, ok := m.SyscallName("deadbeef", 1); ok {
		t.Error("unknown arch named a syscall")
	}
}

func TestDescribe(t *testing.T) {
	m := load(t)
	var b strings.Builder
	if err := m.Describe(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Microsoft-Windows-Sysmon/Operational", "registry_event", "NewProcessName", "process.executable", "c000003e"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("description lacks %q", want)
		}
	}
	tb := m.Tables()
	if len(tb.Channels) == 0 || len(tb.ECSFields) == 0 || tb.Syscalls["c000003e"] < 300 {
		t.Errorf("tables look empty: %d channels, %d ECS fields, %v syscalls", len(tb.Channels), len(tb.ECSFields), tb.Syscalls)
	}
	tb.Channels[0].Service = "changed"
	if m.Tables().Channels[0].Service == "changed" {
		t.Error("Tables shares memory with the Mappings")
	}
}

// Broken tables are rejected with every problem and its line.
func TestValidation(t *testing.T) {
	good := func(name string) []byte {
		b, err := fs.ReadFile(embedded, "data/"+name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := func() fstest.MapFS {
		fsys := fstest.MapFS{}
		for _, n := range []string{WindowsFile, ECSFile, AuditdFile, SyscallsFile} {
			fsys[n] = &fstest.MapFile{Data: good(n)}
		}
		return fsys
	}
	tests := []struct {
		name, file, data string
		want             []string
	}{
		{"duplicate channel", WindowsFile, "channels:\n  - {channel: A, service: a}\n  - {channel: a, service: b}\n", []string{"windows.yaml:3:", `"a" already mapped at line 2`}},
		{"unknown key", WindowsFile, "channels:\n  - {channel: A, servce: a}\n", []string{"windows.yaml:2:", "servce"}},
		{"unknown table", WindowsFile, "chanels: []\n", []string{`unknown table "chanels"`}},
		{"shadowed category", WindowsFile, "categories:\n  - {channel: A, event_ids: [1], category: x}\n  - {channel: A, event_ids: [1], category: y}\n", []string{"windows.yaml:3:", "already categorised"}},
		{"alias ways", WindowsFile, "aliases:\n  - name: s\n    channel: A\n    fields:\n      - {name: X, from: a, template: \"{b}\"}\n", []string{"windows.yaml:5:", "exactly one of"}},
		{"bad transform", ECSFile, "fields:\n  - {name: X, from: a, transform: title}\n", []string{"ecs.yaml:2:", "transform"}},
		{"export without import", ECSFile, "fields: []\nexport:\n  - {sigma: Image, ecs: process.executable}\n", []string{"ecs.yaml:3:", "no matching import"}},
		{"not yaml", AuditdFile, "logsource: [\n", []string{"auditd.yaml"}},
		{"no logsource", AuditdFile, "encoded: [name]\n", []string{"logsource is missing"}},
		{"empty arch", SyscallsFile, "arches:\n  - {arch: x}\n", []string{"syscalls.yaml:2:"}},
	}
	for _, tt := range tests {
		fsys := base()
		fsys[tt.file] = &fstest.MapFile{Data: []byte(tt.data)}
		_, err := New(Config{FS: fsys})
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v is not ErrInvalid", tt.name, err)
		}
		var te *TableError
		if !errors.As(err, &te) {
			t.Errorf("%s: no *TableError in %v", tt.name, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tt.name, err, w)
			}
		}
	}
	fsys := base()
	delete(fsys, ECSFile)
	if _, err := New(Config{FS: fsys}); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// Every logsource the tables can give an event must be one Sigma rules can
// select: each attribute value, and each product/service pair, must appear
// in the corpus rules or the taxonomy appendix. A typo in a table would
// otherwise silently hide events from every rule.
func TestLogsourcesKnownToSigma(t *testing.T) {
	rules := vigiltest.Corpus(t, "sigma")
	known := knownLogsources(t, rules, filepath.Join(vigiltest.SharedDir(t), "reference", "sigma-specification", "specification", "sigma-appendix-taxonomy.md"))
	m := load(t)
	for _, ls := range m.Logsources() {
		for attr, val := range map[string]string{"product": ls.Product, "category": ls.Category, "service": ls.Service} {
			if val != "" && !known[attr+":"+val] {
				t.Errorf("logsource %+v: %s %q is used by no corpus rule and not in the taxonomy", ls, attr, val)
			}
		}
		if ls.Product != "" && ls.Service != "" && !known["pair:"+ls.Product+"/"+ls.Service] {
			t.Errorf("logsource %+v: product/service pair unknown to corpus and taxonomy", ls)
		}
	}
}

func knownLogsources(t *testing.T, rulesDir, taxonomy string) map[string]bool {
	known := map[string]bool{}
	attr := regexp.MustCompile(`^\s+(product|category|service):\s*['"]?([A-Za-z0-9_.\-]+)`)
	err := filepath.WalkDir(rulesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yml") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		in := false
		var product, service string
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "logsource:") {
				in = true
				continue
			}
			if in && line != "" && line[0] != ' ' && line[0] != '#' {
				break
			}
			if m := attr.FindStringSubmatch(line); in && m != nil {
				known[m[1]+":"+m[2]] = true
				switch m[1] {
				case "product":
					product = m[2]
				case "service":
					service = m[2]
				}
			}
		}
		if product != "" && service != "" {
			known["pair:"+product+"/"+service] = true
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(taxonomy)
	if err != nil {
		t.Skipf("taxonomy appendix not found: %v", err)
	}
	cell := regexp.MustCompile(`(product|category|service): ([A-Za-z0-9_.\-]+)`)
	for _, line := range strings.Split(string(data), "\n") {
		var product, service string
		for _, m := range cell.FindAllStringSubmatch(line, -1) {
			known[m[1]+":"+m[2]] = true
			switch m[1] {
			case "product":
				product = m[2]
			case "service":
				service = m[2]
			}
		}
		if product != "" && service != "" {
			known["pair:"+product+"/"+service] = true
		}
	}
	return known
}
