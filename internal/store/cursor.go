package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cursors are opaque to clients but simple inside: the sort key of the last
// row of a page (time and a tie-breaking id), so the next page is a range
// query that stays correct while new rows arrive, unlike an offset.

// EncodeCursor returns the cursor that continues after the row (t, id).
func EncodeCursor(t time.Time, id string) string {
	raw := strconv.FormatInt(t.UnixNano(), 10) + ":" + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor reverses EncodeCursor; a malformed cursor gives an error
// wrapping ErrInvalid.
func DecodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: cursor: %v", ErrInvalid, err)
	}
	ns, id, ok := strings.Cut(string(raw), ":")
	if !ok {
		return time.Time{}, "", fmt.Errorf("%w: cursor: no separator", ErrInvalid)
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%w: cursor: %v", ErrInvalid, err)
	}
	return time.Unix(0, n).UTC(), id, nil
}
