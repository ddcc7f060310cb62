package query

import (
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/sigma"
	"github.com/vigilsoc/vigil/internal/sigma/engine"
	"github.com/vigilsoc/vigil/internal/store"
)

// refMatch is a reference reading of the filter tree, as the event stores
// implement it: text comparisons case-insensitive, an absent field never
// equal (so != and NOT match it), free text a substring of any value.
func refMatch(e store.Expr, ev *event.Event) bool {
	switch x := e.(type) {
	case nil:
		return true
	case store.And:
		for _, k := range x {
			if !refMatch(k, ev) {
				return false
			}
		}
		return true
	case store.Or:
		for _, k := range x {
			if refMatch(k, ev) {
				return true
			}
		}
		return false
	case store.Not:
		return !refMatch(x.X, ev)
	case store.Compare:
		if x.Field == "" {
			for _, f := range ev.Fields {
				text := strings.ToLower(f.Value.Text())
				switch x.Op {
				case store.OpContains:
					if strings.Contains(text, strings.ToLower(x.Value)) {
						return true
					}
				case store.OpWildcard:
					u := units{}.addWild('*')
					u = append(u, decodePattern(x.Value)...)
					if globMatch(u.addWild('*'), text) {
						return true
					}
				}
			}
			return false
		}
		v, ok := ev.GetFold(x.Field)
		text := strings.ToLower(v.Text())
		switch x.Op {
		case store.OpExists:
			return ok
		case store.OpEq:
			return ok && text == strings.ToLower(x.Value)
		case store.OpNe:
			return !ok || text != strings.ToLower(x.Value)
		case store.OpContains:
			return ok && strings.Contains(text, strings.ToLower(x.Value))
		case store.OpWildcard:
			return ok && globMatch(decodePattern(x.Value), text)
		case store.OpLt, store.OpLe, store.OpGt, store.OpGe:
			a, ok1 := v.Number()
			b, ok2 := event.S(x.Value).Number()
			if !ok || !ok1 || !ok2 {
				return false
			}
			switch x.Op {
			case store.OpLt:
				return a < b
			case store.OpLe:
				return a <= b
			case store.OpGt:
				return a > b
			}
			return a >= b
		}
	}
	panic("refMatch: unexpected node")
}

// globMatch matches lowercase text against a pattern whose literals are
// compared lowercased.
func globMatch(u units, s string) bool {
	if len(u) == 0 {
		return s == ""
	}
	switch x := u[0]; {
	case x.wild && x.c == '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(u[1:], s[i:]) {
				return true
			}
		}
		return false
	case x.wild:
		return s != "" && globMatch(u[1:], s[1:])
	}
	return s != "" && strings.ToLower(string(u[0].c)) == s[:1] && globMatch(u[1:], s[1:])
}

func proc(fields ...string) *event.Event {
	ev := &event.Event{Logsource: event.Logsource{Product: "windows", Category: "process_creation"}}
	for i := 0; i+1 < len(fields); i += 2 {
		v := event.S(fields[i+1])
		if n, ok := v.Number(); ok && !strings.ContainsAny(fields[i+1], `\.x`) {
			v = event.NumText(fields[i+1], n)
		}
		ev.Fields = append(ev.Fields, event.Field{Name: fields[i], Value: v})
	}
	return ev
}

// TestToSigmaMatchesLikeQuery runs each query's draft rule through the
// Sigma engine and checks that it picks the same events as the query does.
func TestToSigmaMatchesLikeQuery(t *testing.T) {
	events := []*event.Event{
		proc("Image", `C:\Program Files\3CXDesktopApp\3CXDesktopApp.exe`, "User", "alice", "EventID", "1"),
		proc("Image", `C:\Windows\System32\cmd.exe`, "ParentImage", `C:\Users\bob\AppData\Local\Programs\3CXDesktopApp\3CXDesktopApp.exe`, "CommandLine", `cmd /c whoami`, "User", "bob", "EventID", "1"),
		proc("Image", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "CommandLine", `powershell -enc SQBFAFgA`, "User", "SYSTEM", "EventID", "1"),
		proc("QueryName", "raw.githubusercontent.com", "EventID", "22", "Image", `C:\x\3CXDesktopApp.exe`),
		proc("QueryName", "akamaicontainer.com", "EventID", "22"),
		proc("DestinationPort", "443", "DestinationHostname", "msstorageazure.com", "EventID", "3", "Initiated", "true"),
		proc("DestinationPort", "53", "EventID", "3"),
		proc("CommandLine", `mimikatz.exe "sekurlsa::logonpasswords" exit`, "Image", `C:\Temp\mimi.exe`, "EventID", "1"),
		proc("Image", `C:\Temp\*star.exe`, "EventID", "1"),
		proc("TargetFilename", `C:\Users\carol\AppData\Local\x.dll`, "EventID", "11"),
	}
	queries := []string{
		`Image:*\\powershell.exe AND CommandLine:*-enc*`,
		`ParentImage:*\3CXDesktopApp.exe (Image:*\cmd.exe OR Image:*\powershell.exe)`,
		`Image:*\3CXDesktopApp.exe -User:alice`,
		`Image:*3cx* User!=alice`,
		`EventID:22 QueryName:(*.githubusercontent.com OR akamaicontainer.com)`,
		`EventID:3 DestinationPort:<1024`,
		`EventID:3 DestinationPort:[400 TO 500]`,
		`DestinationPort:{53 TO *]`,
		`_exists_:ParentImage`,
		`NOT _exists_:CommandLine`,
		`mimikatz OR whoami`,
		`"sekurlsa::*"`,
		`Image:C:\Temp\\*`,
		`Image:C:\Temp\\\*star.exe`,
		`TargetFilename:C:\Users\\*\AppData\\*`,
		`(Image:*\cmd.exe EventID:1) OR (QueryName:akamai* EventID:22)`,
		`CommandLine:*a* CommandLine:*e*`,
		`EventID:1 NOT (User:SYSTEM OR User:bob)`,
		`Initiated:true OR User:(alice OR bob)`,
		`Image:PROG?.exe OR image:*MIMI.EXE`,
		`EventID:(1 OR 3) -Image:*cmd.exe -DestinationPort:53`,
	}
	p := testParser()
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			e, err := p.Parse(q)
			if err != nil {
				t.Fatal(err)
			}
			out, err := ToSigma(e, "equivalence")
			if err != nil {
				t.Fatal(err)
			}
			coll := sigma.ParseFile("draft.yml", out)
			if len(coll.Errors) > 0 {
				t.Fatalf("%v\n%s", coll.Errors, out)
			}
			eng, errs := engine.New(engine.Config{}, coll)
			if len(errs) > 0 {
				t.Fatalf("engine: %v\n%s", errs, out)
			}
			matched := 0
			for i, ev := range events {
				want := refMatch(e, ev)
				got := false
				eng.Match(ev, func(*sigma.Rule) { got = true })
				if got != want {
					t.Errorf("event %d: rule matches %v, query %v\n%s", i, got, want, out)
				}
				if want {
					matched++
				}
			}
			if matched == 0 {
				t.Errorf("query matches no test event, so the comparison proves little")
			}
		})
	}
}
