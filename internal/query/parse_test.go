package query

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigilsoc/vigil/internal/store"
)

// testNow is the clock every test parses with, so relative times are fixed.
var testNow = time.Date(2026, 11, 25, 9, 45, 30, 123456789, time.UTC)

func testParser() Parser { return Parser{Now: func() time.Time { return testNow }} }

func eq(f, v string) store.Compare  { return store.Compare{Field: f, Op: store.OpEq, Value: v} }
func ne(f, v string) store.Compare  { return store.Compare{Field: f, Op: store.OpNe, Value: v} }
func wc(f, v string) store.Compare  { return store.Compare{Field: f, Op: store.OpWildcard, Value: v} }
func text(v string) store.Compare   { return store.Compare{Op: store.OpContains, Value: v} }
func exists(f string) store.Compare { return store.Compare{Field: f, Op: store.OpExists} }
func cmp(f string, op store.Op, v string) store.Compare {
	return store.Compare{Field: f, Op: op, Value: v}
}

type parseCase struct {
	name  string
	query string
	want  store.Expr
}

// parseCases is shared by the parse, String round-trip and ToSigma tests.
var parseCases = []parseCase{
	{"empty", "", nil},
	{"blank", "  \t\n", nil},
	{"star", "*", nil},
	{"star in parens", "( * )", nil},
	{"brief example", `Image:*\\powershell.exe AND CommandLine:*-enc*`,
		store.And{wc("Image", `*\powershell.exe`), wc("CommandLine", "*-enc*")}},
	{"single backslash is literal", `Image:*\powershell.exe`, wc("Image", `*\powershell.exe`)},
	{"windows path", `Image:C:\Windows\System32\cmd.exe`, eq("Image", `C:\Windows\System32\cmd.exe`)},
	{"escaped star is literal", `TargetFilename:C:\Users\*`, eq("TargetFilename", `C:\Users*`)},
	{"backslash then wildcard", `TargetFilename:C:\Users\\*`, wc("TargetFilename", `C:\Users\\*`)},
	{"backslash then literal star", `x:a\\\*`, eq("x", `a\*`)},
	{"trailing backslash", `x:C:\dir\`, eq("x", `C:\dir\`)},
	{"quoted trailing backslash", `x:"C:\dir\\"`, eq("x", `C:\dir\`)},
	{"quoted single backslash", `x:"C:\dir\x"`, eq("x", `C:\dir\x`)},
	{"escaped space", `x:Program\ Files`, eq("x", "Program Files")},
	{"or of hosts", `host:ws-01 OR host:"ws 02"`, store.Or{eq("host", "ws-01"), eq("host", "ws 02")}},
	{"not", "NOT User:SYSTEM", store.Not{X: eq("User", "SYSTEM")}},
	{"not lowercase", "not User:SYSTEM", store.Not{X: eq("User", "SYSTEM")}},
	{"bang", "!User:SYSTEM", store.Not{X: eq("User", "SYSTEM")}},
	{"dash", "-User:SYSTEM", store.Not{X: eq("User", "SYSTEM")}},
	{"not not", "NOT NOT a", store.Not{X: store.Not{X: text("a")}}},
	{"number eq", "EventID:4688", eq("EventID", "4688")},
	{"ge", "EventID:>=4000", cmp("EventID", store.OpGe, "4000")},
	{"gt", "EventID:>4000", cmp("EventID", store.OpGt, "4000")},
	{"le", "EventID:<=4000", cmp("EventID", store.OpLe, "4000")},
	{"lt", "DestinationPort:<1024", cmp("DestinationPort", store.OpLt, "1024")},
	{"comparison space", "DestinationPort:< 1024", cmp("DestinationPort", store.OpLt, "1024")},
	{"negative number", "x:>-5.5", cmp("x", store.OpGt, "-5.5")},
	{"hex number", "x:>0x10", cmp("x", store.OpGt, "0x10")},
	{"exists", "_exists_:ParentImage", exists("ParentImage")},
	{"has", "has:ParentImage", exists("ParentImage")},
	{"field star", "ParentImage:*", exists("ParentImage")},
	{"quoted star", `ParentImage:"*"`, exists("ParentImage")},
	{"exists group", "_exists_:(a OR b)", store.Or{exists("a"), exists("b")}},
	{"quoted wildcard", `QueryName:"*.3cx.com"`, wc("QueryName", "*.3cx.com")},
	{"quoted escapes", `CommandLine:"say \"hi\" \\o/ \*"`, eq("CommandLine", `say "hi" \o/ *`)},
	{"grouping", "(a OR b) AND c", store.And{store.Or{text("a"), text("b")}, text("c")}},
	{"implicit and", "a b c", store.And{text("a"), text("b"), text("c")}},
	{"and binds tighter", "a b OR c", store.Or{store.And{text("a"), text("b")}, text("c")}},
	{"flatten", "(a AND (b AND c)) AND d", store.And{text("a"), text("b"), text("c"), text("d")}},
	{"flatten or", "a OR (b OR c)", store.Or{text("a"), text("b"), text("c")}},
	{"symbols", "a && b || !c", store.Or{store.And{text("a"), text("b")}, store.Not{X: text("c")}}},
	{"operators need space", "a&&b", text("a&&b")},
	{"free text", "mimikatz", text("mimikatz")},
	{"free text quoted", `"event::clear"`, text("event::clear")},
	{"free text wildcard", "mimi*katz", wc("", "mimi*katz")},
	{"free dash quoted", `"-enc"`, text("-enc")},
	{"free keyword quoted", `"and"`, text("and")},
	{"ne", "User!=SYSTEM", ne("User", "SYSTEM")},
	{"ne spaced", "User != SYSTEM", ne("User", "SYSTEM")},
	{"ne wildcard", "User!=SYS*", store.Not{X: wc("User", "SYS*")}},
	{"ne star", "User!=*", store.Not{X: exists("User")}},
	{"ne empty", `User!=""`, ne("User", "")},
	{"empty value quoted", `User:""`, eq("User", "")},
	{"question mark", "Image:prog?.exe", wc("Image", "prog?.exe")},
	{"star run collapses", "Image:a**b", wc("Image", "a*b")},
	{"core shorthands", "product:windows category:process_creation service:sysmon",
		store.And{eq("logsource.product", "windows"), eq("logsource.category", "process_creation"), eq("logsource.service", "sysmon")}},
	{"core full name", "logsource.product:windows", eq("logsource.product", "windows")},
	{"Product is an event field", `Product:"Microsoft*"`, wc("Product", "Microsoft*")},
	{"core fields", "host:ws-01 id:abc source:/tmp/x.evtx",
		store.And{eq("host", "ws-01"), eq("id", "abc"), eq("source", "/tmp/x.evtx")}},
	{"space after colon", "host: ws-01", eq("host", "ws-01")},
	{"keyword value without space", "Operation:AND", eq("Operation", "AND")},
	{"quoted field", `"Process Name":x`, eq("Process Name", "x")},
	{"quoted has is a field", `"has":x`, eq("has", "x")},
	{"escaped colon free text", `a\:b`, text("a:b")},
	{"value holds colon", "Image:C:x:y", eq("Image", "C:x:y")},
	{"parens inside value", "CommandLine:*IEX(New-Object*", wc("CommandLine", "*IEX(New-Object*")},
	{"balanced parens in value", "(CommandLine:*f(x)* OR a)", store.Or{wc("CommandLine", "*f(x)*"), text("a")}},
	{"group closes value", "(host:a)", eq("host", "a")},
	{"value group", "host:(ws-01 OR ws-02)", store.Or{eq("host", "ws-01"), eq("host", "ws-02")}},
	{"value group mixed", "EventID:(4688 OR >=5000) x", store.And{store.Or{eq("EventID", "4688"), cmp("EventID", store.OpGe, "5000")}, text("x")}},
	{"value group not", "User:(-SYSTEM a*)", store.And{store.Not{X: eq("User", "SYSTEM")}, wc("User", "a*")}},
	{"guid is a value", "ProcessGuid:{0A1B2C3D-0000-1111-2222-333344445555}", eq("ProcessGuid", "{0A1B2C3D-0000-1111-2222-333344445555}")},
	{"bracket value", "x:[abc]", eq("x", "[abc]")},
	{"range", "EventID:[4000 TO 5000]", store.And{cmp("EventID", store.OpGe, "4000"), cmp("EventID", store.OpLe, "5000")}},
	{"range exclusive", "EventID:{4000 TO 5000}", store.And{cmp("EventID", store.OpGt, "4000"), cmp("EventID", store.OpLt, "5000")}},
	{"range open low", "EventID:[* TO 5000]", cmp("EventID", store.OpLe, "5000")},
	{"range open high", "EventID:[4000 to *}", cmp("EventID", store.OpGe, "4000")},
	{"range open both", "EventID:[* TO *]", exists("EventID")},
	{"range in and flattens", "a EventID:[1 TO 2]", store.And{text("a"), cmp("EventID", store.OpGe, "1"), cmp("EventID", store.OpLe, "2")}},
	{"range in or", "a OR EventID:[1 TO 2]", store.Or{text("a"), store.And{cmp("EventID", store.OpGe, "1"), cmp("EventID", store.OpLe, "2")}}},
	{"time gt", "time:>2023-03-29T00:00:00Z", cmp("time", store.OpGt, "2023-03-29T00:00:00Z")},
	{"time zone normalised", "time:>=2023-03-29T02:00:00.5+02:00", cmp("time", store.OpGe, "2023-03-29T00:00:00.5Z")},
	{"time no zone", "time:<2023-03-29T10:11:12", cmp("time", store.OpLt, "2023-03-29T10:11:12Z")},
	{"time minutes", "time:<2023-03-29T10:11", cmp("time", store.OpLt, "2023-03-29T10:11:00Z")},
	{"time quoted space", `time:<"2023-03-29 10:11:12"`, cmp("time", store.OpLt, "2023-03-29T10:11:12Z")},
	{"time unix", "time:>=1680000000", cmp("time", store.OpGe, "2023-03-28T10:40:00Z")},
	{"time range dates", "time:[2023-03-01 TO 2023-03-31]",
		store.And{cmp("time", store.OpGe, "2023-03-01T00:00:00Z"), cmp("time", store.OpLt, "2023-04-01T00:00:00Z")}},
	{"time range exclusive dates", "time:{2023-03-01 TO 2023-03-31}",
		store.And{cmp("time", store.OpGe, "2023-03-02T00:00:00Z"), cmp("time", store.OpLt, "2023-03-31T00:00:00Z")}},
	{"time date eq", "time:2023-03-29",
		store.And{cmp("time", store.OpGe, "2023-03-29T00:00:00Z"), cmp("time", store.OpLt, "2023-03-30T00:00:00Z")}},
	{"time date ne", "time!=2023-03-29",
		store.Not{X: store.And{cmp("time", store.OpGe, "2023-03-29T00:00:00Z"), cmp("time", store.OpLt, "2023-03-30T00:00:00Z")}}},
	{"time eq exact", "time:2023-03-29T10:00:00Z", eq("time", "2023-03-29T10:00:00Z")},
	{"time relative", "time:>now-24h", cmp("time", store.OpGt, "2026-11-24T09:45:30Z")},
	{"time relative units", "time:[now-2w TO now+1d]",
		store.And{cmp("time", store.OpGe, "2026-11-11T09:45:30Z"), cmp("time", store.OpLe, "2026-11-26T09:45:30Z")}},
	{"time now", "time:<=NOW", cmp("time", store.OpLe, "2026-11-25T09:45:30Z")},
	{"3cx hunt", `host:ws-01 (Image:*\3CXDesktopApp.exe OR QueryName:"*.3cx.com") -User:SYSTEM`,
		store.And{eq("host", "ws-01"), store.Or{wc("Image", `*\3CXDesktopApp.exe`), wc("QueryName", "*.3cx.com")}, store.Not{X: eq("User", "SYSTEM")}}},
	{"not group", "NOT (a OR b)", store.Not{X: store.Or{text("a"), text("b")}}},
	{"unicode", "User:Jürgen Ärger", store.And{eq("User", "Jürgen"), text("Ärger")}},
	{"newlines", "a\nAND\nb", store.And{text("a"), text("b")}},
	{"star term in and", "* AND a", store.And{wc("", "*"), text("a")}},
}

func TestParse(t *testing.T) {
	p := testParser()
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.query, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q)\n got %#v\nwant %#v", tc.query, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		query   string
		col     int
		msg     string // substring of the message
		wantErr error
	}{
		{"(a OR b", 1, "unclosed '('", nil},
		{"a OR b)", 7, "unexpected ')'", nil},
		{")", 1, "unexpected ')'", nil},
		{"()", 1, "empty parentheses", nil},
		{"(", 1, "unclosed '('", nil},
		{"a AND", 6, "expected a term after AND", nil},
		{"a AND )", 7, "expected a term after AND", nil},
		{"a OR", 5, "expected a term after OR", nil},
		{"AND a", 1, "unexpected AND", nil},
		{"a AND OR b", 7, "expected a term after AND", nil},
		{"NOT", 4, "expected a term after NOT", nil},
		{"a -", 4, "expected a term after -", nil},
		{"Image:*\\powershell.exe AND x:", 30, "expected a value after ':'", nil},
		{"host: AND b", 7, "expected a value after ':'", nil},
		{"host:)", 6, "expected a value after ':'", nil},
		{"(host:)", 7, "expected a value after ':'", nil},
		{":x", 1, "expected a field name before ':'", nil},
		{"!=x", 1, "expected a field name before '!='", nil},
		{`"":x`, 1, "empty field name", nil},
		{"a*:x", 1, "cannot hold wildcards", nil},
		{`"abc`, 1, "unterminated quoted string", nil},
		{`x:"abc`, 3, "unterminated quoted string", nil},
		{`""`, 1, "empty free-text term", nil},
		{"EventID:>", 10, "expected a value after '>'", nil},
		{"EventID:>=abc", 11, `"abc" is not a number`, nil},
		{"EventID:<4*", 10, "not a pattern", nil},
		{"EventID:>NaN", 10, "not a number", nil},
		{"EventID:>>5", 10, "not a number", nil},
		{"x!=", 4, "expected a value after '!='", nil},
		{"time:>yesterday", 7, "not a time", nil},
		{"time:>now-5y", 7, "not a relative time", nil},
		{"time:>now-99999999999d", 7, "more than 100 years", nil},
		{"time:>now-9999999999999999999999999999d", 7, "not a relative time", nil},
		{"time:2023-*", 6, "wildcards do not work on time", nil},
		{"time:[2023-03-01 TO ]", 21, "expected an upper bound", nil},
		{"time:[2023-03-01 TO 2023-03-31", 31, "expected ']' or '}'", nil},
		{"x:[1 TO 2 3]", 11, "expected ']' or '}'", nil},
		{"x:[a TO 2]", 4, "not a number", nil},
		{"time:<=9999-12-31", 8, "out of range", nil},
		{"_exists_:", 10, "expected a value after '_exists_:'", nil},
		{"_exists_:a*", 10, "cannot hold wildcards", nil},
		{"a\nOR", 3, "expected a term after OR", nil},
		{"\xff", 1, "not valid UTF-8", nil},
		{strings.Repeat("(", 65) + "a" + strings.Repeat(")", 65), 65, "deeper than 64", ErrTooDeep},
		{strings.Repeat("NOT ", 65) + "a", 257, "deeper than 64", ErrTooDeep},
		{strings.Repeat("-", 100000), 8193, "longer than 8192 bytes", ErrTooLong},
	}
	p := testParser()
	for _, tc := range tests {
		name := tc.query
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got, err := p.Parse(tc.query)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %#v, %v; want a *SyntaxError", name, got, err)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error does not wrap ErrSyntax")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error does not wrap %v", tc.wantErr)
			}
			if se.Col != tc.col || !strings.Contains(se.Msg, tc.msg) {
				t.Errorf("Parse(%q) error %q (col %d); want col %d and %q", name, err, se.Col, tc.col, tc.msg)
			}
		})
	}
}

