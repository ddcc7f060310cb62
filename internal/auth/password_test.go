package auth

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
)

// cheap are parameters that cost almost nothing, for tests about format and
// flow rather than strength.
var cheap = PasswordParams{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashPasswordDefault(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=4$") {
		t.Errorf("hash %q does not record the default parameters", h)
	}
	if err := CheckPassword("correct horse battery staple", h); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := CheckPassword("correct horse battery stapler", h); !errors.Is(err, ErrPasswordMismatch) {
		t.Errorf("wrong password: %v, want ErrPasswordMismatch", err)
	}
	if NeedsRehash(h) {
		t.Error("a default hash needs rehashing")
	}
}

func TestHashPasswordRoundTrip(t *testing.T) {
	tests := []struct {
		name, password, attempt string
		want                    error
	}{
		{"same", "hunter2", "hunter2", nil},
		{"unicode", "pässwörd ✓", "pässwörd ✓", nil},
		{"wrong", "hunter2", "hunter3", ErrPasswordMismatch},
		{"case", "hunter2", "HUNTER2", ErrPasswordMismatch},
		{"prefix", "hunter2", "hunter", ErrPasswordMismatch},
		{"empty attempt", "hunter2", "", ErrPasswordMismatch},
		{"too long attempt", "hunter2", strings.Repeat("a", 2000), ErrPasswordMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashPasswordParams(tt.password, cheap)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckPassword(tt.attempt, h); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("CheckPassword = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHashPasswordSalted(t *testing.T) {
	a, err := HashPasswordParams("same", cheap)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPasswordParams("same", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two hashes of one password are equal: no random salt")
	}
}

func TestHashPasswordRefuses(t *testing.T) {
	if _, err := HashPassword(""); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("empty: %v", err)
	}
	if _, err := HashPassword(strings.Repeat("a", 1025)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("too long: %v", err)
	}
	bad := []PasswordParams{
		{Time: 0, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Time: 1, Memory: 4, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Time: 1, Memory: 16, Threads: 4, SaltLen: 16, KeyLen: 32},
		{Time: 1, Memory: 64, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Time: 1, Memory: 64, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Time: 1, Memory: 2 << 20, Threads: 1, SaltLen: 16, KeyLen: 32},
	}
	for _, p := range bad {
		if _, err := HashPasswordParams("pw", p); err == nil {
			t.Errorf("params %+v accepted", p)
		}
	}
}

// TestCheckPasswordKnownAnswers checks hashes made by the Argon2 reference
// implementation, so ours is argon2id and not merely self-consistent.
func TestCheckPasswordKnownAnswers(t *testing.T) {
	f, err := os.Open("testdata/argon2id-kat.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		password, encoded, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		n++
		if err := CheckPassword(password, encoded); err != nil {
			t.Errorf("%q: %v", password, err)
		}
		if err := CheckPassword(password+"!", encoded); !errors.Is(err, ErrPasswordMismatch) {
			t.Errorf("%q+!: %v, want mismatch", password, err)
		}
	}
	if n == 0 {
		t.Fatal("no known answers read")
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	good, err := HashPasswordParams("pw", cheap)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", argon2id, v=19, params, salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"argon2d", with(1, "argon2d")},
		{"version 16", with(2, "v=16")},
		{"no version", strings.Replace(good, "$v=19", "", 1)},
		{"params reordered", with(3, "t=1,m=64,p=1")},
		{"params missing", with(3, "m=64,t=1")},
		{"params extra", with(3, "m=64,t=1,p=1,keyid=x")},
		{"memory huge", with(3, "m=4294967295,t=1,p=1")},
		{"memory overflow", with(3, "m=99999999999,t=1,p=1")},
		{"memory too small", with(3, "m=7,t=1,p=1")},
		{"time zero", with(3, "m=64,t=0,p=1")},
		{"time huge", with(3, "m=64,t=1000000,p=1")},
		{"threads zero", with(3, "m=64,t=1,p=0")},
		{"threads 256", with(3, "m=64,t=1,p=256")},
		{"signed number", with(3, "m=+64,t=1,p=1")},
		{"negative", with(3, "m=-64,t=1,p=1")},
		{"leading zero", with(3, "m=064,t=1,p=1")},
		{"salt not base64", with(4, "!!!!")},
		{"salt padded", with(4, parts[4]+"==")},
		{"salt short", with(4, "YWJj")},
		{"key not base64", with(5, "****")},
		{"key short", with(5, "YWJjZGVm")},
		{"trailing $", good + "$"},
		{"no leading $", strings.TrimPrefix(good, "$")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPassword("pw", tt.encoded)
			if !errors.Is(err, ErrMalformedHash) {
				t.Errorf("CheckPassword(%q) = %v, want ErrMalformedHash", tt.encoded, err)
			}
			if !NeedsRehash(tt.encoded) {
				t.Error("NeedsRehash = false for a malformed hash")
			}
		})
	}
	if err := CheckPassword("pw", good); err != nil {
		t.Fatalf("the unmodified hash fails: %v", err)
	}
}

func TestNeedsRehash(t *testing.T) {
	h, err := HashPasswordParams("pw", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !NeedsRehash(h) {
		t.Error("a hash with cheap parameters does not need rehashing")
	}
}
