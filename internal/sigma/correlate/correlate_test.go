package correlate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

var base = time.Date(2026, 3, 29, 10, 0, 0, 0, time.UTC)

// loadRules parses a correlation fixture with the project's Sigma parser.
func loadRules(t testing.TB, file string) []*sigma.Correlation {
	t.Helper()
	path := filepath.Join("testdata", file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	coll := sigma.ParseFile(path, data)
	if len(coll.Errors) > 0 {
		t.Fatalf("%s: %v", file, coll.Errors)
	}
	if len(coll.Correlations) == 0 {
		t.Fatalf("%s: no correlations", file)
	}
	return coll.Correlations
}

// step is one base-rule match: the rule that matched (as "name" or
// "id:uuid"), when (offset from base) and the event's fields as
// space-separated name=value pairs; "host=" sets the event's typed host.
type step struct {
	rule   string
	at     time.Duration
	fields string
}

// advance is a step with rule "advance": Advance(base+at) instead of Observe.
const advance = "advance"

func (s step) event() *event.Event {
	ev := &event.Event{Time: base.Add(s.at)}
	for kv := range strings.FieldsSeq(s.fields) {
		name, value, _ := strings.Cut(kv, "=")
		if name == "host" {
			ev.Host = value
			continue
		}
		if x, err := fmt.Sscan(value, new(float64)); err == nil && x == 1 && !strings.ContainsAny(value, ".:") {
			var f float64
			fmt.Sscan(value, &f)
			ev.Fields = append(ev.Fields, event.Field{Name: name, Value: event.NumText(value, f)})
			continue
		}
		ev.Fields = append(ev.Fields, event.Field{Name: name, Value: event.S(value)})
	}
	return ev
}

func (s step) run(e *Engine, emit func(Alert)) {
	if s.rule == advance {
		e.Advance(base.Add(s.at), emit)
		return
	}
	id, name := "", s.rule
	if after, ok := strings.CutPrefix(s.rule, "id:"); ok {
		id, name = after, ""
	}
	e.Observe(id, name, s.event(), emit)
}

// describe renders an alert compactly for comparison.
func describe(a Alert) string {
	var b strings.Builder
	b.WriteString(a.Rule.Title)
	b.WriteString(" |")
	for _, f := range a.Group {
		fmt.Fprintf(&b, " %s=%s", f.Name, f.Value.Text())
	}
	fmt.Fprintf(&b, " | n=%d v=%g | %v..%v | %d events", a.Count, a.Value,
		a.First.Sub(base), a.Last.Sub(base), len(a.Events))
	return b.String()
}

func repeat(n int, rule string, from, every time.Duration, fields string) []step {
	out := make([]step, n)
	for i := range out {
		out[i] = step{rule, from + time.Duration(i)*every, fields}
	}
	return out
}

func cat(parts ...[]step) []step { return slices.Concat(parts...) }

type correlationCase struct {
	name  string
	file  string
	steps []step
	want  []string
}

var cases = []correlationCase{
	{
		name: "event_count fires once at threshold then is muted for a timespan",
		file: "event_count.yml",
		steps: []step{
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 0, "ComputerName=dc1"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 10 * time.Minute, "ComputerName=dc1"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 15 * time.Minute, "ComputerName=dc2"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 20 * time.Minute, "ComputerName=dc1"}, // fires
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 30 * time.Minute, "ComputerName=dc1"}, // muted
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 40 * time.Minute, "ComputerName=dc1"}, // muted
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 80 * time.Minute, "ComputerName=dc1"}, // still muted (edge)
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 81 * time.Minute, "ComputerName=dc1"}, // 40, 80, 81 in window
		},
		want: []string{
			"Many failed logins | ComputerName=dc1 | n=3 v=3 | 0s..20m0s | 3 events",
			"Many failed logins | ComputerName=dc1 | n=3 v=3 | 40m0s..1h21m0s | 3 events",
		},
	},
	{
		name: "event_count: an event exactly one timespan after the first is inside the window",
		file: "event_count.yml",
		steps: []step{
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 0, "ComputerName=dc1"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 30 * time.Minute, "ComputerName=dc1"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", time.Hour, "ComputerName=dc1"},
		},
		want: []string{"Many failed logins | ComputerName=dc1 | n=3 v=3 | 0s..1h0m0s | 3 events"},
	},
	{
		name: "event_count: one nanosecond past the timespan the first event has expired",
		file: "event_count.yml",
		steps: []step{
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 0, "ComputerName=dc1"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 30 * time.Minute, "ComputerName=dc1"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", time.Hour + 1, "ComputerName=dc1"},
		},
	},
	{
		name: "event_count: events without the group-by field take no part; the typed host stands in for ComputerName",
		file: "event_count.yml",
		steps: []step{
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 0, "User=bob"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", time.Minute, "User=bob"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 2 * time.Minute, "User=bob"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 3 * time.Minute, "host=ws7"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 4 * time.Minute, "host=ws7"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 5 * time.Minute, "host=ws7"},
		},
		want: []string{"Many failed logins | ComputerName=ws7 | n=3 v=3 | 3m0s..5m0s | 3 events"},
	},
	{
		name:  "event_count: matches of other rules are ignored",
		file:  "event_count.yml",
		steps: repeat(5, "id:00000000-0000-0000-0000-000000000000", 0, time.Second, "ComputerName=dc1"),
	},
	{
		name: "event_count range is decided when the window closes",
		file: "event_count_range.yml",
		steps: cat(
			repeat(3, "failed_login", 0, time.Minute, "User=bob"),
			repeat(5, "failed_login", 0, time.Minute, "User=alice"),
			repeat(1, "failed_login", 10*time.Minute, 0, "User=carol"),
			[]step{{advance, 61 * time.Minute, ""}}, // bob and alice close; carol's window is open
			[]step{{advance, 71 * time.Minute, ""}},
		),
		want: []string{"Between three and four failed logins | User=bob | n=3 v=3 | 0s..2m0s | 3 events"},
	},
	{
		name: "event_count range: a later event of the group closes its window",
		file: "event_count_range.yml",
		steps: cat(
			repeat(4, "failed_login", 0, time.Minute, "User=bob"),
			repeat(1, "failed_login", 2*time.Hour, 0, "User=bob"),
		),
		want: []string{"Between three and four failed logins | User=bob | n=4 v=4 | 0s..3m0s | 4 events"},
	},
	{
		name: "value_count counts distinct users per source and destination",
		file: "value_count.yml",
		steps: []step{
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 0, "ComputerName=dc1 WorkstationName=ws1 User=a"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", time.Hour, "ComputerName=dc1 WorkstationName=ws1 User=a"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 2 * time.Hour, "ComputerName=dc1 WorkstationName=ws2 User=b"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 3 * time.Hour, "ComputerName=dc1 WorkstationName=ws1"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 4 * time.Hour, "ComputerName=dc1 WorkstationName=ws1 User=b"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 5 * time.Hour, "ComputerName=dc1 WorkstationName=ws1 User=c"},
		},
		want: []string{"Failed login | ComputerName=dc1 WorkstationName=ws1 | n=3 v=3 | 1h0m0s..5h0m0s | 4 events"},
	},
	{
		name: "value_count: a value seen again stays in the window from its latest sighting",
		file: "value_count.yml",
		steps: []step{
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 0, "ComputerName=dc1 WorkstationName=ws1 User=a"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 1 * time.Hour, "ComputerName=dc1 WorkstationName=ws1 User=b"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 23 * time.Hour, "ComputerName=dc1 WorkstationName=ws1 User=a"},
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 26 * time.Hour, "ComputerName=dc1 WorkstationName=ws1 User=c"}, // b expired
			{"id:5638f7c0-ac70-491d-8465-2a65075e0d86", 27 * time.Hour, "ComputerName=dc1 WorkstationName=ws1 User=d"},
		},
		want: []string{"Failed login | ComputerName=dc1 WorkstationName=ws1 | n=3 v=3 | 23h0m0s..27h0m0s | 3 events"},
	},
	{
		name: "temporal: all three rules in any order within the timespan",
		file: "temporal.yml",
		steps: []step{
			{"recon_cmd_c", 0, "ComputerName=ws1 User=bob"},
			{"recon_cmd_a", time.Minute, "ComputerName=ws1 User=bob"},
			{"recon_cmd_a", time.Minute, "ComputerName=ws1 User=eve"},
			{"recon_cmd_b", 5 * time.Minute, "ComputerName=ws1 User=bob"},
		},
		want: []string{"Recon | ComputerName=ws1 User=bob | n=3 v=3 | 0s..5m0s | 3 events"},
	},
	{
		name: "temporal: a rule matched before the window does not count",
		file: "temporal.yml",
		steps: []step{
			{"recon_cmd_a", 0, "ComputerName=ws1 User=bob"},
			{"recon_cmd_b", 2 * time.Minute, "ComputerName=ws1 User=bob"},
			{"recon_cmd_c", 6 * time.Minute, "ComputerName=ws1 User=bob"},
			{"recon_cmd_a", 7*time.Minute + 1, "ComputerName=ws1 User=bob"}, // b is 1ns too old
			{"recon_cmd_a", 7 * time.Minute, "ComputerName=ws1 User=bob"},   // b, c, a within 5m exactly
		},
		want: []string{"Recon | ComputerName=ws1 User=bob | n=3 v=3 | 2m0s..7m0s | 3 events"},
	},
	{
		name: "temporal_ordered: in order fires",
		file: "temporal_ordered.yml",
		steps: []step{
			{"recon_cmd_a", 0, "ComputerName=ws1 User=bob"},
			{"recon_cmd_b", time.Minute, "ComputerName=ws1 User=bob"},
			{"recon_cmd_c", 2 * time.Minute, "ComputerName=ws1 User=bob"},
		},
		want: []string{"Recon ordered | ComputerName=ws1 User=bob | n=3 v=3 | 0s..2m0s | 3 events"},
	},
	{
		name: "temporal_ordered: out of order is rejected",
		file: "temporal_ordered.yml",
		steps: []step{
			{"recon_cmd_b", 0, "ComputerName=ws1 User=bob"},
			{"recon_cmd_c", time.Minute, "ComputerName=ws1 User=bob"},
			{"recon_cmd_a", 2 * time.Minute, "ComputerName=ws1 User=bob"},
			{"recon_cmd_c", 3 * time.Minute, "ComputerName=ws1 User=bob"},
		},
	},
	{
		name: "temporal_ordered: a late step completes a chain; chain too long is rejected",
		file: "temporal_ordered.yml",
		steps: []step{
			{"recon_cmd_a", 0, "ComputerName=ws1 User=bob"},
			{"recon_cmd_c", time.Minute, "ComputerName=ws1 User=bob"},     // too early
			{"recon_cmd_b", 2 * time.Minute, "ComputerName=ws1 User=bob"}, // a b
			{"recon_cmd_c", 6 * time.Minute, "ComputerName=ws1 User=bob"}, // a..c spans 6m: too long
			{"recon_cmd_a", 7 * time.Minute, "ComputerName=ws1 User=bob"},
			{"recon_cmd_b", 8 * time.Minute, "ComputerName=ws1 User=bob"},
			{"recon_cmd_c", 12 * time.Minute, "ComputerName=ws1 User=bob"}, // 7..12: exactly 5m
		},
		want: []string{"Recon ordered | ComputerName=ws1 User=bob | n=3 v=3 | 7m0s..12m0s | 3 events"},
	},
	{
		name: "aliases group source and destination of different rules together",
		file: "aliases.yml",
		steps: []step{
			{"internal_error", 0, "destination.ip=10.0.0.5 source.ip=203.0.113.9"},
			{"new_network_connection", 3 * time.Second, "source.ip=10.0.0.6 destination.ip=203.0.113.9"},
			{"new_network_connection", 5 * time.Second, "source.ip=10.0.0.5 destination.ip=203.0.113.9"},
		},
		want: []string{"Internal error then connection back | internal_ip=10.0.0.5 remote_ip=203.0.113.9 | n=2 v=2 | 0s..5s | 2 events"},
	},
	{
		name: "chain: ten failed logins then a success; only the outer correlation alerts",
		file: "brute_force.yml",
		steps: cat(
			repeat(10, "failed_login", 0, 10*time.Second, "User=bob Computer=dc1"),
			repeat(9, "failed_login", 0, 10*time.Second, "User=alice Computer=dc1"),
			[]step{
				{"successful_login", 3 * time.Minute, "User=alice Computer=dc1"},
				{"successful_login", 4 * time.Minute, "User=bob Computer=dc1"},
			},
		),
		want: []string{"Correlation - Multiple Failed Logins Followed by Successful Login | User=bob | n=2 v=2 | 1m30s..4m0s | 2 events"},
	},
	{
		name: "chain: success before the failures does not fire",
		file: "brute_force.yml",
		steps: cat(
			[]step{{"successful_login", 0, "User=bob"}},
			repeat(10, "failed_login", time.Second, time.Second, "User=bob"),
		),
	},
	{
		name: "value_sum fires when the sum crosses, once per window",
		file: "value_sum.yml",
		steps: []step{
			{"website_access", 0, "SourceIP=10.1.1.1 User=bob bytes_sent=600000"},
			{"website_access", time.Minute, "SourceIP=10.1.1.1 User=bob bytes_sent=oops"},
			{"website_access", 10 * time.Minute, "SourceIP=10.1.1.1 User=bob bytes_sent=500000"},
			{"website_access", 20 * time.Minute, "SourceIP=10.1.1.1 User=bob bytes_sent=900000"},
			{"website_access", 61 * time.Minute, "SourceIP=10.1.1.1 User=bob bytes_sent=900000"},
			{"website_access", 62 * time.Minute, "SourceIP=10.1.1.1 User=bob bytes_sent=200000"},
		},
		want: []string{
			"Possible Exfiltration to Website | SourceIP=10.1.1.1 User=bob | n=2 v=1.1e+06 | 0s..10m0s | 2 events",
			"Possible Exfiltration to Website | SourceIP=10.1.1.1 User=bob | n=2 v=1.1e+06 | 1h1m0s..1h2m0s | 2 events",
		},
	},
	{
		name: "value_avg is decided when the window closes",
		file: "value_avg.yml",
		steps: []step{
			{"rule_a_id", 0, "SourceIP=10.1.1.1 User=bob BytesOut=400"},
			{"rule_a_id", time.Hour, "SourceIP=10.1.1.1 User=bob BytesOut=700"},
			{"rule_a_id", 0, "SourceIP=10.1.1.2 User=eve BytesOut=100"},
			{"rule_a_id", time.Hour, "SourceIP=10.1.1.2 User=eve BytesOut=2000"},
			{"rule_a_id", 2 * time.Hour, "SourceIP=10.1.1.2 User=eve BytesOut=0"},
			{advance, 23 * time.Hour, ""},
			{advance, 25 * time.Hour, ""},
		},
		want: []string{
			"Suspicious average network traffic | SourceIP=10.1.1.1 User=bob | n=2 v=550 | 0s..1h0m0s | 2 events",
			"Suspicious average network traffic | SourceIP=10.1.1.2 User=eve | n=3 v=700 | 0s..2h0m0s | 3 events",
		},
	},
	{
		name: "value_percentile finds a value rarer than the threshold share",
		file: "value_percentile.yml",
		steps: cat(
			repeat(19, "process_creation", 0, time.Minute, `ComputerName=ws1 Image=C:\Windows\System32\cmd.exe`),
			repeat(1, "process_creation", time.Hour, 0, `ComputerName=ws1 Image=C:\Users\Public\evil.exe`),
			repeat(5, "process_creation", 0, time.Minute, `ComputerName=ws2 Image=a.exe`),
			repeat(5, "process_creation", 0, time.Minute, `ComputerName=ws2 Image=b.exe`),
			[]step{{advance, 48 * time.Hour, ""}},
		),
		want: []string{"A computer spawned a rare process name | ComputerName=ws1 | n=20 v=5 | 0s..1h0m0s | 10 events"},
	},
}