func TestSyntaxErrorFormat(t *testing.T) {
	_, err := Parse("a AND\n  b:")
	if got, want := err.Error(), "query:2:5: expected a value after ':'"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	var se *SyntaxError
	if !errors.As(err, &se) || se.Pos != 10 || se.Line != 2 {
		t.Fatalf("SyntaxError = %+v; want Pos 10 on line 2", se)
	}
	// Col counts characters, not bytes, so a caret lines up.
	_, err = Parse("Ärger:")
	if errors.As(err, &se); se.Col != 7 || se.Pos != 7 {
		t.Fatalf("after a two-byte rune: %+v; want col 7, pos 7", se)
	}
}

func TestParseLimits(t *testing.T) {
	p := Parser{MaxLength: 10, MaxDepth: 2}
	if _, err := p.Parse("abcdefghijk"); !errors.Is(err, ErrTooLong) {
		t.Errorf("11 bytes with MaxLength 10: %v, want ErrTooLong", err)
	}
	if _, err := p.Parse("((a))"); err != nil {
		t.Errorf("depth 2 with MaxDepth 2: %v", err)
	}
	if _, err := p.Parse("(((a)))"); !errors.Is(err, ErrTooDeep) {
		t.Errorf("depth 3 with MaxDepth 2: %v, want ErrTooDeep", err)
	}
	// The tree's depth counts too: NOT of a whole day is Not{And}, and NOT
	// NOT of it is three levels although only two were typed.
	if _, err := (Parser{MaxDepth: 2}).Parse("NOT NOT time:2023-03-01"); !errors.Is(err, ErrTooDeep) {
		t.Errorf("tree depth 3 with MaxDepth 2: %v, want ErrTooDeep", err)
	}
	// The default limit admits a deep but legal query.
	q := strings.Repeat("(", 64) + "a" + strings.Repeat(")", 64)
	if _, err := Parse(q); err != nil {
		t.Errorf("64 levels: %v", err)
	}
}

func TestParseUsesClockOnce(t *testing.T) {
	calls := 0
	p := Parser{Now: func() time.Time { calls++; return testNow }}
	if _, err := p.Parse("time:[now-1h TO now] OR time:>now-1d"); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("Now called %d times, want 1", calls)
	}
	if _, err := p.Parse("a"); err != nil || calls != 1 {
		t.Fatalf("a query without relative times read the clock (%d calls, %v)", calls, err)
	}
}
