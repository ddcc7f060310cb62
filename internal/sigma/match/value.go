package match

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsoc/vigil/internal/event"
)

// pred tests one scalar (non-list) event value against one rule value.
type pred interface {
	match(v event.Value, ev *event.Event) bool
}

// textPred matches the text of strings, numbers and bools (event.Value.Str
// holds it as written) against a pattern; null has no text.
type textPred struct{ m textMatcher }

func (p *textPred) match(v event.Value, _ *event.Event) bool {
	if v.Kind == event.Null {
		return false
	}
	return p.m.matchText(v.Str)
}

// numberPred is a number written in the rule without modifiers. It matches
// an event number of equal value, and event text that either equals the
// rule's text (ignoring case, so 0x1F and 0x1f) or parses as an equal
// number (decimal, float, or 0x hex: EventID "4688" and 4688 alike).
type numberPred struct {
	n    float64
	text string // lower-cased
}

func (p *numberPred) match(v event.Value, _ *event.Event) bool {
	switch v.Kind {
	case event.Number:
		return v.Num == p.n
	case event.String:
		if equalLower(v.Str, p.text) {
			return true
		}
		f, ok := parseNumber(v.Str)
		return ok && f == p.n
	}
	return false
}

// boolPred is true or false in the rule: it matches an event bool or the
// text "true"/"false" in any case.
type boolPred struct{ text string }

func (p *boolPred) match(v event.Value, _ *event.Event) bool {
	switch v.Kind {
	case event.Bool, event.String:
		return equalLower(v.Str, p.text)
	}
	return false
}

// nullPred is null in the rule: it matches a null value (and, through
// MatchesMissing, a missing field).
type nullPred struct{}

func (nullPred) match(v event.Value, _ *event.Event) bool { return v.Kind == event.Null }

// regexPred runs a regular expression, after a prefilter: the expression
// requires one literal of each required set (regexRequiredSets), and text
// missing a set is rejected without running the regexp engine.
type regexPred struct {
	re       *regexp.Regexp
	required [][]substr
}

func (p *regexPred) match(v event.Value, _ *event.Event) bool {
	if v.Kind == event.Null {
		return false
	}
	for _, set := range p.required {
		found := false
		for i := range set {
			if set[i].index(v.Str, 0) >= 0 {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return p.re.MatchString(v.Str)
}

type cmpOp uint8

const (
	opEq cmpOp = iota
	opLt
	opLte
	opGt
	opGte
)

func (op cmpOp) apply(a, b float64) bool {
	switch op {
	case opLt:
		return a < b
	case opLte:
		return a <= b
	case opGt:
		return a > b
	case opGte:
		return a >= b
	}
	return a == b
}

// comparePred is lt/lte/gt/gte: the event value must be a number or text
// that parses as one.
type comparePred struct {
	op cmpOp
	n  float64
}

func (p *comparePred) match(v event.Value, _ *event.Event) bool {
	f, ok := valueNumber(v)
	return ok && p.op.apply(f, p.n)
}

func valueNumber(v event.Value) (float64, bool) {
	switch v.Kind {
	case event.Number:
		return v.Num, true
	case event.String:
		return parseNumber(v.Str)
	}
	return 0, false
}

// parseNumber is event.Value.Number without the allocation strconv makes
// for its error on text that is not a number (the common case when a rule
// number meets a free-text field): it rejects such text before parsing.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return 0, false
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		var u uint64
		for i := 2; i < len(s); i++ {
			c := s[i]
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c && c <= 'f':
				d = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				d = c - 'A' + 10
			default:
				return 0, false
			}
			if u > (1<<64-1)>>4 {
				return 0, false
			}
			u = u<<4 | uint64(d)
		}
		return float64(u), true
	}
	digits, dots, exps := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			digits++
		case c == '.':
			dots++
			if dots > 1 || exps > 0 {
				return 0, false
			}
		case c == 'e' || c == 'E':
			exps++
			if exps > 1 || digits == 0 || i == len(s)-1 {
				return 0, false
			}
		case c == '+' || c == '-':
			if i != 0 && s[i-1] != 'e' && s[i-1] != 'E' {
				return 0, false
			}
			if i == len(s)-1 {
				return 0, false
			}
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

type timePart uint8

const (
	partMinute timePart = iota
	partHour
	partDay
	partWeek
	partMonth
	partYear
)

func timePartByName(name string) (timePart, bool) {
	switch name {
	case "minute":
		return partMinute, true
	case "hour":
		return partHour, true
	case "day":
		return partDay, true
	case "week":
		return partWeek, true
	case "month":
		return partMonth, true
	case "year":
		return partYear, true
	}
	return 0, false
}

// timePred is minute/hour/day/week/month/year: the part is read from the
// event's timestamp text as written (the specification excludes time zone
// conversion) and compared for equality. week is the ISO 8601 week.
type timePred struct {
	part timePart
	n    int
}

func (p *timePred) match(v event.Value, _ *event.Event) bool {
	if v.Kind != event.String {
		return false
	}
	got, ok := timestampPart(v.Str, p.part)
	return ok && got == p.n
}

// timestampPart reads YYYY-MM-DD[(T| )hh:mm[:ss[.frac]][zone]] without
// allocating. Hour and minute need the time of day.
func timestampPart(s string, part timePart) (int, bool) {
	s = strings.TrimSpace(s)
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, len(s) > 0
	}
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := num(s[0:4])
	mo, ok2 := num(s[5:7])
	d, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, false
	}
	switch part {
	case partYear:
		return y, true
	case partMonth:
		return mo, true
	case partDay:
		return d, true
	case partWeek:
		_, w := time.Date(y, time.Month(mo), d, 12, 0, 0, 0, time.UTC).ISOWeek()
		return w, true
	}
	if len(s) < 16 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' {
		return 0, false
	}
	h, ok1 := num(s[11:13])
	mi, ok2 := num(s[14:16])
	if !ok1 || !ok2 || h > 23 || mi > 59 {
		return 0, false
	}
	if part == partHour {
		return h, true
	}
	return mi, true
}

