package match

import (
	"errors"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"

	"github.com/vigilsoc/vigil/internal/event"
)

// kind of a rule value as modifiers turn it from what YAML gave into what
// will be matched.
type itemKind uint8

const (
	kString itemKind = iota
	kNumber
	kBool
	kNull
	kRegex
	kCIDR
	kFieldRef
	kCompare
	kTime
	kExists
)

// item is one rule value on its way through the modifiers. group is the
// index of the value it came from: windash, base64offset and expand turn
// one value into alternatives that are OR-ed even under all.
type item struct {
	kind        itemKind
	group       int
	raw         string  // the value as written, for re, cidr and fieldref
	pat         pattern // kString
	num         float64 // kNumber, kCompare, kTime
	numText     string
	b           bool // kBool, kExists
	transformed bool // a value-changing modifier has been applied
	reFlags     string
	reStart     bool
	reEnd       bool
	prefix      netip.Prefix
	op          cmpOp
	part        timePart
	ref         string
	refStart    bool
	refEnd      bool
}

// Compile builds a Matcher from a Spec, applying the modifiers left to right
// as the specification says ("The value modifiers are applied in the given
// order"): wide|base64offset|contains encodes UTF-16 first, then base64 at
// three offsets, then matches the result anywhere.
func Compile(spec Spec) (*Matcher, error) {
	c := compiler{spec: spec}
	return c.compile()
}

type compiler struct {
	spec       Spec
	modIndex   int
	unresolved []string
}

func (c *compiler) fail(sentinel error, valueIndex int, msg string) error {
	e := &Error{Field: c.spec.Field, ModIndex: -1, ValueIndex: valueIndex, Offset: -1, Msg: msg, Err: sentinel}
	if c.modIndex >= 0 && c.modIndex < len(c.spec.Modifiers) {
		e.ModIndex = c.modIndex
		e.Modifier = c.spec.Modifiers[c.modIndex]
	}
	return e
}

func (c *compiler) compile() (*Matcher, error) {
	spec := c.spec
	c.modIndex = -1
	m := &Matcher{field: spec.Field}
	if len(spec.Values) == 0 {
		return nil, c.fail(ErrNoValues, -1, "")
	}
	cased := false
	for i, mod := range spec.Modifiers {
		c.modIndex = i
		switch mod {
		case "all":
			m.all = true
		case "neq":
			m.neq = true
		case "cased":
			cased = true
		case "contains", "startswith", "endswith", "exists", "windash", "re", "i", "m", "s",
			"ignorecase", "multiline", "dotall", "base64", "base64offset", "utf16le", "utf16be",
			"utf16", "wide", "lt", "lte", "gt", "gte", "cidr", "expand", "fieldref",
			"minute", "hour", "day", "week", "month", "year":
		default:
			return nil, c.fail(ErrUnknownModifier, -1, "")
		}
	}
	c.modIndex = -1
	if m.all && len(spec.Values) == 1 {
		c.modIndex = slices.Index(spec.Modifiers, "all")
		return nil, c.fail(ErrAllSingle, 0, "use a separate selection instead")
	}

	items := make([]item, 0, len(spec.Values))
	for i, rv := range spec.Values {
		it := item{group: i}
		switch rv.Kind {
		case event.String:
			it.kind, it.raw, it.pat = kString, rv.Str, parsePattern(rv.Str)
		case event.Number:
			it.kind, it.num, it.numText = kNumber, rv.Num, rv.Str
			if it.numText == "" {
				it.numText = strconv.FormatFloat(rv.Num, 'f', -1, 64)
			}
			it.raw = it.numText
		case event.Bool:
			it.kind, it.b = kBool, rv.Num != 0 || strings.EqualFold(rv.Str, "true")
		case event.Null:
			it.kind = kNull
		default:
			return nil, c.fail(ErrValueType, i, "a value must be a string, number, bool or null, not "+rv.Kind.String())
		}
		items = append(items, it)
	}

	var err error
	for i, mod := range spec.Modifiers {
		c.modIndex = i
		switch mod {
		case "all", "neq", "cased":
			continue
		case "exists":
			if len(spec.Modifiers) != 1 && !(len(spec.Modifiers) == 2 && slices.Contains(spec.Modifiers, "neq")) {
				return nil, c.fail(ErrModifierCombination, -1, "exists takes no other modifiers")
			}
			if spec.Field == "" {
				return nil, c.fail(ErrModifierCombination, -1, "exists needs a field")
			}
			if len(items) != 1 {
				return nil, c.fail(ErrValueType, -1, "exists takes exactly one bool value")
			}
		}
		out := items[:0:0]
		for _, it := range items {
			var more []item
			more, err = c.apply(mod, it)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
			if len(out) > MaxVariants*max(1, len(spec.Values)) {
				return nil, c.fail(ErrTooManyVariants, it.group, "")
			}
		}
		items = out
	}
	c.modIndex = -1

	for _, it := range items {
		if it.kind == kNull && len(spec.Values) > 1 {
			return nil, c.fail(ErrNullInList, it.group, "use a separate selection for null")
		}
		if it.kind == kExists {
			// exists|neq: true is exists: false.
			m.exists, m.existsWant, m.neq = true, it.b != m.neq, false
		}
	}
	if len(c.unresolved) > 0 {
		slices.Sort(c.unresolved)
		m.unresolved = slices.Compact(c.unresolved)
		m.never = true
		return m, nil
	}
	if m.exists {
		return m, nil
	}

	m.groups = make([][]pred, len(spec.Values))
	groupLits := make([][]string, len(spec.Values))
	groupOK := make([]bool, len(spec.Values))
	for i := range groupOK {
		groupOK[i] = true
	}
	for _, it := range items {
		p, lit, litOK, err := c.build(it, !cased)
		if err != nil {
			return nil, err
		}
		m.groups[it.group] = append(m.groups[it.group], p)
		m.flat = append(m.flat, p)
		if !litOK {
			groupOK[it.group] = false
		} else {
			groupLits[it.group] = append(groupLits[it.group], lit...)
		}
		if _, ok := p.(nullPred); ok {
			m.nullGroups++
		}
	}
	m.computeLiterals(groupLits, groupOK)
	if !m.all {
		m.flat = mergeContains(m.flat)
	}
	return m, nil
}

