package match

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

func str(s string) RuleValue  { return RuleValue{Kind: event.String, Str: s} }
func num(f float64) RuleValue { return RuleValue{Kind: event.Number, Num: f} }
func boolean(b bool) RuleValue {
	if b {
		return RuleValue{Kind: event.Bool, Str: "true", Num: 1}
	}
	return RuleValue{Kind: event.Bool, Str: "false"}
}
func null() RuleValue { return RuleValue{Kind: event.Null} }

func spec(mods string, vals ...RuleValue) Spec {
	s := Spec{Field: "F", Values: vals}
	if mods != "" {
		s.Modifiers = strings.Split(mods, "|")
	}
	return s
}

func mustCompile(t testing.TB, s Spec) *Matcher {
	t.Helper()
	m, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", s, err)
	}
	return m
}

type probe struct {
	in   event.Value
	want bool
}

func yes(s string) probe       { return probe{event.S(s), true} }
func no(s string) probe        { return probe{event.S(s), false} }
func yesV(v event.Value) probe { return probe{v, true} }
func noV(v event.Value) probe  { return probe{v, false} }

type matchCase struct {
	name   string
	spec   Spec
	probes []probe
}

func runMatchCases(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustCompile(t, tc.spec)
			ev := &event.Event{}
			for _, p := range tc.probes {
				if got := m.Match(p.in, ev); got != p.want {
					t.Errorf("Match(%q kind %v) = %v, want %v", p.in.Str, p.in.Kind, got, p.want)
				}
			}
		})
	}
}

