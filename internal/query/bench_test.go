package query

import (
	"strings"
	"testing"
)

const benchQuery = `product:windows host:(ws-01 OR "ws 02") ParentImage:*\3CXDesktopApp.exe ` +
	`(Image:*\cmd.exe OR Image:*\powershell.exe OR CommandLine:"*-enc *") -User:SYSTEM ` +
	`EventID:>=1 time:[2023-03-01 TO 2023-03-31]`

func BenchmarkParse(b *testing.B) {
	p := testParser()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchQuery)))
	for b.Loop() {
		if _, err := p.Parse(benchQuery); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseLarge parses a query near the length limit: the cost a
// hostile or pasted query can impose.
func BenchmarkParseLarge(b *testing.B) {
	var sb strings.Builder
	for sb.Len() < DefaultMaxLength-200 {
		sb.WriteString(`(QueryName:"*.3cx.com" OR Image:*\x.exe) `)
	}
	q := sb.String()
	p := testParser()
	b.ReportAllocs()
	b.SetBytes(int64(len(q)))
	for b.Loop() {
		if _, err := p.Parse(q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	e, err := testParser().Parse(benchQuery)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = String(e)
	}
}

func BenchmarkToSigma(b *testing.B) {
	e, err := testParser().Parse(strings.Replace(benchQuery, "host:(ws-01 OR \"ws 02\") ", "", 1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ToSigma(e, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
