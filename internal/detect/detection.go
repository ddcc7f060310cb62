// Package detect runs the detection engines over a stream of events and
// produces detections: Sigma rule matches, correlation hits, and (later)
// indicator and behaviour matches, in one shape the CLI, the server pipeline
// and the alerting code share.
//
// It wires engines together; it does not parse rules or events itself.
package detect

import (
	"strings"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// Level is a Sigma rule level, ordered so that comparisons mean severity.
type Level int

// The Sigma levels, lowest first. LevelUnknown sorts below everything.
const (
	LevelUnknown Level = iota
	LevelInformational
	LevelLow
	LevelMedium
	LevelHigh
	LevelCritical
)

var levelNames = [...]string{"unknown", "informational", "low", "medium", "high", "critical"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return "unknown"
	}
	return levelNames[l]
}

// ParseLevel reads a level name; "info" is accepted for informational. The
// second result is false for anything else.
func ParseLevel(s string) (Level, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "info" {
		return LevelInformational, true
	}
	for i, n := range levelNames {
		if i > 0 && n == s {
			return Level(i), true
		}
	}
	return LevelUnknown, false
}

// Kind says which engine produced a detection.
type Kind string

// The detection kinds.
const (
	KindSigma       Kind = "sigma"
	KindCorrelation Kind = "correlation"
)

// Detection is one match: a rule (or correlation) and the event(s) behind it.
type Detection struct {
	Kind      Kind
	RuleID    string
	RuleTitle string
	Level     Level
	Tags      []string
	// Event is the matched event; for a correlation, the last event that
	// completed it.
	Event *event.Event
	// Matched names the event fields that made the rule match, where known.
	Matched []string
	// Correlation evidence: the group-by values, the count or aggregated
	// value, the window, and a bounded sample of the events.
	Group       []event.Field
	Count       int
	Value       float64
	First, Last time.Time
	Events      []*event.Event
}

// Time is the detection's time: the event's.
func (d *Detection) Time() time.Time {
	if d.Event != nil && !d.Event.Time.IsZero() {
		return d.Event.Time
	}
	return d.Last
}
