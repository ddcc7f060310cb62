package match

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors, matched with errors.Is against what Compile returns.
var (
	// ErrUnknownModifier: a modifier name this package does not know.
	ErrUnknownModifier = errors.New("unknown modifier")
	// ErrModifierCombination: modifiers that cannot be used together or in
	// this order (exists with anything else, re after a transformation, i/m/s
	// without re, ...).
	ErrModifierCombination = errors.New("invalid modifier combination")
	// ErrValueType: a modifier applied to a value of the wrong type (cidr on
	// a number, lt on a string that is not a number, exists on a string, ...).
	ErrValueType = errors.New("modifier not applicable to value type")
	// ErrRegex: a regular expression that does not compile or uses a
	// construct outside Sigma's PCRE subset that RE2 cannot run.
	ErrRegex = errors.New("invalid regular expression")
	// ErrCIDR: a cidr value that is not an IPv4 or IPv6 network.
	ErrCIDR = errors.New("invalid CIDR network")
	// ErrAllSingle: the all modifier on a single value, which the
	// specification forbids ("Single item values are not allowed to have an
	// all modifier").
	ErrAllSingle = errors.New("all modifier with a single value")
	// ErrNullInList: null among other values; the specification says null
	// "cannot be part of a list of field values".
	ErrNullInList = errors.New("null in a list of values")
	// ErrNoValues: a detection item without values.
	ErrNoValues = errors.New("no values")
	// ErrWildcardEncoding: base64/base64offset of a value with wildcards,
	// which has no meaningful encoding.
	ErrWildcardEncoding = errors.New("encoding a value with wildcards")
	// ErrTooManyVariants: windash/expand permutations beyond MaxVariants.
	ErrTooManyVariants = errors.New("too many value variants")
)

// MaxVariants bounds how many values windash and expand may generate from
// one detection item, so a hostile rule cannot exhaust memory at compile time.
const MaxVariants = 4096

// Error is a compile error with its position in the detection item: the
// modifier (by index into Spec.Modifiers, -1 if none) and the value (by index
// into Spec.Values, -1 if none), and for regular expressions the byte offset
// of the offending construct in the value (-1 if unknown).
type Error struct {
	Field      string
	Modifier   string
	ModIndex   int
	ValueIndex int
	Offset     int
	Msg        string
	Err        error // one of the ErrXxx sentinels
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("field ")
	b.WriteString(strconv.Quote(e.Field))
	if e.Modifier != "" {
		b.WriteString(", modifier ")
		b.WriteString(strconv.Quote(e.Modifier))
	}
	if e.ValueIndex >= 0 {
		b.WriteString(", value ")
		b.WriteString(strconv.Itoa(e.ValueIndex + 1))
	}
	if e.Offset >= 0 {
		b.WriteString(" at offset ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }
