package correlate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/vigilsoc/vigil/internal/event"
)

// stateVersion changes whenever the saved shape does; RestoreState rejects
// other versions rather than guessing.
const stateVersion = 1

// The saved shape is JSON: state is written rarely (at shutdown, at
// checkpoints), read once, and must stay inspectable when something looks
// wrong after a restart.
type savedState struct {
	Version int          `json:"version"`
	Latest  int64        `json:"latest,omitempty"`
	Groups  []savedGroup `json:"groups"`
}

type savedGroup struct {
	Rule string `json:"rule"` // the correlation's identity: id:, name: or title:
	// Shape is what the saved state's layout depends on; a rule whose shape
	// changed since the state was saved starts afresh.
	Shape  string           `json:"shape"`
	By     []savedField     `json:"by"`
	Open   bool             `json:"open,omitempty"`
	First  int64            `json:"first,omitempty"`
	Last   int64            `json:"last"`
	Muted  bool             `json:"muted,omitempty"`
	Until  int64            `json:"until,omitempty"`
	N      int              `json:"n,omitempty"`
	Sum    float64          `json:"sum,omitempty"`
	Times  []int64          `json:"times,omitempty"`
	Vals   []savedSeen      `json:"vals,omitempty"`
	Freq   map[string]int   `json:"freq,omitempty"`
	Pos    []int64          `json:"pos,omitempty"`
	End    []int64          `json:"end,omitempty"`
	Step   int              `json:"step,omitempty"`
	Events []*event.Event   `json:"events,omitempty"`
	Chains [][]*event.Event `json:"chains,omitempty"`
}

type savedField struct {
	Name  string     `json:"name"`
	Value savedValue `json:"value"`
}

type savedValue struct {
	Kind  event.Kind   `json:"kind"`
	Str   string       `json:"str,omitempty"`
	Num   float64      `json:"num,omitempty"`
	Items []savedValue `json:"items,omitempty"`
}

type savedSeen struct {
	V string `json:"v"`
	T int64  `json:"t"`
}

// MarshalState saves every live group, least recently updated first, so
// that RestoreState rebuilds the eviction order too.
func (e *Engine) MarshalState() ([]byte, error) {
	st := savedState{Version: stateVersion, Latest: e.latest, Groups: make([]savedGroup, 0, e.live)}
	for g := e.tail; g != nil; g = g.gprev {
		sg := savedGroup{
			Rule: g.rule.key, Shape: g.rule.shape(),
			Open: g.open, First: g.first, Last: g.last, Muted: g.muted, Until: g.until,
			N: g.n, Sum: g.sum, Times: g.times[g.th:], Pos: g.pos, End: g.end, Step: g.step,
			Freq: g.freq, Chains: g.chains,
		}
		for _, f := range g.by {
			sg.By = append(sg.By, savedField{Name: f.Name, Value: saveValue(f.Value)})
		}
		for _, v := range g.vals {
			sg.Vals = append(sg.Vals, savedSeen{V: v.v, T: v.t})
		}
		if g.rule.kind.positional() {
			sg.Events = g.ev
		} else {
			for i := range g.ev { // oldest first
				sg.Events = append(sg.Events, g.ev[(g.evNext+i)%len(g.ev)])
			}
		}
		st.Groups = append(st.Groups, sg)
	}
	return json.Marshal(st)
}

func saveValue(v event.Value) savedValue {
	sv := savedValue{Kind: v.Kind, Str: v.Str, Num: v.Num}
	for _, it := range v.Items {
		sv.Items = append(sv.Items, saveValue(it))
	}
	return sv
}

func loadValue(sv savedValue) (event.Value, error) {
	if sv.Kind > event.List {
		return event.Value{}, fmt.Errorf("unknown value kind %d", sv.Kind)
	}
	v := event.Value{Kind: sv.Kind, Str: sv.Str, Num: sv.Num}
	for _, it := range sv.Items {
		x, err := loadValue(it)
		if err != nil {
			return event.Value{}, err
		}
		v.Items = append(v.Items, x)
	}
	return v, nil
}

// RestoreState replaces the engine's state with saved state. Groups of
// correlations that no longer exist, or whose type changed, are dropped:
// rules change between restarts. Anything malformed is an ErrState error and
// leaves the engine's state as it was.
func (e *Engine) RestoreState(data []byte) error {
	var st savedState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", ErrState)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrState, st.Version, stateVersion)
	}
	var groups []*group
	dropped := 0
	seenKeys := map[*rule]map[string]bool{}
	for i, sg := range st.Groups {
		r, ok := e.byKey[sg.Rule]
		if !ok || r.shape() != sg.Shape {
			dropped++
			continue
		}
		g, err := r.load(sg)
		if err != nil {
			return fmt.Errorf("%w: group %d (%s): %w", ErrState, i, sg.Rule, err)
		}
		if seenKeys[r] == nil {
			seenKeys[r] = map[string]bool{}
		}
		if seenKeys[r][g.key] {
			return fmt.Errorf("%w: group %d (%s): duplicate group", ErrState, i, sg.Rule)
		}
		seenKeys[r][g.key] = true
		groups = append(groups, g)
	}
	if dropped > 0 {
		e.log.Info("dropped saved correlation state of changed or removed rules", "groups", dropped)
	}
	// Valid: replace the current state.
	for _, r := range e.rules {
		r.groups = map[string]*group{}
		r.head, r.tail = nil, nil
	}
	e.head, e.tail, e.live = nil, nil, 0
	e.latest = st.Latest
	for _, g := range groups {
		e.insert(g) // evicts beyond MaxGroups, oldest first
	}
	return nil
}

