package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

// checkKeyMode refuses a private key file that anyone but its owner may read
// or write: a key another local user can copy lets them impersonate the
// server or mint agent certificates. Windows has no Unix mode bits (Go
// reports 0666 for every writable file), so the check is skipped there and
// left to the directory's ACL.
func checkKeyMode(path string, info fs.FileInfo) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("pki: %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return &PermissionError{Path: path, Mode: perm}
	}
	return nil
}

// readKeyFile reads a PEM private key after checking its mode.
func readKeyFile(path string) (*ecdsa.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode checked is the mode of the
	// bytes read.
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkKeyMode(path, info); err != nil {
		return nil, err
	}
	data, err := readAll(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("pki: reading %s: %w", path, err)
	}
	key, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", path, err)
	}
	return key, nil
}

// maxPEMFile bounds what we read from a key or certificate file: ours are
// well under 2 KiB; anything large is not one of ours.
const maxPEMFile = 64 << 10

func readAll(f *os.File, size int64) ([]byte, error) {
	if size > maxPEMFile {
		return nil, fmt.Errorf("file is %d bytes, larger than any key or certificate Vigil writes", size)
	}
	return io.ReadAll(io.LimitReader(f, maxPEMFile))
}

// parseKeyPEM accepts the PKCS #8 form we write and the SEC 1 ("EC PRIVATE
// KEY") form openssl writes, so an operator may bring their own CA key.
func parseKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformed)
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: key is %T, want an ECDSA key", ErrMalformed, k)
		}
		return ec, nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrMalformed, block.Type)
	}
}

func marshalKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// readCertFile reads the first CERTIFICATE block of a PEM file.
func readCertFile(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("pki: %s is %d bytes, larger than any certificate Vigil writes", path, len(data))
	}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("pki: %s: %w: no CERTIFICATE block", path, ErrMalformed)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("pki: %s: %w: %w", path, ErrMalformed, err)
		}
		return cert, nil
	}
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}
