package auth

import (
	"errors"
	"fmt"
	"github.com/vigilsoc/vigil/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// AdminTokenFile is the admin token's file name inside the data directory.
const AdminTokenFile = "admin.token"

// AdminTokenEnv names the environment variable that sets the admin token;
// the caller reads it and passes its value to EnsureAdminToken.
const AdminTokenEnv = "VIGIL_ADMIN_TOKEN"

// maxTokenLen bounds a token read from a file, the environment or a header.
const maxTokenLen = 512

// Errors.
var (
	// ErrInsecurePermissions: admin.token is readable or writable by someone
	// other than its owner. The concrete error is *PermissionError.
	ErrInsecurePermissions = errors.New("token file has insecure permissions")
	// ErrInvalidToken: a token is empty, too long, or has characters that
	// cannot travel in an Authorization header (space, control characters,
	// non-ASCII).
	ErrInvalidToken = errors.New("invalid token")
)

// PermissionError reports a token file whose mode is wider than 0600.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("auth: %s has mode %04o; it holds a secret and must be readable by its owner only (fix with: chmod 600 %s)",
		e.Path, uint32(e.Mode), e.Path)
}

// Is makes errors.Is(err, ErrInsecurePermissions) true.
func (e *PermissionError) Is(target error) bool { return target == ErrInsecurePermissions }

// EnsureAdminToken returns the admin API token, in this order of precedence:
//
//  1. env, the value of VIGIL_ADMIN_TOKEN, when not empty: returned as is
//     (surrounding space trimmed) and nothing is written — the operator
//     keeps that secret wherever they keep secrets, and a copy on disk
//     would be one more place to leak it. An existing admin.token is then
//     ignored, not removed.
//  2. DATA/admin.token when it exists: its mode must be 0600 or narrower,
//     else the server refuses to start (the token may already have leaked).
//  3. Otherwise a new token is made and written to DATA/admin.token with
//     mode 0600, atomically (temporary file, then rename), and created is
//     true: the caller prints it once.
//
// The caller keeps only Hash(plaintext) in memory or in its store.
func EnsureAdminToken(dataDir string, env string) (plaintext string, created bool, err error) {
	if env != "" {
		tok := strings.TrimSpace(env)
		if err := ValidToken(tok); err != nil {
			return "", false, fmt.Errorf("auth: %s: %w", AdminTokenEnv, err)
		}
		return tok, false, nil
	}
	path := filepath.Join(dataDir, AdminTokenFile)
	tok, err := readTokenFile(path)
	if err == nil {
		return tok, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("auth: creating data directory: %w", err)
	}
	tok, _ = NewToken(DefaultTokenPrefix)
	if err := atomicfile.Write(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("auth: writing %s: %w", path, err)
	}
	return tok, true, nil
}

func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("auth: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("auth: %s is not a regular file", path)
	}
	// Windows has no Unix mode bits (Go reports 0666 for any writable file);
	// there the directory's ACL protects the file.
	if runtime.GOOS != "windows" {
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			return "", &PermissionError{Path: path, Mode: perm}
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTokenLen+64))
	if err != nil {
		return "", fmt.Errorf("auth: reading %s: %w", path, err)
	}
	tok := strings.TrimSpace(string(data))
	if err := ValidToken(tok); err != nil {
		return "", fmt.Errorf("auth: %s: %w (delete the file to make a new token)", path, err)
	}
	return tok, nil
}

// ValidToken checks that tok can be used as a bearer token: 1 to 512
// visible ASCII characters, so it travels unchanged in an Authorization
// header and cannot smuggle a line break into one.
func ValidToken(tok string) error {
	if tok == "" {
		return fmt.Errorf("%w: empty", ErrInvalidToken)
	}
	if len(tok) > maxTokenLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidToken, len(tok), maxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: byte %#02x at offset %d (only visible ASCII is allowed)", ErrInvalidToken, c, i)
		}
	}
	return nil
}