// minMergedContains is the number of OR-ed contains values from which one
// automaton pass beats separate substring searches.
const minMergedContains = 4

func mergeContains(ps []pred) []pred {
	var lits []string
	var rest []pred
	for _, p := range ps {
		if tp, ok := p.(*textPred); ok {
			if ct, ok := tp.m.(*containsText); ok && ct.sub.fold && ct.sub.p != "" {
				lits = append(lits, ct.sub.p)
				continue
			}
		}
		rest = append(rest, p)
	}
	if len(lits) < minMergedContains {
		return ps
	}
	return append([]pred{&containsAnyPred{a: NewAutomaton(lits), lits: lits}}, rest...)
}

// computeLiterals fills the literal set the engine indexes on; see Literals.
func (m *Matcher) computeLiterals(groupLits [][]string, groupOK []bool) {
	if m.neq {
		return
	}
	if !m.all {
		var all []string
		for i := range groupOK {
			if !groupOK[i] {
				return
			}
			all = append(all, groupLits[i]...)
		}
		m.lits, m.litsOK = dedupe(all), true
		return
	}
	// Every group must match, so any one group's literals are necessary:
	// take the group whose shortest literal is longest (fewest false hits).
	best, bestScore := -1, -1
	for i := range groupOK {
		if !groupOK[i] || len(groupLits[i]) == 0 {
			continue
		}
		score := len(groupLits[i][0])
		for _, l := range groupLits[i] {
			score = min(score, len(l))
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best >= 0 {
		m.lits, m.litsOK = dedupe(groupLits[best]), true
	}
}

func dedupe(lits []string) []string {
	out := slices.Clone(lits)
	slices.Sort(out)
	return slices.Compact(out)
}

// asString turns a number into its text for string modifiers; bool and null
// have no text to transform.
func (c *compiler) asString(it item) (item, error) {
	switch it.kind {
	case kString:
		return it, nil
	case kNumber:
		it.kind, it.pat = kString, literalPattern(it.numText)
		return it, nil
	}
	return it, c.fail(ErrValueType, it.group, "needs a string value")
}

func (c *compiler) apply(mod string, it item) ([]item, error) {
	one := func(it item, err error) ([]item, error) {
		if err != nil {
			return nil, err
		}
		return []item{it}, nil
	}
	switch mod {
	case "contains", "startswith", "endswith":
		start, end := mod != "endswith", mod != "startswith"
		switch it.kind {
		case kRegex:
			// Regular expressions match anywhere already (search, not
			// full match); startswith/endswith anchor them.
			it.reStart = it.reStart || (start && !end)
			it.reEnd = it.reEnd || (end && !start)
			return one(it, nil)
		case kFieldRef:
			it.refStart = it.refStart || start
			it.refEnd = it.refEnd || end
			return one(it, nil)
		}
		it, err := c.asString(it)
		if err != nil {
			return nil, err
		}
		if start {
			it.pat = it.pat.withTrailingStar()
		}
		if end {
			it.pat = it.pat.withLeadingStar()
		}
		it.transformed = true
		return one(it, nil)

	case "windash":
		it, err := c.asString(it)
		if err != nil {
			return nil, err
		}
		vs, ok := windashVariants(it.pat)
		if !ok {
			return nil, c.fail(ErrTooManyVariants, it.group, "windash")
		}
		out := make([]item, len(vs))
		for i, v := range vs {
			out[i] = it
			out[i].pat, out[i].transformed = v, true
		}
		return out, nil

	case "base64", "base64offset":
		it, err := c.asString(it)
		if err != nil {
			return nil, err
		}
		if it.pat.hasWildcard() {
			return nil, c.fail(ErrWildcardEncoding, it.group, "apply contains/startswith/endswith after "+mod)
		}
		data := it.pat.plain()
		it.transformed = true
		if mod == "base64" {
			it.pat = literalPattern(base64Plain(data))
			return one(it, nil)
		}
		encs := base64Offsets(data)
		out := make([]item, len(encs))
		for i, e := range encs {
			out[i] = it
			out[i].pat = literalPattern(e)
		}
		return out, nil

	case "utf16le", "wide", "utf16be", "utf16":
		it, err := c.asString(it)
		if err != nil {
			return nil, err
		}
		be := mod == "utf16be"
		it.pat = it.pat.mapLiterals(func(s string) string { return utf16Bytes(s, be) })
		if mod == "utf16" {
			it.pat = append(pattern{{lit: "\xff\xfe"}}, it.pat...)
		}
		it.transformed = true
		return one(it, nil)

	case "expand":
		it, err := c.asString(it)
		if err != nil {
			return nil, err
		}
		vs, unresolved, ok := expandPlaceholders(it.pat, c.spec.Placeholders)
		if !ok {
			return nil, c.fail(ErrTooManyVariants, it.group, "expand")
		}
		c.unresolved = append(c.unresolved, unresolved...)
		out := make([]item, len(vs))
		for i, v := range vs {
			out[i] = it
			out[i].pat, out[i].transformed = v, true
		}
		return out, nil

	case "re":
		if it.kind != kString && it.kind != kNumber {
			return nil, c.fail(ErrValueType, it.group, "re needs a string value")
		}
		if it.transformed {
			return nil, c.fail(ErrModifierCombination, it.group, "re must come before modifiers that change the value")
		}
		it.kind = kRegex
		return one(it, nil)

	case "i", "ignorecase", "m", "multiline", "s", "dotall":
		if it.kind != kRegex {
			return nil, c.fail(ErrModifierCombination, it.group, mod+" applies only after re")
		}
		it.reFlags += mod[:1]
		return one(it, nil)

	case "cidr":
		if it.kind != kString || it.transformed {
			return nil, c.fail(ErrValueType, it.group, "cidr needs an unmodified string value")
		}
		s := strings.TrimSpace(it.raw)
		var pfx netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			pfx, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, c.fail(ErrCIDR, it.group, err.Error())
		}
		it.kind, it.prefix = kCIDR, pfx.Masked()
		return one(it, nil)

	case "exists":
		switch {
		case it.kind == kBool:
		case it.kind == kString && (strings.EqualFold(it.raw, "true") || strings.EqualFold(it.raw, "false")):
			it.b = strings.EqualFold(it.raw, "true")
		default:
			return nil, c.fail(ErrValueType, it.group, "exists needs true or false")
		}
		it.kind = kExists
		return one(it, nil)

	case "fieldref":
		if it.kind != kString || it.transformed {
			return nil, c.fail(ErrValueType, it.group, "fieldref needs an unmodified field name")
		}
		if it.pat.hasWildcard() {
			return nil, c.fail(ErrValueType, it.group, "a field reference must not contain wildcards")
		}
		it.kind, it.ref = kFieldRef, it.pat.plain()
		return one(it, nil)

	case "lt", "lte", "gt", "gte":
		n, ok := c.numeric(it)
		if !ok {
			return nil, c.fail(ErrValueType, it.group, mod+" needs a number")
		}
		it.kind, it.num = kCompare, n
		it.op = map[string]cmpOp{"lt": opLt, "lte": opLte, "gt": opGt, "gte": opGte}[mod]
		return one(it, nil)

	case "minute", "hour", "day", "week", "month", "year":
		n, ok := c.numeric(it)
		if !ok || n != float64(int(n)) {
			return nil, c.fail(ErrValueType, it.group, mod+" needs an integer")
		}
		part, _ := timePartByName(mod)
		it.kind, it.num, it.part = kTime, n, part
		return one(it, nil)
	}
	return nil, c.fail(ErrUnknownModifier, it.group, "")
}

// numeric accepts a number, or a string holding one (YAML quoting of
// numbers is common in rules).
func (c *compiler) numeric(it item) (float64, bool) {
	switch it.kind {
	case kNumber:
		return it.num, true
	case kString:
		if it.transformed {
			return 0, false
		}
		return parseNumber(it.raw)
	}
	return 0, false
}

// build turns a finished item into its predicate and literal set.
func (c *compiler) build(it item, fold bool) (pred, []string, bool, error) {
	switch it.kind {
	case kString:
		tm := compileText(it.pat, fold)
		if l := tm.literal(); l != "" {
			return &textPred{m: tm}, []string{l}, true, nil
		}
		return &textPred{m: tm}, nil, false, nil
	case kNumber:
		return &numberPred{n: it.num, text: foldASCII(it.numText)}, nil, false, nil
	case kBool:
		text := "false"
		if it.b {
			text = "true"
		}
		return &boolPred{text: text}, []string{text}, true, nil
	case kNull:
		return nullPred{}, nil, false, nil
	case kRegex:
		return c.buildRegex(it)
	case kCIDR:
		return &cidrPred{prefix: it.prefix}, nil, false, nil
	case kFieldRef:
		mode := refEqual
		switch {
		case it.refStart && it.refEnd:
			mode = refContains
		case it.refStart:
			mode = refPrefix
		case it.refEnd:
			mode = refSuffix
		}
		return &fieldRefPred{field: it.ref, mode: mode, fold: fold}, nil, false, nil
	case kCompare:
		return &comparePred{op: it.op, n: it.num}, nil, false, nil
	case kTime:
		return &timePred{part: it.part, n: int(it.num)}, nil, false, nil
	}
	return nil, nil, false, c.fail(ErrValueType, it.group, "")
}

func (c *compiler) buildRegex(it item) (pred, []string, bool, error) {
	expr := it.raw
	if err := checkRegexConstructs(expr); err != nil {
		var re *Error
		if errors.As(err, &re) {
			re.Field, re.ValueIndex = c.spec.Field, it.group
			re.ModIndex = slices.Index(c.spec.Modifiers, "re")
			re.Modifier = "re"
		}
		return nil, nil, false, err
	}
	if it.reStart || it.reEnd {
		expr = "(?:" + expr + ")"
		if it.reStart {
			expr = `\A` + expr
		}
		if it.reEnd {
			expr += `\z`
		}
	}
	if it.reFlags != "" {
		var fl []byte
		for _, f := range "ims" {
			if strings.ContainsRune(it.reFlags, f) {
				fl = append(fl, byte(f))
			}
		}
		expr = "(?" + string(fl) + ")" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		e := &Error{Field: c.spec.Field, Modifier: "re", ModIndex: slices.Index(c.spec.Modifiers, "re"),
			ValueIndex: it.group, Offset: -1, Err: ErrRegex, Msg: err.Error()}
		var se *syntax.Error
		if errors.As(err, &se) {
			e.Msg = describeRegexError(se)
			if i := strings.Index(it.raw, se.Expr); i >= 0 && se.Expr != "" {
				e.Offset = i
			}
		}
		return nil, nil, false, e
	}
	lits, ok := regexLiterals(expr)
	pr := &regexPred{re: re}
	for _, set := range regexRequiredSets(expr) {
		var subs []substr
		for _, l := range set {
			subs = append(subs, newSubstr(l, true))
		}
		pr.required = append(pr.required, subs)
	}
	return pr, lits, ok, nil
}
