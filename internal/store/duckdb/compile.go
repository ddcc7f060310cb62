package duckdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/store"
)

// Compiling a filter to SQL: values are always bound parameters, and field
// names reach the SQL text only as one of the fixed column names below; any
// other field is read from the JSON column with a JSON Pointer that is itself
// a bound parameter. So no input can change the statement's shape.

// hotColumn maps a Sigma field name (lower-cased) to its own column. These
// are the fields hunts filter on most; a column of its own gives DuckDB
// dictionary compression and skips JSON parsing for them.
var hotColumns = hotColumnsArr[:]

var hotColumnsArr = [...]struct{ field, column string }{
	{"Image", "image"},
	{"CommandLine", "command_line"},
	{"ParentImage", "parent_image"},
	{"ParentCommandLine", "parent_command_line"},
	{"User", "user_name"},
	{"TargetFilename", "target_filename"},
	{"QueryName", "query_name"},
	{"DestinationIp", "destination_ip"},
	{"DestinationHostname", "destination_hostname"},
	{"DestinationPort", "destination_port"},
	{"SourceIp", "source_ip"},
	{"EventID", "event_id"},
	{"Hashes", "hashes"},
	{"TargetObject", "target_object"},
}

// coreColumns maps the core field names of store.Compare to columns.
var coreColumns = map[string]string{
	"id":                 "id",
	"host":               "host",
	"source":             "source",
	"logsource.product":  "product",
	"logsource.category": "category",
	"logsource.service":  "service",
}

// fieldRef is how one field is read in SQL.
type fieldRef struct {
	sql    string // SQL text: a fixed column name or "json_extract_string(fields, ?)"
	args   []any  // the JSON pointer for JSON fields
	isTime bool
	isJSON bool
	ptr    string
}

// column resolves a field name. Core names are exact; Sigma field names match
// hot columns without regard to case (as Sigma matching does) and otherwise
// address the JSON object by exact key.
func column(field string) fieldRef {
	if field == "time" {
		return fieldRef{sql: "time", isTime: true}
	}
	if c, ok := coreColumns[field]; ok {
		return fieldRef{sql: c}
	}
	for _, h := range hotColumns {
		if strings.EqualFold(h.field, field) {
			return fieldRef{sql: h.column}
		}
	}
	ptr := jsonPointer(field)
	return fieldRef{sql: "json_extract_string(fields, ?)", args: []any{ptr}, isJSON: true, ptr: ptr}
}

// jsonPointer addresses one top-level key (RFC 6901): event fields are flat,
// so "process.pid" is one key, and '~' and '/' are the only characters that
// need escaping.
func jsonPointer(key string) string {
	key = strings.ReplaceAll(key, "~", "~0")
	key = strings.ReplaceAll(key, "/", "~1")
	return "/" + clean(key)
}

// clean makes s valid UTF-8, which DuckDB requires of every VARCHAR. Invalid
// bytes become U+FFFD, as in the JSON column, so a field name or value with
// invalid bytes still finds what was stored under it.
func clean(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// likeEscape makes s match itself literally in a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '%', '_':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// wildcardToLike turns an analyst's pattern into a LIKE pattern with
// ESCAPE '\'. It follows Sigma's wildcard rules so a pattern means the same
// in a rule and in a hunt: * is any run, ? one character, and a backslash
// escapes only a following *, ? or backslash; any other backslash is literal,
// so C:\Windows\System32 needs no escaping (but C:\Windows\* is a literal
// star, as in Sigma; write C:\Windows\\* for "anything below").
//
// literal transforms each literal character before LIKE-escaping it (free
// text applies JSON escaping so it matches the JSON column's text).
func wildcardToLike(p string, literal func(string) string) string {
	var b strings.Builder
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch r {
		case '\\':
			if i+1 < len(rs) && (rs[i+1] == '*' || rs[i+1] == '?' || rs[i+1] == '\\') {
				i++
				b.WriteString(likeEscape(literal(string(rs[i]))))
				continue
			}
			b.WriteString(likeEscape(literal("\\")))
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		default:
			b.WriteString(likeEscape(literal(string(r))))
		}
	}
	return b.String()
}

// jsonEscape returns s as it appears inside a JSON string, so free-text
// search over the JSON column finds C:\Windows stored as C:\\Windows.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func identity(s string) string { return s }

var errNotNumber = errors.New("value is not a number")

// compiler accumulates SQL text and its arguments.
type compiler struct {
	b    strings.Builder
	args []any
}

func (c *compiler) expr(e store.Expr) error {
	switch x := e.(type) {
	case nil:
		c.b.WriteString("TRUE")
	case store.And:
		if len(x) == 0 {
			c.b.WriteString("TRUE")
			return nil
		}
		return c.list(x, " AND ")
	case store.Or:
		if len(x) == 0 {
			c.b.WriteString("FALSE")
			return nil
		}
		return c.list(x, " OR ")
	case store.Not:
		c.b.WriteString("(NOT ")
		if err := c.expr(x.X); err != nil {
			return err
		}
		c.b.WriteString(")")
	case store.Compare:
		return c.compare(x)
	case *store.Compare:
		return c.compare(*x)
	default:
		return fmt.Errorf("%w: unknown expression %T", store.ErrInvalid, e)
	}
	return nil
}

func (c *compiler) list(xs []store.Expr, sep string) error {
	c.b.WriteString("(")
	for i, x := range xs {
		if i > 0 {
			c.b.WriteString(sep)
		}
		if err := c.expr(x); err != nil {
			return err
		}
	}
	c.b.WriteString(")")
	return nil
}

