package auth

import (
	"errors"
	"fmt"
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
	if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
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

// writeFileAtomic writes data to path with exactly mode perm via a synced
// temporary file renamed into place, so a crash never leaves a truncated
// token. (internal/pki has the same helper; two copies of ten lines beat a
// shared "util" package.)
func writeFileAtomic(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes the file 0600, so the secret is never readable by
	// others; Chmod is not reduced by the umask, so the mode is exactly perm.
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename durable; some file systems cannot sync a directory,
	// and the rename has happened anyway, so the error is ignored.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
