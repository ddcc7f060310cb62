package sigma

import "errors"

// Sentinel errors; positioned errors wrap them so callers can test with errors.Is.
var (
	// ErrTimespan: a correlation timespan is not "<number><s|m|h|d>".
	ErrTimespan = errors.New("invalid timespan")
)
