package duckdb

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/store"
)

func TestWildcardToLike(t *testing.T) {
	tests := []struct{ in, want string }{
		{`*\cmd.exe`, `%\\cmd.exe`},
		{`a?c`, `a_c`},
		{`50%_off`, `50\%\_off`},
		{`C:\Windows\*`, `C:\\Windows*`}, // Sigma: \* is a literal star
		{`C:\Windows\\*`, `C:\\Windows\\%`},
		{`\?`, `?`},
		{`trailing\`, `trailing\\`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := wildcardToLike(tt.in, identity); got != tt.want {
			t.Errorf("wildcardToLike(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJSONPointer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Image", "/Image"},
		{"process.pid", "/process.pid"},
		{"a/b~c", "/a~1b~0c"},
		{"~1", "/~01"},
		{"", "/"},
	}
	for _, tt := range tests {
		if got := jsonPointer(tt.in); got != tt.want {
			t.Errorf("jsonPointer(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestWhereKeepsValuesOutOfSQL checks the compiled text directly: no value
// and no non-column field name may appear in it, only as arguments.
func TestWhereKeepsValuesOutOfSQL(t *testing.T) {
	evil := `'; DROP TABLE events; --`
	var exprs store.And
	for _, op := range []store.Op{store.OpEq, store.OpNe, store.OpWildcard, store.OpContains, store.OpExists} {
		for _, field := range []string{evil, "Image", "host", ""} {
			exprs = append(exprs, store.Compare{Field: field, Op: op, Value: evil})
		}
	}
	sql, args, err := where(store.EventQuery{Where: store.Not{X: store.Or{exprs}}}, &cursorPos{id: evil})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sql, "DROP") || strings.Contains(sql, evil) {
		t.Errorf("value reached SQL text: %s", sql)
	}
	if n := strings.Count(sql, "?"); n != len(args) {
		t.Errorf("%d placeholders, %d args", n, len(args))
	}
}

func TestCompareErrors(t *testing.T) {
	for _, c := range []store.Compare{
		{Field: "ProcessId", Op: store.OpLt, Value: "ten"},
		{Field: "time", Op: store.OpEq, Value: "soon"},
		{Field: "", Op: store.OpGe, Value: "1"},
		{Field: "x", Op: store.Op(99), Value: "1"},
	} {
		var comp compiler
		err := comp.expr(c)
		var qe *store.QueryError
		if !errors.As(err, &qe) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%+v: err = %v, want a QueryError wrapping ErrInvalid", c, err)
		}
	}
}
