package match

import (
	"testing"

	"github.com/vigilsoc/vigil/internal/event"
)

// BenchmarkMatch runs each common matcher shape over a 300-byte command line
// it does not match (the usual case: most rules miss most events) and one it
// does.
func BenchmarkMatch(b *testing.B) {
	miss := benchCommandLines(1)[0]
	cases := []struct {
		name string
		spec Spec
		hit  event.Value
	}{
		{"equal", spec("", str(`C:\Windows\System32\cmd.exe`)), event.S(`c:\windows\system32\CMD.EXE`)},
		{"prefix", spec("startswith", str(`C:\Windows\Temp\`)), event.S(`C:\Windows\Temp\x.exe`)},
		{"suffix", spec("endswith", str(`\rundll32.exe`)), event.S(`C:\Windows\System32\RUNDLL32.exe`)},
		{"contains", spec("contains", str(`-encodedcommand`)), event.S(miss + ` -EncodedCommand AAA`)},
		{"contains_letters", spec("contains", str(`mimikatz`)), event.S(miss + ` MimiKatz`)},
		{"contains_cased", spec("contains|cased", str(`Invoke-Mimikatz`)), event.S(miss + ` Invoke-Mimikatz`)},
		{"contains_10_values", spec("contains", str("-nop "), str("-noni"), str("-w 1"), str("-enc "), str("-ep bypass"),
			str("downloadstring"), str("iex("), str("frombase64"), str("invoke-expression"), str("net.webclient")),
			event.S(miss + ` net.webclient`)},
		{"contains_all_3", spec("contains|all", str(" -ma "), str("lsass"), str(".dmp")), event.S(miss + ` -ma lsass.exe x.dmp`)},
		{"windash", spec("contains|windash", str(" -decode ")), event.S(miss + ` /decode `)},
		{"glob", spec("", str(`C:\\Users\\*\\AppData\\*.exe`)), event.S(`C:\Users\bob\AppData\Local\x.exe`)},
		{"regex", spec("re", str(`\\[A-Za-z0-9]{8}\.exe$`)), event.S(miss + `\abcd1234.exe`)},
		{"number", spec("", num(4688)), event.N(4688)},
		{"number_vs_text", spec("", num(4688)), event.S("4688")},
		{"gt", spec("gt", num(1000)), event.S("4096")},
		{"cidr_v4", spec("cidr", str("10.0.0.0/8")), event.S("10.20.30.40")},
		{"cidr_v6", spec("cidr", str("fe80::/10")), event.S("fe80::1ff:fe23:4567:890a")},
		{"fieldref", spec("fieldref", str("ParentImage")), event.S(`C:\Windows\explorer.exe`)},
	}
	ev := &event.Event{Fields: []event.Field{{Name: "ParentImage", Value: event.S(`C:\Windows\Explorer.EXE`)}}}
	for _, tc := range cases {
		m := mustCompile(b, tc.spec)
		if !m.Match(tc.hit, ev) || m.Match(event.S(miss), ev) {
			b.Fatalf("%s: hit value does not match or miss value does", tc.name)
		}
		for _, run := range []struct {
			name string
			v    event.Value
		}{{"miss", event.S(miss)}, {"hit", tc.hit}} {
			b.Run(tc.name+"/"+run.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(run.v.Str)))
				for b.Loop() {
					m.Match(run.v, ev)
				}
			})
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	specs := []Spec{
		spec("contains", str(`\Temp\`), str(`\AppData\`)),
		spec("contains|windash", str(" -enc "), str(" -ec ")),
		spec("re", str(`\\[A-Za-z0-9]{8}\.exe$`)),
		spec("base64offset|contains", str("IEX (New-Object")),
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range specs {
			if _, err := Compile(s); err != nil {
				b.Fatal(err)
			}
		}
	}
}
