// Package auth provides Vigil's credentials and authorisation data: API
// tokens and their hashes, the admin token made on first start, console
// user passwords (argon2id), roles and the permission table, and reading a
// bearer token from a request. The HTTP middleware that applies them lives
// in the API package.
//
// This package must not depend on any other Vigil package.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// DefaultTokenPrefix starts every token Vigil makes. A fixed prefix makes a
// leaked token recognisable to secret scanners and to people reading logs,
// at no cost to its strength: the 256 random bits follow it.
const DefaultTokenPrefix = "vgl_"

// tokenBytes is the random part of a token: 256 bits.
const tokenBytes = 32

// NewToken returns a new token — prefix followed by 32 random bytes in
// unpadded base64url (43 characters) — and its Hash, which is what is
// stored. The plaintext is shown once and never kept.
func NewToken(prefix string) (plaintext, hash string) {
	var b [tokenBytes]byte
	// crypto/rand.Read never returns an error on supported platforms (it
	// crashes the program rather than return predictable bytes).
	rand.Read(b[:])
	plaintext = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return plaintext, Hash(plaintext)
}

// Hash returns the hex SHA-256 of token, the form a token is stored and
// looked up in. A fast hash is right here, unlike for passwords: a token has
// 256 bits of entropy, so there is no dictionary to try and a slow hash
// would only slow down every API request. (A token a person chose, such as
// VIGIL_ADMIN_TOKEN, is as strong as they made it.)
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CheckToken reports whether token hashes to hash, in constant time with
// respect to the hashes' contents, so response timing does not reveal how
// much of a stored hash a guess matched.
func CheckToken(token, hash string) bool {
	got := Hash(token)
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1
}