// compare writes one comparison. Every comparison is wrapped in
// COALESCE(..., FALSE) so that a missing field (NULL) is plainly false and
// Not of it plainly true, instead of SQL's three-valued logic dropping the
// row from both.
func (c *compiler) compare(x store.Compare) error {
	qerr := func(err error) error {
		return &store.QueryError{Field: x.Field, Op: x.Op, Value: x.Value, Err: err}
	}
	if x.Field == "" {
		return c.freeText(x, qerr)
	}
	f := column(x.Field)
	ref := func() {
		c.b.WriteString(f.sql)
		c.args = append(c.args, f.args...)
	}
	c.b.WriteString("COALESCE(")
	switch x.Op {
	case store.OpExists:
		if f.isJSON {
			// json_extract keeps a JSON null as the text 'null', so a field
			// present with a null value exists.
			c.b.WriteString("json_extract(fields, ?) IS NOT NULL")
			c.args = append(c.args, f.ptr)
		} else {
			ref()
			c.b.WriteString(" IS NOT NULL")
		}
	case store.OpEq, store.OpNe:
		if f.isTime {
			t, err := event.ParseTime(x.Value)
			if err != nil {
				return qerr(err)
			}
			ref()
			if x.Op == store.OpEq {
				c.b.WriteString(" = ?")
			} else {
				c.b.WriteString(" <> ?")
			}
			c.args = append(c.args, t)
			break
		}
		if x.Op == store.OpNe {
			// Absent differs from any value.
			c.b.WriteString("NOT COALESCE(")
		}
		c.b.WriteString("lower(")
		ref()
		c.b.WriteString(") = lower(?)")
		c.args = append(c.args, clean(x.Value))
		if x.Op == store.OpNe {
			c.b.WriteString(", FALSE)")
		}
	case store.OpLt, store.OpLe, store.OpGt, store.OpGe:
		op := map[store.Op]string{store.OpLt: " < ", store.OpLe: " <= ", store.OpGt: " > ", store.OpGe: " >= "}[x.Op]
		if f.isTime {
			t, err := event.ParseTime(x.Value)
			if err != nil {
				return qerr(err)
			}
			ref()
			c.b.WriteString(op + "?")
			c.args = append(c.args, t)
			break
		}
		n, ok := event.S(x.Value).Number()
		if !ok {
			return qerr(errNotNumber)
		}
		c.b.WriteString("TRY_CAST(")
		ref()
		c.b.WriteString(" AS DOUBLE)" + op + "?")
		c.args = append(c.args, n)
	case store.OpContains:
		// contains(lower(..)) runs about four times faster than ILIKE
		// '%..%' over long text, and needs no pattern escaping.
		c.b.WriteString("contains(lower(")
		if f.isTime {
			c.b.WriteString("CAST(time AS VARCHAR)")
		} else {
			ref()
		}
		c.b.WriteString("), lower(?))")
		c.args = append(c.args, clean(x.Value))
	case store.OpWildcard:
		if f.isTime {
			c.b.WriteString("CAST(time AS VARCHAR)")
		} else {
			ref()
		}
		c.b.WriteString(` ILIKE ? ESCAPE '\'`)
		c.args = append(c.args, clean(wildcardToLike(x.Value, identity)))
	default:
		return qerr(fmt.Errorf("unknown operator"))
	}
	c.b.WriteString(", FALSE)")
	return nil
}

// freeText matches a value anywhere: the host or any field's value (by
// searching the JSON text, so it may also match a field name). Equals means
// contains here: free text is what an analyst types into a search box.
func (c *compiler) freeText(x store.Compare, qerr func(error) error) error {
	switch x.Op {
	case store.OpExists:
		c.b.WriteString("TRUE")
		return nil
	case store.OpEq, store.OpNe, store.OpContains:
		if x.Op == store.OpNe {
			c.b.WriteString("NOT ")
		}
		c.b.WriteString(`COALESCE(contains(lower(host), lower(?)) OR contains(lower(fields), lower(?)), FALSE)`)
		c.args = append(c.args, clean(x.Value), clean(jsonEscape(x.Value)))
	case store.OpWildcard:
		c.b.WriteString(`COALESCE(host ILIKE ? ESCAPE '\' OR fields ILIKE ? ESCAPE '\', FALSE)`)
		c.args = append(c.args, clean("%"+wildcardToLike(x.Value, identity)+"%"), clean("%"+wildcardToLike(x.Value, jsonEscape)+"%"))
	default:
		return qerr(errors.New("free text supports only equals, not equals, contains and wildcard"))
	}
	return nil
}

// where compiles the time range, an optional cursor position and the filter
// into one WHERE clause.
func where(q store.EventQuery, after *cursorPos) (string, []any, error) {
	var c compiler
	c.b.WriteString("TRUE")
	if !q.Range.From.IsZero() {
		c.b.WriteString(" AND time >= ?")
		c.args = append(c.args, q.Range.From)
	}
	if !q.Range.To.IsZero() {
		c.b.WriteString(" AND time < ?")
		c.args = append(c.args, q.Range.To)
	}
	if after != nil {
		// Newest first: the next page holds rows strictly below (time, id).
		c.b.WriteString(" AND (time < ? OR (time = ? AND id < ?))")
		c.args = append(c.args, after.t, after.t, clean(after.id))
	}
	if q.Where != nil {
		c.b.WriteString(" AND ")
		if err := c.expr(q.Where); err != nil {
			return "", nil, err
		}
	}
	return c.b.String(), c.args, nil
}

type cursorPos struct {
	t  time.Time
	id string
}
