package client

import (
	"testing"
	"time"
)

// FuzzParseRetryAfter: whatever a server sends, the wait is between zero
// and the cap.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "120", "-1", "99999999999999999999", "9223372036", "Wed, 21 Oct 2015 07:28:00 GMT", " 5 ", "1.5"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if d := parseRetryAfter(s, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v", s, d)
		}
	})
}