// cidrPred matches IP address text inside a network. IPv4-mapped IPv6
// addresses (::ffff:10.0.0.1) match IPv4 networks; a zone (%eth0) is ignored.
type cidrPred struct{ prefix netip.Prefix }

func (p *cidrPred) match(v event.Value, _ *event.Event) bool {
	if v.Kind != event.String {
		return false
	}
	s := strings.TrimSpace(v.Str)
	if i := strings.IndexByte(s, '%'); i >= 0 {
		s = s[:i]
	}
	// netip.ParseAddr allocates its error; most text is rejected here first.
	if len(s) < 2 || len(s) > 45 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':') {
			return false
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	return p.prefix.Contains(a.Unmap())
}

type refMode uint8

const (
	refEqual refMode = iota
	refPrefix
	refSuffix
	refContains
)

// fieldRefPred compares the value with another field of the same event
// (Sigma's fieldref), case-insensitively unless cased. A missing or null
// referenced field never matches; a list matches when any item does.
type fieldRefPred struct {
	field string
	mode  refMode
	fold  bool
}

func (p *fieldRefPred) match(v event.Value, ev *event.Event) bool {
	if ev == nil || v.Kind == event.Null {
		return false
	}
	other, ok := ev.GetFold(p.field)
	if !ok {
		return false
	}
	return p.against(v.Str, other)
}

func (p *fieldRefPred) against(s string, other event.Value) bool {
	switch other.Kind {
	case event.Null:
		return false
	case event.List:
		for _, it := range other.Items {
			if p.against(s, it) {
				return true
			}
		}
		return false
	}
	o := other.Str
	switch p.mode {
	case refPrefix:
		if p.fold {
			return len(s) >= len(o) && equalFoldBoth(s[:len(o)], o)
		}
		return strings.HasPrefix(s, o)
	case refSuffix:
		if p.fold {
			return len(s) >= len(o) && equalFoldBoth(s[len(s)-len(o):], o)
		}
		return strings.HasSuffix(s, o)
	case refContains:
		if p.fold {
			for i := 0; i+len(o) <= len(s); i++ {
				if equalFoldBoth(s[i:i+len(o)], o) {
					return true
				}
			}
			return false
		}
		return strings.Contains(s, o)
	}
	if p.fold {
		return strings.EqualFold(s, o)
	}
	return s == o
}

// equalFoldBoth compares two event texts of equal length ignoring ASCII case.
func equalFoldBoth(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// containsAnyPred replaces many case-insensitive contains values OR-ed
// together (rules often list dozens of suspicious strings) with one pass of
// an Automaton over the text instead of one search per value.
type containsAnyPred struct {
	a    *Automaton
	lits []string // the patterns, for Sufficient
}

func (p *containsAnyPred) match(v event.Value, _ *event.Event) bool {
	return v.Kind != event.Null && p.a.matchesAny(v.Str)
}
