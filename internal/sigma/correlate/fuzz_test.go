package correlate

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
)

// FuzzRestoreState: RestoreState of any input either errors with ErrState
// or yields an engine that saves the same state again and keeps working.
func FuzzRestoreState(f *testing.F) {
	var files []string
	for _, tc := range cases {
		if !slices.Contains(files, tc.file) {
			files = append(files, tc.file)
		}
	}
	var rules = loadRules(f, files[0])
	for _, file := range files[1:] {
		rules = append(rules, loadRules(f, file)...)
	}
	newEngine := func(t testing.TB) *Engine {
		e, err := New(Config{MaxGroups: 50, MaxEventsPerAlert: 3}, rules)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// Seeds: the state after every step of every case, all in one engine.
	e := newEngine(f)
	for _, tc := range cases {
		for _, s := range tc.steps {
			s.run(e, nil)
			data, err := e.MarshalState()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte(`{"version":1,"groups":[{"rule":"id:3c7bbd8e-1f6a-4c43-9a0e-2f1b5f3e7d10","type":"temporal","by":[],"last":0}]}`))
	f.Add([]byte(`{"version":1,"groups":null}`))
	f.Add([]byte(`null`))
	f.Add([]byte{0xff, 0x00})
	probe := cases[0].steps
	f.Fuzz(func(t *testing.T, data []byte) {
		e := newEngine(t)
		if err := e.RestoreState(data); err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("error not ErrState: %v", err)
			}
			return
		}
		saved, err := e.MarshalState()
		if err != nil {
			t.Fatalf("MarshalState after a successful restore: %v", err)
		}
		again := newEngine(t)
		if err := again.RestoreState(saved); err != nil {
			t.Fatalf("restoring saved state: %v\n%s", err, saved)
		}
		if n := e.Stats().Groups; n > 50 {
			t.Fatalf("%d groups beyond MaxGroups", n)
		}
		// The restored engine must keep working on any kind of input.
		for _, tc := range cases {
			for _, s := range tc.steps {
				s.run(e, func(Alert) {})
			}
		}
		for _, s := range probe {
			s.run(again, nil)
		}
		e.Advance(base.Add(1000*time.Hour), nil)
	})
}

// FuzzObserve drives every fixture's correlations with arbitrary sequences
// of matches (rule, group, field value, time step, Advance), checking that
// nothing panics, MaxGroups holds, and saved state restores to itself.
func FuzzObserve(f *testing.F) {
	var rules []*sigma.Correlation
	var refs []string
	for _, tc := range cases {
		if slices.ContainsFunc(rules, func(c *sigma.Correlation) bool { return strings.HasSuffix(c.Path, tc.file) }) {
			continue
		}
		for _, c := range loadRules(f, tc.file) {
			rules = append(rules, c)
			for _, r := range c.Rules {
				if !slices.Contains(refs, r) {
					refs = append(refs, r)
				}
			}
		}
	}
	fieldNames := []string{"User", "ComputerName", "WorkstationName", "SourceIP", "source.ip", "destination.ip",
		"bytes_sent", "BytesOut", "Image", "Computer"}
	f.Add([]byte{0, 0, 0, 1, 0, 0, 2, 0, 1, 3, 1, 0, 255, 9, 9})
	f.Add(bytes.Repeat([]byte{1, 2, 3}, 40))
	f.Fuzz(func(t *testing.T, ops []byte) {
		const maxGroups = 8
		e, err := New(Config{MaxGroups: maxGroups, MaxEventsPerAlert: 2}, rules)
		if err != nil {
			t.Fatal(err)
		}
		now := base
		for i := 0; i+2 < len(ops); i += 3 {
			op, group, step := ops[i], ops[i+1], ops[i+2]
			now = now.Add(time.Duration(int8(step)) * 7 * time.Second) // sometimes backwards
			if op == 255 {
				e.Advance(now, func(Alert) {})
				continue
			}
			ev := &event.Event{Time: now}
			if group&0x80 != 0 {
				ev.Time = time.Time{}
			}
			for j, name := range fieldNames {
				if group>>(j%7)&1 == 0 || j == int(op)%len(fieldNames) {
					ev.Fields = append(ev.Fields, event.Field{Name: name, Value: event.N(float64(group % 5))})
				}
			}
			e.Observe("", refs[int(op)%len(refs)], ev, func(a Alert) {
				if a.Rule == nil || a.Last.Before(a.First) && !a.First.IsZero() {
					t.Fatalf("bad alert %+v", a)
				}
			})
			if n := e.Stats().Groups; n > maxGroups {
				t.Fatalf("%d groups", n)
			}
		}
		data, err := e.MarshalState()
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := New(Config{MaxGroups: maxGroups, MaxEventsPerAlert: 2}, rules)
		if err != nil {
			t.Fatal(err)
		}
		if err := fresh.RestoreState(data); err != nil {
			t.Fatalf("restore: %v\n%s", err, data)
		}
		again, _ := fresh.MarshalState()
		if !bytes.Equal(again, data) {
			t.Fatalf("round trip changed state:\n%s\n%s", data, again)
		}
	})
}
