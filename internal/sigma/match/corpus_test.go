package match

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/vigiltest"
)

// TestCorpusDetectionItems compiles every detection item of every rule in
// the shared Sigma corpus. It reads the YAML just far enough to find the
// items (the rule parser proper lives in internal/sigma), so it checks this
// package against the modifiers and values real rules use.
func TestCorpusDetectionItems(t *testing.T) {
	root := vigiltest.Corpus(t, "sigma")
	var items, files, regexUnsupported, withLiterals int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && (rel == "deprecated" || rel == "unsupported") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".yml") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc struct {
			Detection map[string]yaml.Node `yaml:"detection"`
		}
		if yaml.Unmarshal(data, &doc) != nil || doc.Detection == nil {
			return nil
		}
		files++
		for name, node := range doc.Detection {
			if name == "condition" || name == "timeframe" {
				continue
			}
			for _, s := range detectionSpecs(&node) {
				items++
				m, err := Compile(s)
				if err == nil {
					if _, ok := m.Literals(); ok {
						withLiterals++
					}
				}
				if errors.Is(err, ErrRegex) {
					// RE2 lacks some PCRE constructs; the error must name
					// the construct, and the rule is reported, not crashed.
					regexUnsupported++
					t.Logf("%s: %v", rel, err)
					continue
				}
				if err != nil {
					t.Errorf("%s: %s: %v", rel, name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d rule files under %s", files, root)
	}
	t.Logf("%d rules, %d detection items (%d with a literal set), %d regular expressions RE2 cannot run",
		files, items, withLiterals, regexUnsupported)
}

func detectionSpecs(n *yaml.Node) []Spec {
	var out []Spec
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			parts := strings.Split(key, "|")
			s := Spec{Field: parts[0], Modifiers: parts[1:]}
			v := n.Content[i+1]
			if v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					s.Values = append(s.Values, nodeValue(c))
				}
			} else {
				s.Values = []RuleValue{nodeValue(v)}
			}
			out = append(out, s)
		}
	case yaml.SequenceNode:
		var keywords Spec
		for _, c := range n.Content {
			if c.Kind == yaml.MappingNode {
				out = append(out, detectionSpecs(c)...)
			} else {
				keywords.Values = append(keywords.Values, nodeValue(c))
			}
		}
		if len(keywords.Values) > 0 {
			out = append(out, keywords)
		}
	case yaml.ScalarNode:
		out = append(out, Spec{Values: []RuleValue{nodeValue(n)}})
	}
	return out
}

func nodeValue(n *yaml.Node) RuleValue {
	switch n.ShortTag() {
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil {
			if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				f = float64(i)
			}
		}
		return RuleValue{Kind: event.Number, Num: f, Str: n.Value}
	case "!!bool":
		b := strings.EqualFold(n.Value, "true")
		v := RuleValue{Kind: event.Bool, Str: strconv.FormatBool(b)}
		if b {
			v.Num = 1
		}
		return v
	case "!!null":
		return RuleValue{Kind: event.Null}
	}
	return RuleValue{Kind: event.String, Str: n.Value}
}
