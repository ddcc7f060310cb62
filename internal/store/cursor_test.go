package store

import (
	"errors"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	tests := []struct {
		t  time.Time
		id string
	}{
		{time.Date(2026, 3, 29, 10, 0, 0, 123456789, time.UTC), "ev-1"},
		{time.Unix(0, 0).UTC(), ""},
		{time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), "id:with:colons/and 🦆"},
	}
	for _, tt := range tests {
		c := EncodeCursor(tt.t, tt.id)
		gotT, gotID, err := DecodeCursor(c)
		if err != nil || !gotT.Equal(tt.t) || gotID != tt.id {
			t.Errorf("DecodeCursor(EncodeCursor(%v, %q)) = %v, %q, %v", tt.t, tt.id, gotT, gotID, err)
		}
	}
}

func TestDecodeCursorRejects(t *testing.T) {
	for _, c := range []string{"!!!", "bm9zZXA", "eDpmb28"} { // bad base64, "nosep", "x:foo"
		if _, _, err := DecodeCursor(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeCursor(%q) err = %v, want ErrInvalid", c, err)
		}
	}
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor(time.Unix(1, 2), "id"))
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, c string) {
		ts, id, err := DecodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("DecodeCursor(%q): error %v does not wrap ErrInvalid", c, err)
			}
			return
		}
		// Whatever decodes re-encodes to a cursor with the same meaning.
		t2, id2, err := DecodeCursor(EncodeCursor(ts, id))
		if err != nil || !t2.Equal(ts) || id2 != id {
			t.Fatalf("re-encoding %q changed it: %v %q %v", c, t2, id2, err)
		}
	})
}

func TestPageLimit(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, DefaultLimit}, {-5, DefaultLimit}, {1, 1}, {MaxLimit + 1, MaxLimit}} {
		if got := PageLimit(tt.in); got != tt.want {
			t.Errorf("PageLimit(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestQueryErrorIsInvalid(t *testing.T) {
	cause := errors.New("boom")
	err := error(&QueryError{Field: "f", Op: OpGt, Value: "v", Err: cause})
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, cause) {
		t.Errorf("QueryError does not unwrap to ErrInvalid and its cause: %v", err)
	}
	if got, want := err.Error(), `store: field "f" op > value "v": boom`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
