package correlate

import (
	"errors"
	"slices"
	"testing"
	"time"
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