func runCase(t *testing.T, e *Engine, steps []step) []string {
	t.Helper()
	var got []string
	for _, s := range steps {
		s.run(e, func(a Alert) { got = append(got, describe(a)) })
	}
	return got
}

func TestCorrelations(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(Config{}, loadRules(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got := runCase(t, e, tc.steps)
			if !slices.Equal(got, tc.want) {
				t.Errorf("alerts:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestStateRoundTrip saves and restores the state into a fresh engine
// after every step; the alerts must be those of an uninterrupted run.
func TestStateRoundTrip(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rules := loadRules(t, tc.file)
			e, err := New(Config{}, rules)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range tc.steps {
				s.run(e, func(a Alert) { got = append(got, describe(a)) })
				data, err := e.MarshalState()
				if err != nil {
					t.Fatal(err)
				}
				fresh, err := New(Config{}, rules)
				if err != nil {
					t.Fatal(err)
				}
				if err := fresh.RestoreState(data); err != nil {
					t.Fatalf("restore: %v\n%s", err, data)
				}
				if a, b := e.Stats().Groups, fresh.Stats().Groups; a != b {
					t.Fatalf("restored %d groups, had %d", b, a)
				}
				again, err := fresh.MarshalState()
				if err != nil {
					t.Fatal(err)
				}
				if string(again) != string(data) {
					t.Fatalf("state changed in a round trip:\n%s\n%s", data, again)
				}
				e = fresh
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("alerts:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReferenced(t *testing.T) {
	rules := slices.Concat(loadRules(t, "brute_force.yml"), loadRules(t, "generate.yml"), loadRules(t, "event_count.yml"))
	e, err := New(Config{}, rules)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, name             string
		generate, referenced bool
	}{
		{"", "failed_login", false, true},
		{"53ba33fd-3a50-4468-a5ef-c583635cfa92", "failed_login", false, true},
		{"", "successful_login", false, true},
		{"", "multiple_failed_login", false, true},
		{"", "psexec_service", true, true},
		{"5638f7c0-ac70-491d-8465-2a65075e0d86", "", false, true},
		{"5638f7c0-ac70-491d-8465-2a65075e0d86", "psexec_service", true, true},
		{"", "unrelated", false, false},
		{"", "", false, false},
	}
	for _, tt := range tests {
		gen, ref := e.Referenced(tt.id, tt.name)
		if gen != tt.generate || ref != tt.referenced {
			t.Errorf("Referenced(%q, %q) = %v, %v; want %v, %v", tt.id, tt.name, gen, ref, tt.generate, tt.referenced)
		}
	}
}

// TestGenerateChain: with generate: true on the outer correlation, the
// inner correlation's own alert is emitted too.
func TestGenerateChain(t *testing.T) {
	for _, generate := range []bool{false, true} {
		rules := loadRules(t, "brute_force.yml")
		rules[0].Generate = generate
		e, err := New(Config{}, rules)
		if err != nil {
			t.Fatal(err)
		}
		steps := cat(repeat(10, "failed_login", 0, time.Second, "User=bob"), []step{{"successful_login", time.Minute, "User=bob"}})
		got := runCase(t, e, steps)
		want := []string{"Correlation - Multiple Failed Logins Followed by Successful Login | User=bob | n=2 v=2 | 9s..1m0s | 2 events"}
		if generate {
			want = append([]string{"Multiple failed logons | User=bob | n=10 v=10 | 0s..9s | 10 events"}, want...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("generate=%v:\n got %q\nwant %q", generate, got, want)
		}
		if s := e.Stats(); s.Fired != 2 {
			t.Errorf("generate=%v: fired %d, want 2 (inner and outer)", generate, s.Fired)
		}
	}
}

func TestEvidence(t *testing.T) {
	e, err := New(Config{MaxEventsPerAlert: 4}, loadRules(t, "brute_force.yml")[1:])
	if err != nil {
		t.Fatal(err)
	}
	var got []Alert
	ev := &event.Event{Fields: []event.Field{{Name: "User", Value: event.S("bob")}}}
	for i := range 10 {
		ev.Time = base.Add(time.Duration(i) * time.Second)
		ev.Fields = append(ev.Fields[:1], event.Field{Name: "Seq", Value: event.N(float64(i))})
		e.Observe("", "failed_login", ev, func(a Alert) { got = append(got, a) }) // the caller reuses ev
	}
	if len(got) != 1 {
		t.Fatalf("%d alerts, want 1", len(got))
	}
	var seqs []string
	for _, x := range got[0].Events {
		v, _ := x.Get("Seq")
		seqs = append(seqs, v.Text())
	}
	if want := []string{"6", "7", "8", "9"}; !slices.Equal(seqs, want) {
		t.Errorf("evidence %v, want the latest %v, oldest first", seqs, want)
	}
	if got[0].Count != 10 {
		t.Errorf("count %d, want 10", got[0].Count)
	}
}

func corr(typ sigma.CorrelationType, id, name string, rules ...string) *sigma.Correlation {
	c := &sigma.Correlation{ID: id, Name: name, Title: id + name, Type: typ, Rules: rules, GroupBy: []string{"User"}, Timespan: time.Minute}
	if typ != sigma.Temporal && typ != sigma.TemporalOrdered {
		c.Condition = &sigma.CorrelationCondition{Compares: []sigma.Compare{{Op: sigma.OpGTE, Value: 2}}}
		if typ.NeedsField() {
			c.Condition.Field = []string{"f"}
		}
	}
	return c
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules []*sigma.Correlation
		want  error
	}{
		{"cycle", []*sigma.Correlation{corr(sigma.Temporal, "a", "", "b", "x"), corr(sigma.EventCount, "b", "", "a")}, ErrCycle},
		{"cycle by name", []*sigma.Correlation{corr(sigma.Temporal, "", "a", "c"), corr(sigma.EventCount, "", "b", "a"), corr(sigma.EventCount, "", "c", "b")}, ErrCycle},
		{"self reference", []*sigma.Correlation{corr(sigma.EventCount, "a", "", "a")}, ErrCycle},
		{"unknown type", []*sigma.Correlation{corr("event_sum", "a", "", "x")}, ErrUnknownType},
		{"no rules", []*sigma.Correlation{corr(sigma.EventCount, "a", "")}, ErrInvalid},
		{"no timespan", []*sigma.Correlation{func() *sigma.Correlation { c := corr(sigma.EventCount, "a", "", "x"); c.Timespan = 0; return c }()}, ErrInvalid},
		{"no condition", []*sigma.Correlation{func() *sigma.Correlation { c := corr(sigma.EventCount, "a", "", "x"); c.Condition = nil; return c }()}, ErrInvalid},
		{"no field", []*sigma.Correlation{func() *sigma.Correlation {
			c := corr(sigma.ValueCount, "a", "", "x")
			c.Condition.Field = nil
			return c
		}()}, ErrInvalid},
		{"unknown operator", []*sigma.Correlation{func() *sigma.Correlation {
			c := corr(sigma.EventCount, "a", "", "x")
			c.Condition.Compares[0].Op = "ge"
			return c
		}()}, ErrInvalid},
		{"two fields for a sum", []*sigma.Correlation{func() *sigma.Correlation {
			c := corr(sigma.ValueSum, "a", "", "x")
			c.Condition.Field = []string{"f", "g"}
			return c
		}()}, ErrInvalid},
		{"empty group-by", []*sigma.Correlation{func() *sigma.Correlation {
			c := corr(sigma.EventCount, "a", "", "x")
			c.GroupBy = []string{""}
			return c
		}()}, ErrInvalid},
		{"duplicate id", []*sigma.Correlation{corr(sigma.EventCount, "a", "", "x"), corr(sigma.EventCount, "a", "", "y")}, ErrDuplicate},
		{"threshold beyond limit", []*sigma.Correlation{func() *sigma.Correlation {
			c := corr(sigma.EventCount, "a", "", "x")
			c.Condition.Compares[0].Value = 1e9
			return c
		}()}, ErrLimit},
		{"nil", []*sigma.Correlation{nil}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{}, tt.rules)
			if !errors.Is(err, tt.want) {
				t.Errorf("New: %v, want %v", err, tt.want)
			}
		})
	}
	// A chain without a loop is fine, and so are all the fixtures together.
	ok := []*sigma.Correlation{corr(sigma.Temporal, "a", "", "b", "x"), corr(sigma.EventCount, "b", "", "y")}
	if _, err := New(Config{}, ok); err != nil {
		t.Errorf("chain: %v", err)
	}
	var all []*sigma.Correlation
	for _, tc := range cases {
		if !slices.ContainsFunc(all, func(c *sigma.Correlation) bool { return strings.HasSuffix(c.Path, tc.file) }) {
			all = append(all, loadRules(t, tc.file)...)
		}
	}
	if _, err := New(Config{}, all); err != nil {
		t.Errorf("all fixtures: %v", err)
	}
}

// TestMaxGroups: a million distinct groups stay within MaxGroups, the
// oldest are evicted and counted, and the newest still work.
func TestMaxGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("a million groups: skipped in -short")
	}
	const groups, limit = 1_000_000, 1000
	e, err := New(Config{MaxGroups: limit}, loadRules(t, "event_count.yml"))
	if err != nil {
		t.Fatal(err)
	}
	const id = "5638f7c0-ac70-491d-8465-2a65075e0d86"
	ev := &event.Event{Fields: []event.Field{{Name: "ComputerName"}}}
	for i := range groups {
		ev.Time = base.Add(time.Duration(i) * time.Millisecond) // all within the hour
		ev.Fields[0].Value = event.S(fmt.Sprint("host-", i))
		e.Observe(id, "", ev, nil)
		if n := e.Stats().Groups; n > limit {
			t.Fatalf("after %d groups: %d live", i+1, n)
		}
	}
	s := e.Stats()
	if s.Groups != limit || s.Evicted != groups-limit {
		t.Errorf("stats %+v, want %d live and %d evicted", s, limit, groups-limit)
	}
	fired := 0
	for range 2 {
		ev.Time = ev.Time.Add(time.Millisecond)
		e.Observe(id, "", ev, func(Alert) { fired++ })
	}
	if fired != 1 {
		t.Errorf("the newest group fired %d times, want 1", fired)
	}
}

// TestAdvanceExpires: groups whose window has passed are freed.
func TestAdvanceExpires(t *testing.T) {
	e, err := New(Config{}, loadRules(t, "temporal.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		step{"recon_cmd_a", time.Duration(i) * time.Second, fmt.Sprintf("ComputerName=ws%d User=u", i)}.run(e, nil)
	}
	if n := e.Stats().Groups; n != 100 {
		t.Fatalf("%d groups, want 100", n)
	}
	e.Advance(base.Add(5*time.Minute+50*time.Second), nil)
	// Groups last updated more than 5m before 5m50s, at 0s..49s, expire.
	if s := e.Stats(); s.Groups != 50 || s.Expired != 50 {
		t.Errorf("after Advance: %+v, want 50 live, 50 expired", s)
	}
	e.Advance(base.Add(time.Hour), nil)
	if n := e.Stats().Groups; n != 0 {
		t.Errorf("%d groups left", n)
	}
}

func TestRestoreStateErrors(t *testing.T) {
	e, err := New(Config{}, loadRules(t, "temporal.yml"))
	if err != nil {
		t.Fatal(err)
	}
	step{"recon_cmd_a", 0, "ComputerName=ws1 User=bob"}.run(e, nil)
	good, err := e.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, data string }{
		{"empty", ""},
		{"not json", "garbage"},
		{"wrong version", `{"version":99,"groups":[]}`},
		{"unknown field", `{"version":1,"groups":[],"extra":1}`},
		{"trailing", `{"version":1,"groups":[]} {}`},
		{"positions", strings.Replace(string(good), `"pos":[`, `"pos":[1,`, 1)},
		{"group-by", strings.Replace(string(good), `"name":"User"`, `"name":"Usr"`, 1)},
		{"value kind", strings.Replace(string(good), `"kind":0`, `"kind":9`, 1)},
		{"duplicate group", strings.Replace(string(good), `"groups":[`, `"groups":[`+groupJSON(t, good)+`,`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := e.RestoreState([]byte(tt.data)); !errors.Is(err, ErrState) {
				t.Errorf("RestoreState: %v, want ErrState", err)
			}
			if n := e.Stats().Groups; n != 1 {
				t.Errorf("a failed restore changed the state: %d groups", n)
			}
		})
	}
	// State of a correlation whose threshold changed is dropped, not an error.
	changed := loadRules(t, "temporal.yml")
	changed[0].Rules = changed[0].Rules[:2]
	if e2, err := New(Config{}, changed); err != nil {
		t.Fatal(err)
	} else if err := e2.RestoreState(good); err != nil || e2.Stats().Groups != 0 {
		t.Errorf("changed rule: %v, %d groups", err, e2.Stats().Groups)
	}
	// So is state of a correlation that is no longer loaded.
	other, err := New(Config{}, loadRules(t, "event_count.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RestoreState(good); err != nil || other.Stats().Groups != 0 {
		t.Errorf("foreign state: %v, %d groups", err, other.Stats().Groups)
	}
}

func groupJSON(t *testing.T, state []byte) string {
	s := string(state)
	i := strings.Index(s, `"groups":[`) + len(`"groups":[`)
	j := strings.LastIndex(s, "]}")
	if i < 0 || j < i {
		t.Fatalf("unexpected state %s", s)
	}
	return s[i:j]
}
