package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultPasswordParams returns time=1, memory=64 MiB, threads=4, 16-byte salt,
// 32-byte key. These are the parameters golang.org/x/crypto/argon2
// recommends for IDKey (from the Argon2 draft RFC), and they exceed OWASP's
// Password Storage Cheat Sheet minimum for argon2id (19 MiB, t=2, p=1, or
// equivalent trade-offs such as 46 MiB with t=1). One check costs about
// 64 MiB and tens of milliseconds: fine for a console login, and the reason
// the login endpoint must be rate-limited.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Time: 1, Memory: 64 * 1024, Threads: 4, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters read back from a stored hash. A hash string is data:
// one planted with m=4 TiB must not take the server down at the next login.
const (
	maxPasswordTime    = 16
	maxPasswordMemory  = 1 << 20 // 1 GiB in KiB
	minPasswordMemory  = 8       // argon2 needs 8*threads KiB; checked below too
	minPasswordSaltLen = 8
	maxPasswordSaltLen = 64
	minPasswordKeyLen  = 16
	maxPasswordKeyLen  = 64
	// maxPasswordLen bounds the input so that a megabyte "password" posted
	// to the login form costs no more to hash than a normal one.
	maxPasswordLen = 1024
)

// Password errors.
var (
	// ErrPasswordMismatch: the password is not the one hashed.
	ErrPasswordMismatch = errors.New("password does not match")
	// ErrMalformedHash: a stored password hash is not a PHC argon2id string
	// this package can check.
	ErrMalformedHash = errors.New("malformed password hash")
	// ErrEmptyPassword: HashPassword was given an empty password.
	ErrEmptyPassword = errors.New("empty password")
	// ErrPasswordTooLong: the password is longer than 1024 bytes.
	ErrPasswordTooLong = errors.New("password too long")
)

// HashPassword hashes password with argon2id and DefaultPasswordParams and
// returns the PHC string form, which records the parameters and salt:
//
//	$argon2id$v=19$m=65536,t=1,p=4$<salt>$<key>
//
// (salt and key in unpadded standard base64), so parameters can be raised
// later without breaking stored hashes; see NeedsRehash.
func HashPassword(password string) (string, error) {
	return HashPasswordParams(password, DefaultPasswordParams())
}

// HashPasswordParams is HashPassword with explicit parameters.
func HashPasswordParams(password string, p PasswordParams) (string, error) {
	if password == "" {
		return "", ErrEmptyPassword
	}
	if len(password) > maxPasswordLen {
		return "", ErrPasswordTooLong
	}
	if err := p.validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

// CheckPassword returns nil when password matches the PHC string encoded,
// ErrPasswordMismatch when it does not, and an error wrapping
// ErrMalformedHash when encoded cannot be checked. The comparison is
// constant-time; the cost is that of the parameters stored in encoded.
func CheckPassword(password, encoded string) error {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		return err
	}
	if len(password) > maxPasswordLen {
		return ErrPasswordMismatch
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// DefaultPasswordParams() (or cannot be parsed), so that the caller can store
// a fresh hash after the next successful login.
func NeedsRehash(encoded string) bool {
	p, salt, _, err := parsePHC(encoded)
	if err != nil {
		return true
	}
	d := DefaultPasswordParams()
	return p.Time != d.Time || p.Memory != d.Memory || p.Threads != d.Threads ||
		p.KeyLen != d.KeyLen || uint32(len(salt)) != d.SaltLen
}

func (p PasswordParams) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxPasswordTime:
		return fmt.Errorf("argon2id time %d out of range 1..%d", p.Time, maxPasswordTime)
	case p.Threads < 1:
		return errors.New("argon2id threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory < minPasswordMemory || p.Memory > maxPasswordMemory:
		return fmt.Errorf("argon2id memory %d KiB out of range %d..%d", p.Memory, 8*uint32(p.Threads), maxPasswordMemory)
	case p.SaltLen < minPasswordSaltLen || p.SaltLen > maxPasswordSaltLen:
		return fmt.Errorf("argon2id salt length %d out of range %d..%d", p.SaltLen, minPasswordSaltLen, maxPasswordSaltLen)
	case p.KeyLen < minPasswordKeyLen || p.KeyLen > maxPasswordKeyLen:
		return fmt.Errorf("argon2id key length %d out of range %d..%d", p.KeyLen, minPasswordKeyLen, maxPasswordKeyLen)
	}
	return nil
}

func encodePHC(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// parsePHC parses "$argon2id$v=19$m=M,t=T,p=P$salt$key". It accepts only
// what encodePHC writes (parameters in that order, no optional fields), and
// bounds every number so a crafted hash cannot make CheckPassword expensive.
func parsePHC(s string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	malformed := func(why string) (PasswordParams, []byte, []byte, error) {
		return PasswordParams{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return malformed("want $argon2id$v=19$m=..,t=..,p=..$salt$key")
	}
	if parts[1] != "argon2id" {
		return malformed(fmt.Sprintf("algorithm %q, want argon2id", parts[1]))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return malformed(fmt.Sprintf("version %q, want v=%d", parts[2], argon2.Version))
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return malformed("want parameters m=..,t=..,p=..")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return malformed(fmt.Sprintf("parameter %d is %q, want %s..", i+1, params[i], name))
		}
		// One spelling per hash: plain digits, no sign, no leading zeros
		// (ParseUint alone would take "+1" and "0001").
		if v == "" || strings.TrimLeft(v, "0123456789") != "" || (len(v) > 1 && v[0] == '0') {
			return malformed(fmt.Sprintf("parameter %q is not a number", params[i]))
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return malformed(fmt.Sprintf("parameter %q: %v", params[i], err))
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return malformed(fmt.Sprintf("threads %d out of range", vals[2]))
	}
	p.Memory, p.Time, p.Threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	// Strict: unused trailing bits must be zero, again so that each hash has
	// one spelling.
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return malformed("salt: " + err.Error())
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return malformed("key: " + err.Error())
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(); err != nil {
		return malformed(err.Error())
	}
	return p, salt, key, nil
}
