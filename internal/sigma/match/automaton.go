package match

// Automaton finds every occurrence of a fixed set of patterns in a text,
// ignoring ASCII case.
type Automaton struct{}

// NewAutomaton builds an Automaton for patterns.
func NewAutomaton(patterns []string) *Automaton { return &Automaton{} }

// Scan calls fn with the index of every pattern occurring in s, once per
// occurrence, overlapping occurrences included.
func (a *Automaton) Scan(s string, fn func(pattern int)) {}
