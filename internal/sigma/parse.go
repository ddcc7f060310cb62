package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsoc/vigil/internal/event"
)

// LoadPaths reads every *.yml and *.yaml file under the given files and
// directories. Unreadable files and invalid documents are reported in
// Errors; everything else is kept.
func LoadPaths(paths ...string) *Collection {
	coll := &Collection{}
	var files []string
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				coll.Errors = append(coll.Errors, FileError{Path: p, Err: err})
				return nil
			}
			if d.IsDir() {
				// Skip .git and the like; a directory named on the command
				// line is read whatever its name.
				if p != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			// A file named on the command line is read whatever its extension.
			if p != root && !isRuleFile(p) {
				return nil
			}
			files = append(files, p)
			return nil
		})
		if err != nil {
			coll.Errors = append(coll.Errors, FileError{Path: root, Err: err})
		}
	}
	// Files parse independently, so they are parsed on every core and
	// merged in walk order: thousands of rules load in a fraction of the
	// time, and the result does not depend on scheduling.
	parsed := make([]*Collection, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				data, err := os.ReadFile(files[i])
				if err != nil {
					parsed[i] = &Collection{Errors: []FileError{{Path: files[i], Err: err}}}
					continue
				}
				parsed[i] = ParseFile(files[i], data)
			}
		})
	}
	wg.Wait()
	for _, c := range parsed {
		coll.Merge(c)
	}
	return coll
}

func isRuleFile(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return ext == ".yml" || ext == ".yaml"
}

// ParseFile parses every YAML document in data: detection rules,
// correlation rules and filters, with the legacy "action: global / reset /
// repeat" collections merged into the documents they apply to. path is used
// only in positions.
func ParseFile(path string, data []byte) *Collection {
	coll := &Collection{}
	p := &docParser{path: path, coll: coll}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var global, previous *yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			p.errorf(syntaxLine(err), 0, "%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "yaml: "))
			break
		}
		root := &doc
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		root = deref(root)
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		if root.Kind != yaml.MappingNode {
			p.errorf(root.Line, root.Column, "%w: document is a %s, not a mapping", ErrInvalid, kindName(root))
			continue
		}
		if action := lookup(root, "action"); action != nil && action.Kind == yaml.ScalarNode {
			switch action.Value {
			case "global":
				global = without(root, "action")
				continue
			case "reset":
				global = nil
				continue
			case "repeat":
				if previous == nil {
					p.errorf(action.Line, action.Column, "%w: action: repeat with no previous document", ErrInvalid)
					continue
				}
				root = mergeMaps(previous, without(root, "action"))
			default:
				p.errorf(action.Line, action.Column, "%w: unknown action %q", ErrInvalid, action.Value)
				continue
			}
		} else if global != nil {
			root = mergeMaps(global, root)
		}
		previous = root
		switch {
		case lookup(root, "correlation") != nil:
			if c := p.correlation(root); c != nil {
				coll.Correlations = append(coll.Correlations, c)
			}
		case lookup(root, "filter") != nil:
			if f := p.filter(root); f != nil {
				coll.Filters = append(coll.Filters, f)
			}
		default:
			if r := p.rule(root); r != nil {
				coll.Rules = append(coll.Rules, r)
			}
		}
	}
	return coll
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func syntaxLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

type docParser struct {
	path string
	coll *Collection
	// bad is set when the current document reported an error, so it is
	// left out of the collection rather than half-kept.
	bad bool
}

func (p *docParser) errorf(line, col int, format string, args ...any) {
	p.bad = true
	p.coll.Errors = append(p.coll.Errors, FileError{Path: p.path, Line: line, Col: col, Err: fmt.Errorf(format, args...)})
}

func (p *docParser) errAt(n *yaml.Node, format string, args ...any) {
	p.errorf(n.Line, n.Column, format, args...)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "scalar"
	}
	return "node"
}

// deref follows YAML aliases (*anchor) to their target.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
}

func without(m *yaml.Node, key string) *yaml.Node {
	out := *m
	out.Content = nil
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != key {
			out.Content = append(out.Content, m.Content[i], m.Content[i+1])
		}
	}
	return &out
}