// load rebuilds one group, checking everything an Observe relies on.
func (r *rule) load(sg savedGroup) (*group, error) {
	g := &group{rule: r}
	if len(sg.By) != len(r.groupBy) {
		return nil, fmt.Errorf("%d group-by values, want %d", len(sg.By), len(r.groupBy))
	}
	for i, f := range sg.By {
		if f.Name != r.groupBy[i] {
			return nil, fmt.Errorf("group-by %q, want %q", f.Name, r.groupBy[i])
		}
		v, err := loadValue(f.Value)
		if err != nil {
			return nil, err
		}
		g.by = append(g.by, event.Field{Name: f.Name, Value: v})
	}
	g.key = keyOf(g.by)
	g.open, g.first, g.last, g.muted, g.until = sg.Open, sg.First, sg.Last, sg.Muted, sg.Until
	if sg.N < 0 || sg.N > math.MaxInt32 || sg.Step < 0 {
		return nil, fmt.Errorf("count %d out of range", sg.N)
	}
	if math.IsNaN(sg.Sum) || math.IsInf(sg.Sum, 0) {
		return nil, fmt.Errorf("sum is not finite")
	}
	g.n, g.sum = sg.N, sg.Sum
	g.init()
	positional := r.kind.positional()
	if positional {
		if len(sg.Pos) != r.positions {
			return nil, fmt.Errorf("%d positions, want %d", len(sg.Pos), r.positions)
		}
		copy(g.pos, sg.Pos)
		if g.end != nil {
			if len(sg.End) != r.positions {
				return nil, fmt.Errorf("%d chain ends, want %d", len(sg.End), r.positions)
			}
			copy(g.end, sg.End)
		} else if len(sg.End) > 0 {
			return nil, fmt.Errorf("chain ends for a %s correlation in %s mode", r.src.Type, modeName(r.mode))
		}
		if sg.Step > r.positions {
			return nil, fmt.Errorf("step %d beyond %d positions", sg.Step, r.positions)
		}
		g.step = sg.Step
	} else if len(sg.Pos) > 0 || len(sg.End) > 0 || sg.Step != 0 {
		return nil, fmt.Errorf("positions for a %s correlation", r.src.Type)
	}
	if len(sg.Times) > 0 && (r.kind != eventCount || r.mode != sliding) {
		return nil, fmt.Errorf("timestamps for a %s correlation", r.src.Type)
	}
	g.times = slices.Clone(sg.Times)
	slices.Sort(g.times)
	if len(g.times) > r.need {
		g.times = g.times[len(g.times)-r.need:]
	}
	if len(sg.Vals) > 0 && r.kind != valueCount {
		return nil, fmt.Errorf("values for a %s correlation", r.src.Type)
	}
	limit := r.need
	if r.mode != sliding {
		limit = r.limit
	}
	if len(sg.Vals) > limit {
		return nil, fmt.Errorf("%d values, limit %d", len(sg.Vals), limit)
	}
	for _, v := range sg.Vals {
		if slices.ContainsFunc(g.vals, func(s seen) bool { return s.v == v.V }) {
			return nil, fmt.Errorf("duplicate value %q", v.V)
		}
		g.vals = append(g.vals, seen{v: v.V, t: v.T})
	}
	slices.SortStableFunc(g.vals, func(a, b seen) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return 0
	})
	if len(sg.Freq) > 0 && r.kind != valuePercentile {
		return nil, fmt.Errorf("frequencies for a %s correlation", r.src.Type)
	}
	if len(sg.Freq) > r.limit {
		return nil, fmt.Errorf("%d frequencies, limit %d", len(sg.Freq), r.limit)
	}
	for v, c := range sg.Freq {
		if c <= 0 {
			return nil, fmt.Errorf("frequency %d of %q", c, v)
		}
		if g.freq == nil {
			g.freq = map[string]int{}
		}
		g.freq[v] = c
	}
	if positional {
		if len(sg.Events) > r.positions {
			return nil, fmt.Errorf("%d evidence events for %d positions", len(sg.Events), r.positions)
		}
		copy(g.ev, sg.Events) // MaxEventsPerAlert may have shrunk
	} else {
		for _, x := range sg.Events {
			if x == nil {
				return nil, fmt.Errorf("null evidence event")
			}
		}
		if len(sg.Events) > r.evidence {
			sg.Events = sg.Events[len(sg.Events)-r.evidence:]
		}
		g.ev = sg.Events
		if len(g.ev) == r.evidence && r.evidence > 0 {
			g.evNext = 0
		}
	}
	if g.chains != nil {
		if len(sg.Chains) != 0 && len(sg.Chains) != r.positions {
			return nil, fmt.Errorf("%d chains, want %d", len(sg.Chains), r.positions)
		}
		for i, c := range sg.Chains {
			if len(c) > r.positions {
				return nil, fmt.Errorf("chain %d holds %d events for %d positions", i, len(c), r.positions)
			}
			c = c[len(c)-min(len(c), r.evidence):]
			for _, x := range c {
				if x == nil {
					return nil, fmt.Errorf("null evidence event in chain %d", i)
				}
			}
			g.chains[i] = c
		}
	} else if len(sg.Chains) > 0 {
		return nil, fmt.Errorf("chains for a %s correlation", r.src.Type)
	}
	return g, nil
}

func modeName(m mode) string {
	switch m {
	case sliding:
		return "sliding"
	case tumblingArrival:
		return "tumbling"
	case tumblingClose:
		return "close"
	}
	return "?"
}