// Escaping cases are written as the YAML-decoded text the rule parser hands
// over, so `C:\\Windows\\*` is what the rule writer typed between single
// quotes.
func TestWildcardsAndEscaping(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"plain equality ignores case", spec("", str("cmd.exe")),
			[]probe{yes("cmd.exe"), yes("CMD.EXE"), no("xcmd.exe"), no("cmd.ex"), no("")}},
		{"double backslash before star is backslash plus wildcard", spec("", str(`C:\\Windows\\*`)),
			[]probe{yes(`C:\Windows\System32\cmd.exe`), yes(`c:\windows\`), no(`C:\\Windows\\x`), no(`C:\Windows`)}},
		{"backslash star is a literal star", spec("", str(`C:\Windows\*`)),
			[]probe{yes(`C:\Windows*`), no(`C:\Windows\foo`), no(`C:\Windows\*`)}},
		{"lone backslash before a letter is literal", spec("", str(`C:\Windows\System32`)),
			[]probe{yes(`C:\Windows\System32`), no(`C:\\Windows\\System32`)}},
		{`\\* is backslash then wildcard`, spec("", str(`\\*`)),
			[]probe{yes(`\`), yes(`\anything`), no(`x\`), no(`*`)}},
		{`\* alone is a star`, spec("", str(`\*`)),
			[]probe{yes(`*`), no(`x`), no(`\*`)}},
		{`\\\* is backslash and literal star`, spec("", str(`\\\*`)),
			[]probe{yes(`\*`), no(`\x`), no(`\\*`)}},
		{`four backslashes are two`, spec("", str(`\\\\`)),
			[]probe{yes(`\\`), no(`\`), no(`\\\\`)}},
		{`three backslashes are two`, spec("", str(`\\\`)),
			[]probe{yes(`\\`), no(`\`)}},
		{"trailing lone backslash", spec("", str(`abc\`)),
			[]probe{yes(`abc\`), no(`abc`)}},
		{"escaped question mark", spec("", str(`what\?`)),
			[]probe{yes(`what?`), no(`whatx`)}},
		{"question mark is one character", spec("", str(`prog?.exe`)),
			[]probe{yes(`progA.exe`), yes(`PROGb.EXE`), yes(`progé.exe`), no(`prog.exe`), no(`progAB.exe`)}},
		{"star in the middle", spec("", str(`antivirus_V*.exe`)),
			[]probe{yes(`antivirus_V1.exe`), yes(`antivirus_V21.2.1.exe`), yes(`antivirus_V.exe`), no(`antivirus_V1.exe.bak`)}},
		{"several stars and question marks", spec("", str(`*\a?c*d?f*`)),
			[]probe{yes(`x\abcXdef`), yes(`\AxCdYf`), yes(`\a€cd€f`), no(`\acdf`), no(`abcdef`)}},
		{"question mark at the end after star", spec("", str(`*a?`)),
			[]probe{yes(`ab`), yes(`xxaé`), no(`a`), no(`abc`)}},
		{"only stars", spec("", str(`**`)),
			[]probe{yes(``), yes(`anything`), noV(event.NullValue())}},
		{"empty string matches only empty", spec("", str(``)),
			[]probe{yes(``), no(` `), noV(event.NullValue())}},
		{"percent is literal without expand", spec("", str(`%name%`)),
			[]probe{yes(`%NAME%`), no(`x`)}},
		{"non-ASCII letters fold", spec("", str(`ÄRGER*`)),
			[]probe{yes(`ärger.txt`), yes(`ÄRGER`), no(`arger`)}},
		{"non-ASCII dashes do not need folding", spec("contains", str(`–x`)),
			[]probe{yes(`a –X b`), no(`a -x`)}},
		{"cased", spec("cased", str(`Cmd.exe`)),
			[]probe{yes(`Cmd.exe`), no(`cmd.exe`), no(`CMD.EXE`)}},
		{"cased with wildcards", spec("cased|contains", str(`Invoke-*Expression`)),
			[]probe{yes(`x Invoke-WebExpression y`), no(`invoke-expression`)}},
		{"cased non-ASCII", spec("cased", str(`Ärger`)),
			[]probe{yes(`Ärger`), no(`ärger`)}},
	})
}

func TestValueKinds(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"rule number", spec("", num(4688)), []probe{
			yesV(event.N(4688)), yes("4688"), yes(" 4688 "), yes("0x1250"), yes("4688.0"),
			no("4689"), no("abc"), no("04688x"), noV(event.NullValue()), noV(event.B(true)),
		}},
		{"rule number keeps its text", spec("", RuleValue{Kind: event.Number, Num: 16, Str: "0x10"}), []probe{
			yes("0x10"), yes("0X10"), yes("16"), yesV(event.N(16)), no("0x11"),
		}},
		{"rule string against event number and bool", spec("", str("4688")), []probe{
			yesV(event.N(4688)), yesV(event.NumText("4688", 4688)), noV(event.NumText("0x1250", 4688)),
		}},
		{"rule bool", spec("", boolean(true)), []probe{
			yesV(event.B(true)), yes("True"), noV(event.B(false)), no("1"), noV(event.N(1)),
		}},
		{"rule false", spec("", boolean(false)), []probe{yesV(event.B(false)), no("true")}},
		{"null", spec("", null()), []probe{yesV(event.NullValue()), yesV(event.L()), no(""), no("null")}},
		{"list value: any item", spec("", str("cmd.exe")), []probe{
			yesV(event.L(event.S("x"), event.S("CMD.exe"))), noV(event.L(event.S("x"))),
			yesV(event.L(event.L(event.S("cmd.exe")))),
		}},
		{"OR of values", spec("endswith", str(`\cmd.exe`), str(`\powershell.exe`)), []probe{
			yes(`C:\x\cmd.exe`), yes(`C:\x\PowerShell.exe`), no(`C:\x\pwsh.exe`),
		}},
	})
}

func TestPositionModifiers(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"contains", spec("contains", str(`\Temp\`)), []probe{yes(`C:\temp\x`), yes(`\TEMP\`), no(`C:\temp`)}},
		{"contains letters only", spec("contains", str(`mimikatz`)), []probe{yes(`xxMimiKatzyy`), no(`mimikat`), yes(`mmimikatz`)}},
		{"contains keeps inner wildcard", spec("contains", str(`a*b`)), []probe{yes(`xaxxbx`), no(`ba`)}},
		{"contains empty matches everything", spec("contains", str(``)), []probe{yes(``), yes(`x`)}},
		{"startswith", spec("startswith", str(`C:\Program Files\`)), []probe{yes(`c:\program files\x`), no(`D:\C:\Program Files\`)}},
		{"endswith", spec("endswith", str(`.exe`)), []probe{yes(`a.EXE`), no(`a.exe.txt`)}},
		{"startswith with existing star", spec("startswith", str(`abc*`)), []probe{yes(`abcd`), no(`xabc`)}},
		{"all", spec("contains|all", str(`-enc`), str(`-nop`)), []probe{
			yes(`powershell -NoP -Enc AAA`), no(`powershell -enc AAA`),
		}},
		{"many contains values share one automaton", spec("contains", str("alpha"), str("Beta"), str(`\gamma\`),
			str("delta"), str("eps"), str("a*z"), num(42)), []probe{
			yes("xALPHAx"), yes("xxbeta"), yes(`C:\Gamma\x`), yes("delta"), yes("EPS"), yes("a..z"), yes("x42x"),
			no("alph"), no("gamma"), no(""), noV(event.NullValue()), yesV(event.L(event.S("q"), event.S("DELTA"))),
		}},
		{"all over list items", spec("contains|all", str(`a`), str(`b`)), []probe{
			yesV(event.L(event.S("xa"), event.S("xb"))), noV(event.L(event.S("xa"), event.S("xc"))),
		}},
	})
}

func TestNeq(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"neq string", spec("neq", str("SYSTEM")), []probe{no("system"), yes("user"), yes("")}},
		{"neq several values means none of them", spec("neq", str("a"), str("b")), []probe{no("a"), no("B"), yes("c")}},
		{"neq contains", spec("contains|neq", str("tmp")), []probe{no("x\\TMP\\y"), yes("x")}},
		{"neq number", spec("neq", num(4)), []probe{no("4"), yesV(event.N(5))}},
		{"neq null is not null", spec("neq", null()), []probe{noV(event.NullValue()), yes("")}},
	})
	cases := []struct {
		name string
		spec Spec
		want bool
	}{
		{"neq matches a missing field", spec("neq", str("x")), true},
		{"neq null does not match a missing field", spec("neq", null()), false},
		{"null matches a missing field", spec("", null()), true},
		{"plain value does not", spec("", str("")), false},
		{"exists false", spec("exists", boolean(false)), true},
		{"exists true", spec("exists", boolean(true)), false},
		{"exists neq true", spec("exists|neq", boolean(true)), true},
		{"contains", spec("contains", str("x")), false},
	}
	for _, tc := range cases {
		t.Run("missing/"+tc.name, func(t *testing.T) {
			if got := mustCompile(t, tc.spec).MatchesMissing(); got != tc.want {
				t.Errorf("MatchesMissing = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestExists(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"exists true", spec("exists", boolean(true)), []probe{yes(""), yes("x"), yesV(event.NullValue())}},
		{"exists false", spec("exists", boolean(false)), []probe{no(""), noV(event.NullValue())}},
		{"exists as string", spec("exists", str("true")), []probe{yes("x")}},
	})
}

func TestWindash(t *testing.T) {
	dashes := []string{"-", "/", "\u2013", "\u2014", "\u2015"}
	m := mustCompile(t, spec("contains|windash", str(" -foo")))
	for _, d := range dashes {
		if !m.Match(event.S("cmd.exe "+d+"FOO x"), nil) {
			t.Errorf("variant %q not matched", d)
		}
	}
	if m.Match(event.S("cmd.exe +foo"), nil) {
		t.Error("+ matched")
	}
	// A dash between word characters is not a flag and stays as written.
	m = mustCompile(t, spec("windash", str("a-b")))
	if !m.Match(event.S("a-b"), nil) || m.Match(event.S("a/b"), nil) {
		t.Error("dash inside a word was expanded")
	}
	// Every word-starting dash varies independently: 25 variants.
	m = mustCompile(t, spec("windash|contains", str("-a -b")))
	for _, d1 := range dashes {
		for _, d2 := range dashes {
			if !m.Match(event.S("x "+d1+"a "+d2+"b"), nil) {
				t.Errorf("variant %q %q not matched", d1, d2)
			}
		}
	}
	// A dash before a non-word character is not expanded.
	m = mustCompile(t, spec("windash", str("a --b")))
	if m.Match(event.S("a /-b"), nil) || !m.Match(event.S("a --b"), nil) {
		t.Error("double dash handling")
	}
	// endswith|windash as used in the corpus.
	m = mustCompile(t, spec("endswith|windash", str(" -s")))
	if !m.Match(event.S("x /s"), nil) || m.Match(event.S("x /s y"), nil) {
		t.Error("endswith|windash")
	}
	// windash with all keeps each value's variants OR-ed.
	m = mustCompile(t, spec("contains|all|windash", str("-a"), str("-b")))
	if !m.Match(event.S("/a –b"), nil) || m.Match(event.S("/a"), nil) {
		t.Error("all|windash grouping")
	}
}

func TestRegex(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"re is case-sensitive and searches", spec("re", str(`cmd\.exe`)), []probe{yes(`C:\cmd.exe /c`), no(`CMD.EXE`)}},
		{"re anchors", spec("re", str(`^cmd.*exe$`)), []probe{yes(`cmd.exe`), no(` cmd.exe`)}},
		{"re i", spec("re|i", str(`cmd\.exe`)), []probe{yes(`CMD.EXE`)}},
		{"re ignorecase alias", spec("re|ignorecase", str(`cmd`)), []probe{yes(`CMD`)}},
		{"re m", spec("re|m", str(`^b$`)), []probe{yes("a\nb\nc")}},
		{"re without m", spec("re", str(`^b$`)), []probe{no("a\nb\nc")}},
		{"re s", spec("re|s", str(`a.b`)), []probe{yes("a\nb")}},
		{"re without s", spec("re", str(`a.b`)), []probe{no("a\nb")}},
		{"re startswith anchors", spec("re|startswith", str(`b|c`)), []probe{yes("bx"), yes("cx"), no("ab")}},
		{"re endswith anchors", spec("re|endswith", str(`b|c`)), []probe{yes("ab"), yes("ac"), no("ba")}},
		{"re number value", spec("re", num(12)), []probe{yes("x12y"), no("1 2")}},
		{"re on number field", spec("re", str(`^46\d\d$`)), []probe{yesV(event.N(4688)), noV(event.NullValue())}},
	})
}

func TestTransforms(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"base64", spec("base64|contains", str("spinstall0.aspx")), []probe{yes("xx c3BpbnN0YWxsMC5hc3B4 yy"), no("spinstall0.aspx")}},
		{"base64 is cased by content but folded by default", spec("base64", str("cmd")), []probe{yes("Y21k"), yes("y21K")}},
		{"base64 cased", spec("base64|cased", str("cmd")), []probe{yes("Y21k"), no("y21K")}},
		{"utf16le", spec("utf16le", str("cmd")), []probe{yes("c\x00m\x00d\x00"), no("cmd")}},
		{"wide", spec("wide", str("cmd")), []probe{yes("c\x00m\x00d\x00")}},
		{"utf16be", spec("utf16be", str("cmd")), []probe{yes("\x00c\x00m\x00d")}},
		{"utf16 with BOM", spec("utf16", str("cmd")), []probe{yes("\xff\xfec\x00m\x00d\x00")}},
		{"utf16le non-ASCII", spec("utf16le|cased", str("é")), []probe{yes("\xe9\x00")}},
		{"utf16le keeps wildcards", spec("utf16le", str("c*d")), []probe{yes("c\x00x\x00d\x00")}},
		{"wide then base64", spec("wide|base64", str("cmd")), []probe{yes("YwBtAGQA")}},
	})
}

func TestBase64Offset(t *testing.T) {
	cases := []struct {
		mods  string
		value string
		want  []string
	}{
		{"base64offset", "/bin/bash", []string{"L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"}},
		{"base64offset", "ping", []string{"cGluZ", "Bpbm", "waW5n"}},
		{"base64offset", "http", []string{"aHR0c", "h0dH", "odHRw"}},
		{"wide|base64offset", "ping", []string{"cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA"}},
		{"utf16|base64offset", "cmd", []string{"//5jAG0AZA", "/+YwBtAGQA", "//mMAbQBkA"}},
		{"utf16be|base64offset", "IEX", []string{"AEkARQBY", "BJAEUAW", "ASQBFAF"}},
	}
	for _, tc := range cases {
		t.Run(tc.mods+"/"+tc.value, func(t *testing.T) {
			m := mustCompile(t, spec(tc.mods+"|contains", str(tc.value)))
			lits, ok := m.Literals()
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = strings.ToLower(w)
			}
			slices.Sort(want)
			if !ok || !slices.Equal(lits, want) {
				t.Errorf("Literals = %q, %v; want %q", lits, ok, want)
			}
			// The value appears in base64 of a longer text at any offset.
			data := tc.value
			switch {
			case strings.HasPrefix(tc.mods, "wide"):
				data = utf16Bytes(data, false)
			case strings.HasPrefix(tc.mods, "utf16be"):
				data = utf16Bytes(data, true)
			case strings.HasPrefix(tc.mods, "utf16"):
				data = "\xff\xfe" + utf16Bytes(data, false)
			}
			for pre := range 6 {
				for post := range 3 {
					text := strings.Repeat("A", pre) + data + strings.Repeat("Z", post)
					enc := base64.StdEncoding.EncodeToString([]byte(text))
					if !m.Match(event.S(enc), nil) {
						t.Errorf("base64(%q) = %q not matched", text, enc)
					}
				}
			}
			if m.Match(event.S(base64.StdEncoding.EncodeToString([]byte("unrelated text"))), nil) {
				t.Error("unrelated text matched")
			}
		})
	}
}

func TestNumericCompare(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"gt", spec("gt", num(5)), []probe{yesV(event.N(6)), yes("6"), yes("0x10"), yes("5.5"), noV(event.N(5)), no("abc"), no(""), noV(event.NullValue())}},
		{"gte", spec("gte", num(5)), []probe{yesV(event.N(5)), no("4")}},
		{"lt", spec("lt", num(5)), []probe{yes("-1"), yes("4.99"), no("5")}},
		{"lte", spec("lte", num(5)), []probe{yes("5"), no("1e3")}},
		{"number as string", spec("gt", str("100")), []probe{yes("101"), no("99")}},
		{"neq number", spec("gt|neq", num(5)), []probe{yes("5"), no("6")}},
	})
}

func TestTimeModifiers(t *testing.T) {
	ts := "2024-05-06T03:04:05.1234567Z"
	runMatchCases(t, []matchCase{
		{"minute", spec("minute", num(4)), []probe{yes(ts), no("2024-05-06T03:05:05Z")}},
		{"hour", spec("hour", num(3)), []probe{yes(ts), yes("2024-05-06 03:59:00"), no("2024-05-06")}},
		{"day", spec("day", num(6)), []probe{yes(ts), yes("2024-05-06")}},
		{"week", spec("week", num(19)), []probe{yes(ts), no("2024-05-13T00:00:00Z")}},
		{"week 1 of next year", spec("week", num(1)), []probe{yes("2024-12-30")}},
		{"month", spec("month", num(5)), []probe{yes(ts)}},
		{"year", spec("year", num(2024)), []probe{yes(ts), no("2023-05-06")}},
		{"garbage", spec("hour", num(3)), []probe{no("03:04"), no("not a time"), no("2024-13-01T03:00:00")}},
		{"numeric string value", spec("hour", str("3")), []probe{yes(ts)}},
	})
}

func TestCIDR(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"v4", spec("cidr", str("10.0.0.0/8")), []probe{yes("10.1.2.3"), no("11.0.0.1"), yes("::ffff:10.0.0.1"), no("10.1.2"), no("host"), noV(event.NullValue())}},
		{"v4 unmasked", spec("cidr", str("192.168.1.77/24")), []probe{yes("192.168.1.1"), no("192.168.2.1")}},
		{"v4 single address", spec("cidr", str("192.168.1.1")), []probe{yes("192.168.1.1"), no("192.168.1.2")}},
		{"v6", spec("cidr", str("2001:db8::/32")), []probe{yes("2001:db8::1"), yes("2001:DB8:0:1::5"), no("2001:db9::1"), no("10.0.0.1")}},
		{"v6 link local with zone", spec("cidr", str("fe80::/10")), []probe{yes("fe80::1%eth0"), no("fec0::1")}},
		{"list of networks", spec("cidr", str("127.0.0.0/8"), str("::1/128")), []probe{yes("127.0.0.1"), yes("::1"), no("::2")}},
	})
}

func TestFieldRef(t *testing.T) {
	ev := &event.Event{Fields: []event.Field{
		{Name: "ParentImage", Value: event.S(`C:\Windows\Explorer.EXE`)},
		{Name: "User", Value: event.S(`CORP\alice`)},
		{Name: "Dir", Value: event.S(`C:\Users\alice\`)},
		{Name: "Empty", Value: event.NullValue()},
		{Name: "Many", Value: event.L(event.S("a"), event.S("b"))},
	}}
	cases := []struct {
		name string
		spec Spec
		in   event.Value
		want bool
	}{
		{"equal ignoring case", spec("fieldref", str("ParentImage")), event.S(`c:\windows\explorer.exe`), true},
		{"field name ignoring case", spec("fieldref", str("parentimage")), event.S(`c:\windows\explorer.exe`), true},
		{"different", spec("fieldref", str("ParentImage")), event.S(`C:\x.exe`), false},
		{"missing reference", spec("fieldref", str("Nope")), event.S(`x`), false},
		{"null reference", spec("fieldref", str("Empty")), event.S(``), false},
		{"list reference", spec("fieldref", str("Many")), event.S(`b`), true},
		{"neq", spec("fieldref|neq", str("User")), event.S(`CORP\bob`), true},
		{"neq same", spec("fieldref|neq", str("User")), event.S(`corp\ALICE`), false},
		{"cased", spec("fieldref|cased", str("User")), event.S(`corp\alice`), false},
		{"startswith", spec("fieldref|startswith", str("Dir")), event.S(`c:\users\alice\evil.exe`), true},
		{"startswith no", spec("fieldref|startswith", str("Dir")), event.S(`D:\c:\users\alice\`), false},
		{"endswith", spec("fieldref|endswith", str("User")), event.S(`x corp\alice`), true},
		{"contains", spec("fieldref|contains", str("User")), event.S(`runas corp\Alice /x`), true},
		{"contains no", spec("fieldref|contains", str("User")), event.S(`corp\al`), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustCompile(t, tc.spec)
			if got := m.Match(tc.in, ev); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
	if mustCompile(t, spec("fieldref", str("User"))).Match(event.S("x"), nil) {
		t.Error("nil event matched")
	}
}

func TestExpand(t *testing.T) {
	s := spec("expand", str("%Admins%"))
	s.Placeholders = map[string][]string{"Admins": {"admin*", "root"}, "Dom": {"corp", "lab"}}
	m := mustCompile(t, s)
	for _, p := range []probe{yes("Administrator"), yes("root"), no("user"), no("%Admins%")} {
		if got := m.Match(p.in, nil); got != p.want {
			t.Errorf("Match(%q) = %v", p.in.Str, got)
		}
	}
	if u := m.Unresolved(); len(u) != 0 {
		t.Errorf("Unresolved = %q", u)
	}

	// `\%` would be a plain percent sign, so the separator here is '/'.
	s.Values = []RuleValue{str(`%Dom%/%Admins%`)}
	m = mustCompile(t, s)
	for _, p := range []probe{yes(`CORP/root`), yes(`lab/administrator`), no(`corp/user`)} {
		if got := m.Match(p.in, nil); got != p.want {
			t.Errorf("cross product: Match(%q) = %v", p.in.Str, got)
		}
	}

	s.Values = []RuleValue{str(`\%plain%Dom%`)}
	m = mustCompile(t, s)
	if !m.Match(event.S("%plaincorp"), nil) || m.Match(event.S(`\%plaincorp`), nil) {
		t.Error(`escaped percent`)
	}

	s = spec("contains|expand", str("%Servers%"), str("x"))
	m = mustCompile(t, s)
	if got := m.Unresolved(); !slices.Equal(got, []string{"Servers"}) {
		t.Errorf("Unresolved = %q", got)
	}
	if m.Match(event.S("x"), nil) || m.Match(event.S("%Servers%"), nil) || m.MatchesMissing() {
		t.Error("unresolved matcher matched")
	}
	if lits, ok := m.Literals(); !ok || len(lits) != 0 {
		t.Errorf("Literals = %q, %v; want none, true", lits, ok)
	}
	s.Modifiers = append(s.Modifiers, "neq")
	if m := mustCompile(t, s); m.Match(event.S("y"), nil) {
		t.Error("unresolved neq matcher matched")
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name   string
		spec   Spec
		want   error
		inText string
	}{
		{"unknown modifier", spec("contain", str("x")), ErrUnknownModifier, `"contain"`},
		{"no values", spec(""), ErrNoValues, ""},
		{"all with one value", spec("contains|all", str("x")), ErrAllSingle, ""},
		{"null in list", spec("", str("x"), null()), ErrNullInList, "value 2"},
		{"re after transformation", spec("base64|re", str("x")), ErrModifierCombination, ""},
		{"i without re", spec("i", str("x")), ErrModifierCombination, ""},
		{"lookahead", spec("re", str(`a(?=b)`)), ErrRegex, "lookahead"},
		{"lookbehind", spec("re", str(`(?<!x)a`)), ErrRegex, "lookbehind"},
		{"backreference", spec("re", str(`(a)\1`)), ErrRegex, "backreference"},
		{"atomic group", spec("re", str(`(?>a)`)), ErrRegex, "atomic"},
		{"possessive", spec("re", str(`a*+`)), ErrRegex, "possessive"},
		{"bad regex", spec("re", str(`a(`)), ErrRegex, "offset"},
		{"cidr bad", spec("cidr", str("10.0.0.0/33")), ErrCIDR, ""},
		{"cidr garbage", spec("cidr", str("x")), ErrCIDR, ""},
		{"cidr on number", spec("cidr", num(10)), ErrValueType, ""},
		{"cidr after contains", spec("contains|cidr", str("10.0.0.0/8")), ErrValueType, ""},
		{"base64 with wildcard", spec("contains|base64", str("x")), ErrWildcardEncoding, ""},
		{"gt on text", spec("gt", str("abc")), ErrValueType, ""},
		{"gt on bool", spec("gt", boolean(true)), ErrValueType, ""},
		{"contains on bool", spec("contains", boolean(true)), ErrValueType, ""},
		{"exists on string", spec("exists", str("maybe")), ErrValueType, ""},
		{"exists with contains", spec("exists|contains", boolean(true)), ErrModifierCombination, ""},
		{"exists without field", Spec{Values: []RuleValue{boolean(true)}, Modifiers: []string{"exists"}}, ErrModifierCombination, ""},
		{"fieldref with wildcard", spec("fieldref", str("A*")), ErrValueType, ""},
		{"hour not integer", spec("hour", num(1.5)), ErrValueType, ""},
		{"list value", spec("", RuleValue{Kind: event.List}), ErrValueType, ""},
		{"windash explosion", spec("windash", str(strings.Repeat(" -a", 8))), ErrTooManyVariants, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(tc.spec)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err %T is not *Error", err)
			}
			if !strings.Contains(err.Error(), tc.inText) {
				t.Errorf("error %q does not mention %q", err, tc.inText)
			}
		})
	}
}

func TestRegexErrorOffset(t *testing.T) {
	_, err := Compile(spec("re", str(`abc(?=x)`)))
	var ce *Error
	if !errors.As(err, &ce) || ce.Offset != 3 || ce.Modifier != "re" || ce.ValueIndex != 0 {
		t.Fatalf("err = %#v", err)
	}
}

func TestLiterals(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		want []string // nil with ok=false
	}{
		{"equal", spec("", str("CMD.exe")), []string{"cmd.exe"}},
		{"contains", spec("contains", str(`\Temp\`)), []string{`\temp\`}},
		{"longest segment", spec("", str(`C:\\*\System32\\*.exe`)), []string{`\system32\`}},
		{"or of values", spec("endswith", str("a.exe"), str("B.exe")), []string{"a.exe", "b.exe"}},
		{"all picks one value", spec("contains|all", str("ab"), str("cdef")), []string{"cdef"}},
		{"cased still folded", spec("cased", str("ABC")), []string{"abc"}},
		{"windash variants", spec("contains|windash", str("-x")), []string{"-x", "/x", "\u2013x", "\u2014x", "\u2015x"}},
		{"bool", spec("", boolean(true)), []string{"true"}},
		{"regex literal", spec("re", str(`foo\d+bar`)), []string{"foo"}},
		{"regex alternation", spec("re", str(`(abc|xyz)\.exe`)), []string{".exe"}},
		{"regex alternation only", spec("re", str(`^(?:abcd|wxyz)`)), []string{"abcd", "wxyz"}},
		{"regex i folds safe run", spec("re|i", str(`sekurlsa`)), []string{"url"}},
		{"unicode fold pattern", spec("contains", str(`Ärger-Datei`)), []string{"rger-datei"}},
		{"unicode fold pattern avoiding k and s", spec("contains", str(`Ärger-Kassel-Datei`)), []string{"el-datei"}},
		{"star has none", spec("", str("*")), nil},
		{"empty has none", spec("", str("")), nil},
		{"one value without literal spoils OR", spec("", str("abc"), str("*")), nil},
		{"neq", spec("neq", str("abc")), nil},
		{"number", spec("", num(4688)), nil},
		{"gt", spec("gt", num(1)), nil},
		{"cidr", spec("cidr", str("10.0.0.0/8")), nil},
		{"null", spec("", null()), nil},
		{"exists", spec("exists", boolean(true)), nil},
		{"fieldref", spec("fieldref", str("X")), nil},
		{"regex optional", spec("re", str(`(abc)?x*`)), nil},
		{"regex class", spec("re", str(`[a-z]+`)), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustCompile(t, tc.spec)
			lits, ok := m.Literals()
			if tc.want == nil {
				if ok {
					t.Errorf("Literals = %q, true; want not ok", lits)
				}
				return
			}
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !ok || !slices.Equal(lits, want) {
				t.Errorf("Literals = %q, %v; want %q", lits, ok, want)
			}
		})
	}
}

// TestUnicodeFoldASCIIText covers the fast rejection of pure-ASCII text by
// patterns with letters only non-ASCII text can match, and the folds that
// must not be rejected (the Kelvin sign and long s fold to ASCII).
func TestUnicodeFoldASCIIText(t *testing.T) {
	runMatchCases(t, []matchCase{
		{"cyrillic contains", spec("contains", str(" Администратор ")), []probe{
			yes("net user АДМИНИСТРАТОР /add"), yes("x администратор y"), no("net user administrator /add"), no(""), no("Администратор"),
		}},
		{"mixed ascii and umlaut", spec("contains", str("Administratör")), []probe{
			yes("ADMINISTRATÖR"), no("ADMINISTRATOR"), no("Administrat"),
		}},
		{"kelvin sign folds to k", spec("", str("\u212Aey")), []probe{
			yes("key"), yes("KEY"), yes("\u212Aey"), no("ke"),
		}},
		{"long s folds to s", spec("endswith", str("ſé")), []probe{
			yes("xSÉ"), yes("xsé"), no("xse"),
		}},
		{"wildcards", spec("", str("é*?")), []probe{
			yes("Éab"), no("eab"), no("ab"),
		}},
	})
}

func TestRegexRequiredSets(t *testing.T) {
	tests := []struct {
		expr string
		want [][]string
	}{
		{`\s-\s*<`, [][]string{{"-"}, {"<"}}},
		// Under (?i), k and s also match the Kelvin sign and long s.
		{`(?i)Invoke-(Expression|WebRequest)`, [][]string{{"expre", "webreque"}, {"invo"}}},
		{`abc(def)?ghij`, [][]string{{"ghij"}, {"abc"}}},
		{`a|b*`, nil},
		{`x{2,}yz`, [][]string{{"yz"}, {"x"}}},
	}
	for _, tc := range tests {
		got := regexRequiredSets(tc.expr)
		if !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("regexRequiredSets(%q) = %q, want %q", tc.expr, got, tc.want)
		}
	}
}