// mergeMaps overlays doc on base recursively, as the legacy global action
// did: mappings merge key by key, anything else in doc replaces base's.
func mergeMaps(base, doc *yaml.Node) *yaml.Node {
	out := *base
	out.Content = append([]*yaml.Node(nil), base.Content...)
	out.Line, out.Column = doc.Line, doc.Column
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], deref(doc.Content[i+1])
		replaced := false
		for j := 0; j+1 < len(out.Content); j += 2 {
			if out.Content[j].Value == k.Value {
				bv := deref(out.Content[j+1])
				if bv.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode {
					out.Content[j+1] = mergeMaps(bv, v)
				} else {
					out.Content[j+1] = v
				}
				replaced = true
				break
			}
		}
		if !replaced {
			out.Content = append(out.Content, k, v)
		}
	}
	return &out
}

func (p *docParser) str(n *yaml.Node, attr string) string {
	n = deref(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.errAt(n, "%w: %s must be a string, not a %s", ErrInvalid, attr, kindName(n))
		return ""
	}
	return n.Value
}

// strList reads a list of strings; a single string is a list of one.
func (p *docParser) strList(n *yaml.Node, attr string) []string {
	n = deref(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, "%w: %s must be a list of strings, not a %s", ErrInvalid, attr, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, it := range n.Content {
		it = deref(it)
		if it.Kind != yaml.ScalarNode {
			p.errAt(it, "%w: %s items must be strings, not a %s", ErrInvalid, attr, kindName(it))
			continue
		}
		out = append(out, it.Value)
	}
	return out
}

func (p *docParser) logsource(n *yaml.Node) (event.Logsource, string) {
	var ls event.Logsource
	var def string
	n = deref(n)
	if n == nil {
		return ls, ""
	}
	if n.Kind != yaml.MappingNode {
		p.errAt(n, "%w: logsource must be a mapping, not a %s", ErrInvalid, kindName(n))
		return ls, ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "product":
			ls.Product = p.str(v, "logsource.product")
		case "category":
			ls.Category = p.str(v, "logsource.category")
		case "service":
			ls.Service = p.str(v, "logsource.service")
		case "definition":
			def = p.str(v, "logsource.definition")
		}
	}
	return ls, def
}

func (p *docParser) rule(m *yaml.Node) *Rule {
	p.bad = false
	r := &Rule{Path: p.path, Line: m.Line}
	var detection *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, deref(m.Content[i+1])
		switch k {
		case "title":
			r.Title = p.str(v, k)
		case "id":
			r.ID = p.str(v, k)
		case "name":
			r.Name = p.str(v, k)
		case "status":
			r.Status = p.str(v, k)
		case "description":
			r.Description = p.str(v, k)
		case "author":
			r.Author = p.str(v, k)
		case "date":
			r.Date = p.str(v, k)
		case "modified":
			r.Modified = p.str(v, k)
		case "level":
			r.Level = p.str(v, k)
		case "taxonomy":
			r.Taxonomy = p.str(v, k)
		case "references":
			r.References = p.strList(v, k)
		case "tags":
			r.Tags = p.strList(v, k)
		case "fields":
			r.Fields = p.strList(v, k)
		case "falsepositives":
			r.FalsePositives = p.strList(v, k)
		case "scope":
			r.Scope = p.strList(v, k)
		case "related":
			r.Related = p.related(v)
		case "logsource":
			r.Logsource, r.LogsourceDefinition = p.logsource(v)
		case "detection":
			detection = v
		default:
			var x any
			if err := v.Decode(&x); err == nil {
				if r.Extra == nil {
					r.Extra = map[string]any{}
				}
				r.Extra[k] = x
			}
		}
	}
	if r.Title == "" {
		p.errAt(m, "%w: missing title", ErrInvalid)
	}
	if lookup(m, "logsource") == nil {
		p.errAt(m, "%w: missing logsource", ErrInvalid)
	}
	if detection == nil {
		p.errAt(m, "%w: missing detection", ErrInvalid)
	} else {
		r.Detection = p.detection(detection, "detection", nil)
		if r.Detection != nil {
			r.Placeholders = placeholders(r.Detection)
		}
	}
	if p.bad {
		return nil
	}
	return r
}

func (p *docParser) related(n *yaml.Node) []Related {
	if n.Kind != yaml.SequenceNode {
		p.errAt(n, "%w: related must be a list, not a %s", ErrInvalid, kindName(n))
		return nil
	}
	var out []Related
	for _, it := range n.Content {
		it = deref(it)
		if it.Kind != yaml.MappingNode {
			p.errAt(it, "%w: related items must be mappings with id and type", ErrInvalid)
			continue
		}
		out = append(out, Related{ID: p.str(lookup(it, "id"), "related.id"), Type: p.str(lookup(it, "type"), "related.type")})
	}
	return out
}

