package detect

import (
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

const rules = `title: Failed Logon
id: 11111111-1111-4111-8111-111111111111
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
level: low
---
title: Successful Logon
id: 22222222-2222-4222-8222-222222222222
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
  condition: selection
level: informational
---
title: Brute Force Then Success
id: 33333333-3333-4333-8333-333333333333
correlation:
  type: temporal_ordered
  rules:
    - 11111111-1111-4111-8111-111111111111
    - 22222222-2222-4222-8222-222222222222
  group-by: [TargetUserName]
  timespan: 10m
level: high
`

func logon(id int, user string, sec int) *event.Event {
	return &event.Event{
		Time: time.Date(2023, 3, 29, 10, 0, sec, 0, time.UTC), Host: "dc1",
		Logsource: event.Logsource{Product: "windows", Service: "security"},
		Fields: []event.Field{{Name: "EventID", Value: event.N(float64(id))},
			{Name: "TargetUserName", Value: event.S(user)}},
	}
}

func newRunner(t *testing.T, cfg Config) *Runner {
	t.Helper()
	cfg.Rules = sigma.ParseFile("r.yml", []byte(rules))
	r, errs, err := New(cfg)
	if err != nil || len(errs) > 0 || len(cfg.Rules.Errors) > 0 {
		t.Fatal(err, errs, cfg.Rules.Errors)
	}
	return r
}

// Matches reach the correlation in event-time order whatever order Match
// saw them in (parallel workers read files in any order).
func TestFlushOrdersByEventTime(t *testing.T) {
	r := newRunner(t, Config{})
	var got []*Detection
	emit := func(d *Detection) { got = append(got, d) }
	// The success arrives first, the failure (earlier in time) second.
	r.Match(logon(4624, "bob", 30), emit)
	r.Match(logon(4625, "bob", 10), emit)
	if len(got) != 0 {
		t.Fatalf("referenced rules alerted on their own: %+v", got)
	}
	r.Flush(emit)
	if len(got) != 1 || got[0].Kind != KindCorrelation || got[0].Level != LevelHigh {
		t.Fatalf("got %+v, want one high correlation", got)
	}
	if got[0].Event == nil || got[0].Event.Time.Second() != 30 {
		t.Errorf("correlation's event should be the completing one: %+v", got[0].Event)
	}
}

func TestFilters(t *testing.T) {
	r := newRunner(t, Config{MinLevel: LevelHigh})
	var got []*Detection
	emit := func(d *Detection) { got = append(got, d) }
	r.Match(logon(4625, "eve", 1), emit)
	r.Match(logon(4624, "eve", 2), emit)
	r.Flush(emit)
	if len(got) != 1 || got[0].RuleID != "33333333-3333-4333-8333-333333333333" {
		t.Fatalf("min level high: %+v", got)
	}

	r = newRunner(t, Config{RuleIDs: []string{"22222222-2222-4222-8222-222222222222"}})
	got = nil
	r.Match(logon(4625, "eve", 1), emit)
	r.Match(logon(4624, "eve", 2), emit)
	r.Flush(emit)
	if len(got) != 0 {
		t.Fatalf("rule-id filter let through %+v (the base rule is suppressed by its correlation)", got)
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"critical": LevelCritical, "HIGH": LevelHigh, "info": LevelInformational, " low ": LevelLow} {
		if got, ok := ParseLevel(in); !ok || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := ParseLevel("severe"); ok {
		t.Error("severe is not a level")
	}
}
