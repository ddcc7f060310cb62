package query

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Sentinels, wrapped by the errors this package returns.
var (
	// ErrSyntax: the query is not in the language. Every *SyntaxError wraps it.
	ErrSyntax = errors.New("query: syntax error")
	// ErrTooLong: the query exceeds the length limit (a *SyntaxError).
	ErrTooLong = errors.New("query: too long")
	// ErrTooDeep: the query nests deeper than the depth limit (a *SyntaxError).
	ErrTooDeep = errors.New("query: nested too deeply")
	// ErrNotExpressible: ToSigma met something a Sigma rule cannot say.
	ErrNotExpressible = errors.New("query: not expressible as a Sigma rule")
)

// SyntaxError is a query that could not be parsed, with where.
type SyntaxError struct {
	// Pos is the byte offset of the problem in the query, from 0.
	Pos int
	// Line and Col are 1-based; Col counts characters (runes), so a console
	// can put a caret under the problem.
	Line, Col int
	Msg       string
	// Err is ErrTooLong or ErrTooDeep for a limit, else nil.
	Err error
}

// Error reads "query:LINE:COL: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("query:%d:%d: %s", e.Line, e.Col, e.Msg)
}

// Unwrap lets errors.Is find ErrSyntax and, for limits, ErrTooLong or
// ErrTooDeep.
func (e *SyntaxError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrSyntax, e.Err}
	}
	return []error{ErrSyntax}
}

// newSyntaxError positions msg at byte offset pos of src.
func newSyntaxError(src string, pos int, cause error, msg string) *SyntaxError {
	pos = min(max(pos, 0), len(src))
	line, col := 1, 1
	for i := 0; i < pos; {
		r, n := utf8.DecodeRuneInString(src[i:])
		i += n
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Pos: pos, Line: line, Col: col, Msg: msg, Err: cause}
}