// detection parses a detection mapping; skip names keys that are not
// selections (a filter's "rules").
func (p *docParser) detection(n *yaml.Node, attr string, skip map[string]bool) *Detection {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, "%w: %s must be a mapping, not a %s", ErrInvalid, attr, kindName(n))
		return nil
	}
	d := &Detection{Selections: map[string]*Selection{}}
	var cond *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := n.Content[i], deref(n.Content[i+1])
		k := kn.Value
		switch {
		case skip[k]:
		case k == "condition":
			cond = v
		case k == "timeframe":
			d.Timeframe = p.str(v, attr+".timeframe")
		default:
			if _, dup := d.Selections[k]; dup {
				p.errAt(kn, "%w: selection %q defined twice", ErrInvalid, k)
				continue
			}
			d.Names = append(d.Names, k)
			d.Selections[k] = p.selection(k, kn, v)
		}
	}
	if cond == nil {
		p.errAt(n, "%w: %s has no condition", ErrInvalid, attr)
		return d
	}
	var texts []*yaml.Node
	switch cond.Kind {
	case yaml.ScalarNode:
		texts = []*yaml.Node{cond}
	case yaml.SequenceNode:
		for _, c := range cond.Content {
			c = deref(c)
			if c.Kind != yaml.ScalarNode {
				p.errAt(c, "%w: condition items must be strings", ErrInvalid)
				continue
			}
			texts = append(texts, c)
		}
	default:
		p.errAt(cond, "%w: condition must be a string or a list of strings", ErrInvalid)
	}
	var parts []*Cond
	var src []string
	for _, t := range texts {
		c, err := ParseCondition(t.Value, d.Names)
		if err != nil {
			var ce *ConditionError
			line, col := t.Line, t.Column
			if errors.As(err, &ce) && t.Style == 0 && !strings.Contains(t.Value, "\n") {
				col += ce.Offset
			}
			p.errorf(line, col, "%w: %q: %s", ce.Kind, t.Value, ce.Msg)
			continue
		}
		parts = append(parts, c)
		src = append(src, t.Value)
	}
	switch len(parts) {
	case 0:
	case 1:
		d.Condition = parts[0]
	default:
		d.Condition = &Cond{Kind: CondOr, Args: parts}
	}
	d.ConditionText = strings.Join(src, " or ")
	return d
}

func (p *docParser) selection(name string, kn, v *yaml.Node) *Selection {
	s := &Selection{Name: name, Line: kn.Line, Col: kn.Column}
	switch v.Kind {
	case yaml.MappingNode:
		s.Alternatives = [][]FieldItem{p.fieldMap(v)}
	case yaml.SequenceNode:
		var keywords []Value
		kwLine, kwCol := 0, 0
		for _, it := range v.Content {
			it = deref(it)
			switch it.Kind {
			case yaml.MappingNode:
				s.Alternatives = append(s.Alternatives, p.fieldMap(it))
			case yaml.ScalarNode:
				if kwLine == 0 {
					kwLine, kwCol = it.Line, it.Column
				}
				keywords = append(keywords, scalarValue(it))
			default:
				p.errAt(it, "%w: selection %q: list items must be mappings or values, not a %s", ErrInvalid, name, kindName(it))
			}
		}
		if len(keywords) > 0 {
			s.Alternatives = append(s.Alternatives, []FieldItem{{Values: keywords, Line: kwLine, Col: kwCol}})
		}
		if len(v.Content) == 0 {
			p.errAt(v, "%w: selection %q is an empty list", ErrInvalid, name)
		}
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			p.errAt(v, "%w: selection %q is empty", ErrInvalid, name)
			break
		}
		s.Alternatives = [][]FieldItem{{{Values: []Value{scalarValue(v)}, Line: v.Line, Col: v.Column}}}
	default:
		p.errAt(v, "%w: selection %q must be a mapping or a list", ErrInvalid, name)
	}
	return s
}

func (p *docParser) fieldMap(m *yaml.Node) []FieldItem {
	items := make([]FieldItem, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn, v := m.Content[i], deref(m.Content[i+1])
		parts := strings.Split(kn.Value, "|")
		it := FieldItem{Field: parts[0], Line: kn.Line, Col: kn.Column}
		for _, mod := range parts[1:] {
			if mod == "" {
				p.errAt(kn, "%w: %q has an empty modifier", ErrInvalid, kn.Value)
				continue
			}
			it.Modifiers = append(it.Modifiers, mod)
		}
		switch v.Kind {
		case yaml.ScalarNode:
			it.Values = []Value{scalarValue(v)}
		case yaml.SequenceNode:
			for _, x := range v.Content {
				x = deref(x)
				if x.Kind != yaml.ScalarNode {
					p.errAt(x, "%w: %q: values must be scalars, not a %s", ErrInvalid, kn.Value, kindName(x))
					continue
				}
				it.Values = append(it.Values, scalarValue(x))
			}
			if len(v.Content) == 0 {
				p.errAt(v, "%w: %q has an empty list of values", ErrInvalid, kn.Value)
			}
		default:
			p.errAt(v, "%w: %q: value must be a scalar or a list, not a %s", ErrInvalid, kn.Value, kindName(v))
		}
		items = append(items, it)
	}
	return items
}

