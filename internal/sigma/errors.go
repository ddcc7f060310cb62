package sigma

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors; positioned errors wrap them so callers can test with errors.Is.
var (
	// ErrTimespan: a correlation timespan is not "<number><s|m|h|d>".
	ErrTimespan = errors.New("invalid timespan")
	// ErrSyntax: the YAML itself does not parse.
	ErrSyntax = errors.New("YAML syntax error")
	// ErrInvalid: a document is well-formed YAML but not a valid Sigma rule,
	// correlation or filter (missing or mistyped attribute).
	ErrInvalid = errors.New("invalid rule")
	// ErrCondition: the detection condition does not parse or refers to a
	// selection that does not exist.
	ErrCondition = errors.New("invalid condition")
	// ErrUnsupported: a construct the specification has retired (legacy
	// aggregations such as "| count() > 5", "near").
	ErrUnsupported = errors.New("unsupported construct")
)

// FileError is an error at a position in a rule file. Line and Col are
// 1-based; 0 means unknown.
type FileError struct {
	Path      string
	Line, Col int
	Err       error
}

func (e FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e FileError) Unwrap() error { return e.Err }

// ErrorList collects positioned errors, as go/scanner.ErrorList does, so a
// file with five mistakes reports five.
type ErrorList []FileError

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0].Error(), len(l)-1)
}

// Sort orders the errors by path and position.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Err returns nil for an empty list, else the list itself.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Unwrap exposes every error to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i := range l {
		out[i] = l[i]
	}
	return out
}
