package auth

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParsePHC: a stored hash is data; any string yields an error or
// parameters within the bounds that keep CheckPassword cheap enough.
func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=1,p=4$c2FsdHNhbHRzYWx0$ZnyJ/gCX6YkZvDMQOzHYu33bewSfXgjatfVKXv5F60s")
	f.Add("$argon2id$v=19$m=8,t=3,p=1$MTIzNDU2Nzg$CKCxVFGdRvAi/RFk9z2VAw")
	f.Add("$argon2i$v=19$m=1,t=1,p=1$$")
	f.Add("$$$$$")
	f.Add("")
	if file, err := os.Open("testdata/argon2id-kat.txt"); err == nil {
		for sc := bufio.NewScanner(file); sc.Scan(); {
			if _, enc, ok := strings.Cut(sc.Text(), "\t"); ok {
				f.Add(enc)
			}
		}
		file.Close()
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v is not ErrMalformedHash", err)
			}
			return
		}
		if p.validate() != nil || len(salt) == 0 || len(key) == 0 {
			t.Fatalf("accepted out-of-bounds %+v", p)
		}
		// What parses re-encodes to itself: one spelling per hash.
		if got := encodePHC(p, salt, key); got != s {
			t.Fatalf("re-encoded %q as %q", s, got)
		}
	})
}

// FuzzParseBearer: any header value yields no token or a valid one.
func FuzzParseBearer(f *testing.F) {
	for _, s := range []string{"Bearer vgl_abc", "bearer  x ", "Basic abc", "Bearer", "Bearer a b", "Bearer \x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := parseBearer(h)
		if ok != (tok != "") {
			t.Fatalf("parseBearer(%q) = %q, %v", h, tok, ok)
		}
		if ok && ValidToken(tok) != nil {
			t.Fatalf("parseBearer(%q) returned invalid token %q", h, tok)
		}
	})
}