// scalarValue keeps the value as written: a quoted '7' is a string, an
// unquoted 7 a number (whose Str is still "7").
func scalarValue(n *yaml.Node) Value {
	switch n.ShortTag() {
	case "!!null":
		return Value{Kind: ValNull}
	case "!!bool":
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		return Value{Kind: ValBool, Str: n.Value, Bool: b}
	case "!!int":
		s := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(s, 0, 64); err == nil {
			return Value{Kind: ValNumber, Str: n.Value, Num: float64(i)}
		}
		if u, err := strconv.ParseUint(s, 0, 64); err == nil {
			return Value{Kind: ValNumber, Str: n.Value, Num: float64(u)}
		}
		return Value{Kind: ValString, Str: n.Value}
	case "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return Value{Kind: ValString, Str: n.Value}
		}
		return Value{Kind: ValNumber, Str: n.Value, Num: f}
	}
	return Value{Kind: ValString, Str: n.Value}
}

// placeholders lists the %name% placeholders of expand items, sorted.
func placeholders(d *Detection) []string {
	seen := map[string]bool{}
	for _, name := range d.Names {
		for _, alt := range d.Selections[name].Alternatives {
			for _, it := range alt {
				if !hasModifier(it.Modifiers, "expand") {
					continue
				}
				for _, v := range it.Values {
					if v.Kind == ValString {
						for _, ph := range PlaceholderNames(v.Str) {
							seen[ph] = true
						}
					}
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func hasModifier(mods []string, m string) bool {
	for _, x := range mods {
		if x == m {
			return true
		}
	}
	return false
}

// PlaceholderNames returns the names of the %name% placeholders in s; a
// backslash-escaped '%' is plain text.
func PlaceholderNames(s string) []string {
	var out []string
	start := -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '%':
			if start < 0 {
				start = i
			} else {
				if i > start+1 {
					out = append(out, s[start+1:i])
				}
				start = -1
			}
		}
	}
	return out
}

func (p *docParser) correlation(m *yaml.Node) *Correlation {
	p.bad = false
	c := &Correlation{Path: p.path, Line: m.Line}
	var body *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, deref(m.Content[i+1])
		switch k {
		case "title":
			c.Title = p.str(v, k)
		case "id":
			c.ID = p.str(v, k)
		case "name":
			c.Name = p.str(v, k)
		case "status":
			c.Status = p.str(v, k)
		case "description":
			c.Description = p.str(v, k)
		case "author":
			c.Author = p.str(v, k)
		case "date":
			c.Date = p.str(v, k)
		case "modified":
			c.Modified = p.str(v, k)
		case "level":
			c.Level = p.str(v, k)
		case "taxonomy":
			c.Taxonomy = p.str(v, k)
		case "references":
			c.References = p.strList(v, k)
		case "tags":
			c.Tags = p.strList(v, k)
		case "falsepositives":
			c.FalsePositives = p.strList(v, k)
		case "generate":
			if v.ShortTag() != "!!bool" {
				p.errAt(v, "%w: generate must be true or false", ErrInvalid)
			} else {
				c.Generate, _ = strconv.ParseBool(strings.ToLower(v.Value))
			}
		case "correlation":
			body = v
		}
	}
	if c.Title == "" {
		p.errAt(m, "%w: missing title", ErrInvalid)
	}
	if body.Kind != yaml.MappingNode {
		p.errAt(body, "%w: correlation must be a mapping, not a %s", ErrInvalid, kindName(body))
		return nil
	}
	var timespan, typ *yaml.Node
	for i := 0; i+1 < len(body.Content); i += 2 {
		k, v := body.Content[i].Value, deref(body.Content[i+1])
		switch k {
		case "type":
			typ = v
			c.Type = CorrelationType(p.str(v, "correlation.type"))
		case "rules":
			c.Rules = p.strList(v, "correlation.rules")
		case "group-by":
			c.GroupBy = p.strList(v, "correlation.group-by")
		case "timespan":
			timespan = v
			d, err := ParseTimespan(p.str(v, "correlation.timespan"))
			if err != nil {
				p.errAt(v, "%w", err)
			}
			c.Timespan = d
		case "condition":
			c.Condition = p.correlationCondition(v)
		case "aliases":
			c.Aliases = p.aliases(v)
		case "generate": // some authors nest it
			c.Generate = v.ShortTag() == "!!bool" && strings.EqualFold(v.Value, "true")
		}
	}
	switch {
	case typ == nil:
		p.errAt(body, "%w: correlation has no type", ErrInvalid)
	case !c.Type.Valid():
		p.errAt(typ, "%w: unknown correlation type %q", ErrInvalid, c.Type)
	}
	if len(c.Rules) == 0 {
		p.errAt(body, "%w: correlation names no rules", ErrInvalid)
	}
	if timespan == nil {
		p.errAt(body, "%w: correlation has no timespan", ErrInvalid)
	}
	if c.Type.Valid() && c.Type != Temporal && c.Type != TemporalOrdered {
		if c.Condition == nil || len(c.Condition.Compares) == 0 {
			p.errAt(body, "%w: %s correlation needs a condition", ErrInvalid, c.Type)
		} else if c.Type.NeedsField() && len(c.Condition.Field) == 0 {
			p.errAt(body, "%w: %s correlation needs condition.field", ErrInvalid, c.Type)
		}
	}
	if p.bad {
		return nil
	}
	return c
}

func (p *docParser) correlationCondition(n *yaml.Node) *CorrelationCondition {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, "%w: correlation.condition must be a mapping, not a %s", ErrInvalid, kindName(n))
		return nil
	}
	cc := &CorrelationCondition{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := n.Content[i], deref(n.Content[i+1])
		switch op := CompareOp(kn.Value); op {
		case OpGT, OpGTE, OpLT, OpLTE, OpEQ, OpNEQ:
			f, err := strconv.ParseFloat(v.Value, 64)
			if v.Kind != yaml.ScalarNode || err != nil {
				p.errAt(v, "%w: correlation.condition.%s must be a number", ErrInvalid, op)
				continue
			}
			cc.Compares = append(cc.Compares, Compare{Op: op, Value: f})
		case "field":
			cc.Field = p.strList(v, "correlation.condition.field")
		default:
			p.errAt(kn, "%w: unknown correlation condition %q", ErrInvalid, kn.Value)
		}
	}
	return cc
}

