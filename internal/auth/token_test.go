package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, hash := NewToken(DefaultTokenPrefix)
		rest, ok := strings.CutPrefix(tok, "vgl_")
		if !ok {
			t.Fatalf("token %q lacks prefix", tok)
		}
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token body %q: %d bytes, %v; want 32 bytes of base64url", rest, len(raw), err)
		}
		if err := ValidToken(tok); err != nil {
			t.Fatalf("NewToken made an invalid token: %v", err)
		}
		if hash != Hash(tok) {
			t.Fatal("NewToken's hash is not Hash(token)")
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
	if tok, _ := NewToken("ingest_"); !strings.HasPrefix(tok, "ingest_") {
		t.Errorf("custom prefix lost: %q", tok)
	}
}

func TestHash(t *testing.T) {
	// Known answer: the hex SHA-256, so stored hashes can be made by hand
	// (echo -n TOKEN | sha256sum) when seeding a store.
	if got, want := Hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("Hash(abc) = %s, want %s", got, want)
	}
	sum := sha256.Sum256([]byte("vgl_x"))
	if Hash("vgl_x") != hex.EncodeToString(sum[:]) {
		t.Error("Hash is not hex SHA-256")
	}
}

func TestCheckToken(t *testing.T) {
	tok, hash := NewToken(DefaultTokenPrefix)
	other, _ := NewToken(DefaultTokenPrefix)
	tests := []struct {
		name  string
		token string
		hash  string
		want  bool
	}{
		{"right token", tok, hash, true},
		{"other token", other, hash, false},
		{"token with a char changed", tok[:len(tok)-1] + flip(tok[len(tok)-1]), hash, false},
		{"empty token", "", hash, false},
		{"plaintext compared to itself", tok, tok, false},
		{"upper-case hash", tok, strings.ToUpper(hash), false},
		{"empty hash", tok, "", false},
		{"truncated hash", tok, hash[:32], false},
	}
	for _, tt := range tests {
		if got := CheckToken(tt.token, tt.hash); got != tt.want {
			t.Errorf("%s: CheckToken = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func TestValidToken(t *testing.T) {
	tests := []struct {
		tok string
		ok  bool
	}{
		{"vgl_abc", true},
		{"a", true},
		{"!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", true},
		{"", false},
		{"a b", false},
		{"a\tb", false},
		{"a\r\nX-Evil: 1", false},
		{"tök", false},
		{"a\x7f", false},
		{strings.Repeat("a", 512), true},
		{strings.Repeat("a", 513), false},
	}
	for _, tt := range tests {
		if err := ValidToken(tt.tok); (err == nil) != tt.ok {
			t.Errorf("ValidToken(%q) = %v, want ok %v", tt.tok, err, tt.ok)
		}
	}
}
