package correlate

import (
	"slices"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

// TestConditionOperators runs each operator over groups of 1..5 events in
// one window and checks which group sizes fire, and when.
func TestConditionOperators(t *testing.T) {
	tests := []struct {
		name     string
		typ      sigma.CorrelationType
		compares []sigma.Compare
		fires    []int // group sizes that fire
		atEvent  bool  // fires on the event reaching the threshold, not at window close
	}{
		{"gte", sigma.EventCount, []sigma.Compare{{Op: sigma.OpGTE, Value: 3}}, []int{3, 4, 5}, true},
		{"gt", sigma.EventCount, []sigma.Compare{{Op: sigma.OpGT, Value: 3}}, []int{4, 5}, true},
		{"gt fraction", sigma.EventCount, []sigma.Compare{{Op: sigma.OpGT, Value: 2.5}}, []int{3, 4, 5}, true},
		{"lt", sigma.EventCount, []sigma.Compare{{Op: sigma.OpLT, Value: 3}}, []int{1, 2}, false},
		{"lte", sigma.EventCount, []sigma.Compare{{Op: sigma.OpLTE, Value: 3}}, []int{1, 2, 3}, false},
		{"eq", sigma.EventCount, []sigma.Compare{{Op: sigma.OpEQ, Value: 3}}, []int{3}, false},
		{"neq", sigma.EventCount, []sigma.Compare{{Op: sigma.OpNEQ, Value: 3}}, []int{1, 2, 4, 5}, false},
		{"range", sigma.EventCount, []sigma.Compare{{Op: sigma.OpGT, Value: 1}, {Op: sigma.OpLTE, Value: 3}}, []int{2, 3}, false},
		{"value_count gte", sigma.ValueCount, []sigma.Compare{{Op: sigma.OpGTE, Value: 2}}, []int{2, 3, 4, 5}, true},
		{"value_count eq", sigma.ValueCount, []sigma.Compare{{Op: sigma.OpEQ, Value: 2}}, []int{2}, false},
		{"temporal gte 2 of 5", sigma.Temporal, []sigma.Compare{{Op: sigma.OpGTE, Value: 2}}, []int{2, 3, 4, 5}, true},
		{"temporal_ordered gte 2 of 5", sigma.TemporalOrdered, []sigma.Compare{{Op: sigma.OpGTE, Value: 2}}, []int{2, 3, 4, 5}, true},
		{"temporal_ordered lt 3 of 5", sigma.TemporalOrdered, []sigma.Compare{{Op: sigma.OpLT, Value: 3}}, []int{1, 2}, false},
		{"value_sum gte", sigma.ValueSum, []sigma.Compare{{Op: sigma.OpGTE, Value: 3}}, []int{3, 4, 5}, true},
		{"value_sum eq", sigma.ValueSum, []sigma.Compare{{Op: sigma.OpEQ, Value: 3}}, []int{3}, false},
		{"value_avg", sigma.ValueAvg, []sigma.Compare{{Op: sigma.OpGT, Value: 0.5}}, []int{1, 2, 3, 4, 5}, false},
	}
	rules := []string{"r0", "r1", "r2", "r3", "r4"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := corr(tt.typ, "c", "", "r0")
			if c.Condition == nil {
				c.Condition = &sigma.CorrelationCondition{}
			}
			c.Condition.Compares = tt.compares
			if tt.typ == sigma.Temporal || tt.typ == sigma.TemporalOrdered {
				c.Rules = rules
			}
			e, err := New(Config{}, []*sigma.Correlation{c})
			if err != nil {
				t.Fatal(err)
			}
			var fired []int
			var atEvent []bool
			closing := false
			emit := func(a Alert) {
				var size int
				for _, r := range []rune(a.Group[0].Value.Str) {
					size = int(r - '0')
				}
				fired = append(fired, size)
				atEvent = append(atEvent, !closing)
			}
			for size := 1; size <= 5; size++ {
				user := string(rune('0' + size))
				for i := range size {
					ev := &event.Event{Time: base.Add(time.Duration(i) * time.Second), Fields: []event.Field{
						{Name: "User", Value: event.S(user)},
						{Name: "f", Value: event.N(1)}, // sum = count
					}}
					if tt.typ == sigma.ValueCount {
						ev.Fields[1].Value = event.N(float64(i))
					}
					rule := "r0"
					if tt.typ == sigma.Temporal || tt.typ == sigma.TemporalOrdered {
						rule = rules[i]
					}
					e.Observe("", rule, ev, emit)
				}
			}
			closing = true
			e.Advance(base.Add(time.Hour), emit)
			slices.Sort(fired)
			if !slices.Equal(fired, tt.fires) {
				t.Errorf("fired for sizes %v, want %v", fired, tt.fires)
			}
			for i, at := range atEvent {
				if at != tt.atEvent {
					t.Errorf("alert %d fired on an event: %v, want %v", i, at, tt.atEvent)
				}
			}
		})
	}
}

// TestChainEvidence: the outer alert of a chain carries the inner alert's
// latest event's fields, so an outer group-by may use a field the inner
// correlation did not group by.
func TestChainEvidence(t *testing.T) {
	inner := corr(sigma.EventCount, "", "burst", "failed")
	inner.GroupBy = []string{"Computer"}
	outer := corr(sigma.Temporal, "", "outer", "burst", "success")
	outer.GroupBy = []string{"User"}
	e, err := New(Config{}, []*sigma.Correlation{outer, inner})
	if err != nil {
		t.Fatal(err)
	}
	var got []Alert
	emit := func(a Alert) { got = append(got, a) }
	for i := range 2 {
		e.Observe("", "failed", &event.Event{Time: base.Add(time.Duration(i) * time.Second), Fields: []event.Field{
			{Name: "Computer", Value: event.S("dc1")}, {Name: "User", Value: event.S("bob")},
		}}, emit)
	}
	e.Observe("", "success", &event.Event{Time: base.Add(5 * time.Second), Fields: []event.Field{
		{Name: "User", Value: event.S("bob")},
	}}, emit)
	if len(got) != 1 || got[0].Rule != outer {
		t.Fatalf("got %d alerts %v, want the outer one", len(got), got)
	}
	if v := got[0].Group[0].Value.Str; v != "bob" {
		t.Errorf("group %q", v)
	}
	if len(got[0].Events) != 2 {
		t.Errorf("%d evidence events, want one per rule", len(got[0].Events))
	}
}

// TestUntimedEvents: an event without a time happens at the latest time
// seen, and nil events are ignored.
func TestUntimedEvents(t *testing.T) {
	c := corr(sigma.EventCount, "c", "", "r")
	e, err := New(Config{}, []*sigma.Correlation{c})
	if err != nil {
		t.Fatal(err)
	}
	fired := 0
	emit := func(a Alert) {
		fired++
		if !a.Last.Equal(base) {
			t.Errorf("last %v, want %v", a.Last, base)
		}
	}
	user := []event.Field{{Name: "User", Value: event.L(event.S("a"), event.S("b"))}}
	e.Observe("", "r", nil, emit)
	e.Observe("", "r", &event.Event{Time: base, Fields: user}, emit)
	e.Observe("", "r", &event.Event{Fields: user}, emit)
	if fired != 1 {
		t.Errorf("fired %d, want 1", fired)
	}
}