func (p *docParser) aliases(n *yaml.Node) map[string]map[string]string {
	if n.Kind != yaml.MappingNode {
		p.errAt(n, "%w: correlation.aliases must be a mapping", ErrInvalid)
		return nil
	}
	out := map[string]map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		alias, v := n.Content[i].Value, deref(n.Content[i+1])
		if v.Kind != yaml.MappingNode {
			p.errAt(v, "%w: alias %q must map rule names to fields", ErrInvalid, alias)
			continue
		}
		m := map[string]string{}
		for j := 0; j+1 < len(v.Content); j += 2 {
			m[v.Content[j].Value] = p.str(v.Content[j+1], "correlation.aliases."+alias)
		}
		out[alias] = m
	}
	return out
}

func (p *docParser) filter(m *yaml.Node) *Filter {
	p.bad = false
	f := &Filter{Path: p.path, Line: m.Line}
	var body *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, deref(m.Content[i+1])
		switch k {
		case "title":
			f.Title = p.str(v, k)
		case "id":
			f.ID = p.str(v, k)
		case "name":
			f.Name = p.str(v, k)
		case "description":
			f.Description = p.str(v, k)
		case "date":
			f.Date = p.str(v, k)
		case "modified":
			f.Modified = p.str(v, k)
		case "taxonomy":
			f.Taxonomy = p.str(v, k)
		case "logsource":
			f.Logsource, _ = p.logsource(v)
		case "filter":
			body = v
		}
	}
	if f.Title == "" {
		p.errAt(m, "%w: missing title", ErrInvalid)
	}
	if body.Kind != yaml.MappingNode {
		p.errAt(body, "%w: filter must be a mapping, not a %s", ErrInvalid, kindName(body))
		return nil
	}
	f.Rules = p.strList(lookup(body, "rules"), "filter.rules")
	if len(f.Rules) == 0 {
		p.errAt(body, "%w: filter names no rules", ErrInvalid)
	}
	f.Detection = p.detection(body, "filter", map[string]bool{"rules": true})
	if p.bad {
		return nil
	}
	return f
}
