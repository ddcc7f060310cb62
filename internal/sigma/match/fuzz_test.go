package match

import (
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

// FuzzCompileMatch compiles arbitrary values with arbitrary modifier chains
// and matches arbitrary input: nothing may panic, and whenever Match holds,
// the literal set (if any) must be present in the input.
func FuzzCompileMatch(f *testing.F) {
	seeds := []struct{ value, mods, input string }{
		{`C:\\Windows\\*`, "", `C:\Windows\System32`},
		{`\\*`, "", `\x`},
		{`prog?.exe`, "", `progA.exe`},
		{` -enc`, "contains|windash", `powershell /ENC x`},
		{`ping`, "wide|base64offset|contains", `cABpAG4AZw`},
		{`/bin/bash`, "base64offset|contains", `L2Jpbi9iYXNo`},
		{`^cmd.*\.exe$`, "re|i", `CMD.EXE`},
		{`a(?=b)`, "re", `ab`},
		{`10.0.0.0/8`, "cidr", `10.1.2.3`},
		{`2001:db8::/32`, "cidr", `2001:db8::1`},
		{`5`, "gt", `0x10`},
		{`3`, "hour", `2024-05-06T03:04:05Z`},
		{`%Admins%`, "expand", `root`},
		{`ParentImage`, "fieldref|endswith", `C:\x\a.exe`},
		{`x`, "neq", `y`},
		{`true`, "exists", ``},
		{`Ärger`, "contains", `ÄRGER`},
		{`cmd`, "utf16|cased", "\xff\xfec\x00m\x00d\x00"},
	}
	for _, s := range seeds {
		f.Add(s.value, s.mods, s.input)
	}
	placeholders := map[string][]string{"Admins": {"admin*", "root"}}
	ev := &event.Event{Fields: []event.Field{{Name: "ParentImage", Value: event.S(`C:\x\a.exe`)}}}
	f.Fuzz(func(t *testing.T, value, mods, input string) {
		var modList []string
		if mods != "" {
			modList = strings.Split(mods, "|")
		}
		if len(modList) > 8 {
			return
		}
		values := []RuleValue{str(value)}
		if strings.Contains(mods, "all") {
			values = append(values, str(value+"x"))
		}
		m, err := Compile(Spec{Field: "F", Values: values, Modifiers: modList, Placeholders: placeholders})
		if err != nil {
			_ = err.Error()
			return
		}
		m.MatchesMissing()
		m.Unresolved()
		lits, ok := m.Literals()
		for _, v := range []event.Value{event.S(input), event.L(event.S(input), event.NullValue()), event.NullValue()} {
			if !m.Match(v, ev) || !ok || v.Kind == event.Null {
				continue
			}
			texts := []string{input}
			folded := foldASCII(strings.Join(texts, "\x00"))
			found := false
			for _, l := range lits {
				if strings.Contains(folded, l) {
					found = true
				}
			}
			if !found {
				t.Fatalf("value %q mods %q: input %q matches without any literal of %q", value, mods, input, lits)
			}
		}
	})
}
