// Package pki is Vigil's certificate authority: the self-signed CA a server
// makes on first start, the server's TLS certificate, and the per-agent
// client certificates an enrolment buys.
//
// The server is the CA for its own agents and nothing else, so the design is
// deliberately small: one ECDSA P-256 CA key kept beside the data it guards
// (DATA/ca.key, mode 0600), no intermediates, no revocation lists (an agent
// is revoked by the server refusing its id, which the caller checks after
// AgentIDFromCert). Only the standard library's crypto is used.
//
// This package must not depend on any other Vigil package.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/vigilsoc/vigil/internal/atomicfile"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// File names inside the data directory.
const (
	CACertFile     = "ca.pem"
	CAKeyFile      = "ca.key"
	ServerCertFile = "server.pem"
	ServerKeyFile  = "server.key"
)

// Lifetimes.
const (
	// CAValidity is how long a new CA is valid. Agents pin the CA, so
	// replacing it means re-enrolling the fleet: make it last.
	CAValidity = 10 * 365 * 24 * time.Hour
	// ServerValidity is how long a server certificate is valid.
	ServerValidity = 365 * 24 * time.Hour
	// RenewBefore is how close to expiry a stored server certificate is
	// replaced rather than reused.
	RenewBefore = 30 * 24 * time.Hour
	// DefaultAgentValidity is used by SignCSR when validity is zero.
	DefaultAgentValidity = 365 * 24 * time.Hour
	// backdate is subtracted from NotBefore so that a peer whose clock is a
	// few minutes behind ours does not reject a certificate made just now.
	backdate = 5 * time.Minute
)

// CACommonName is the subject common name of a CA made by Vigil.
const CACommonName = "Vigil CA"

// Errors.
var (
	// ErrInsecurePermissions: a private key file is readable or writable by
	// someone other than its owner. The concrete error is *PermissionError.
	ErrInsecurePermissions = errors.New("private key file has insecure permissions")
	// ErrKeyMismatch: a certificate and the key stored beside it do not
	// belong together.
	ErrKeyMismatch = errors.New("certificate does not match its private key")
	// ErrIncomplete: one of ca.pem and ca.key exists without the other.
	ErrIncomplete = errors.New("CA files incomplete")
	// ErrMalformed: a PEM file, key, certificate or CSR could not be parsed.
	ErrMalformed = errors.New("malformed")
	// ErrNotCA: the stored CA certificate is not a CA certificate.
	ErrNotCA = errors.New("certificate is not a CA")
	// ErrExpired: the stored CA certificate is outside its validity period.
	ErrExpired = errors.New("CA certificate expired or not yet valid")
	// ErrBadCSR: a CSR's signature does not verify or its key is unsuitable.
	ErrBadCSR = errors.New("bad certificate signing request")
	// ErrBadAgentID: an agent id is empty, too long or has characters
	// outside [A-Za-z0-9._-].
	ErrBadAgentID = errors.New("bad agent id")
	// ErrNotAgentCert: a certificate carries no (or more than one) Vigil
	// agent identity.
	ErrNotAgentCert = errors.New("not a Vigil agent certificate")
)

// PermissionError reports a private key file whose mode is wider than 0600.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("pki: %s has mode %04o; a private key must be readable by its owner only (fix with: chmod 600 %s)",
		e.Path, uint32(e.Mode), e.Path)
}

// Is makes errors.Is(err, ErrInsecurePermissions) true.
func (e *PermissionError) Is(target error) bool { return target == ErrInsecurePermissions }

// Config configures Open.
type Config struct {
	// Dir is the data directory holding ca.pem, ca.key, server.pem and
	// server.key. It is created (mode 0700) when missing.
	Dir string
	// Logger receives one line when a CA or server certificate is made.
	// Nil means nothing is logged.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests inject one to check
	// renewal without waiting a year.
	Now func() time.Time
}

// CA is a loaded certificate authority. It is safe for concurrent use.
type CA struct {
	dir    string
	logger *slog.Logger
	now    func() time.Time

	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey

	// serverMu serialises ServerCertificate so two callers do not both
	// write server.pem.
	serverMu sync.Mutex
}

// LoadOrCreateCA opens the CA in dir, making it on first start. It is
// Open(Config{Dir: dir, Logger: logger}).
func LoadOrCreateCA(dir string, logger *slog.Logger) (*CA, error) {
	return Open(Config{Dir: dir, Logger: logger})
}

// Open loads the CA from cfg.Dir, or makes a new one when neither ca.pem nor
// ca.key exists. It refuses to start — rather than silently making a new CA,
// which would orphan every enrolled agent — when only one of the two files
// exists, when the key's mode is wider than 0600, when the key does not
// match the certificate, or when the certificate is not a valid CA now.
func Open(cfg Config) (*CA, error) {
	if cfg.Dir == "" {
		return nil, errors.New("pki: Config.Dir is empty")
	}
	ca := &CA{dir: cfg.Dir, logger: cfg.Logger, now: cfg.Now}
	if ca.logger == nil {
		ca.logger = slog.New(slog.DiscardHandler)
	}
	if ca.now == nil {
		ca.now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: creating data directory: %w", err)
	}
	certPath, keyPath := ca.path(CACertFile), ca.path(CAKeyFile)
	haveCert, err := exists(certPath)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	haveKey, err := exists(keyPath)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	switch {
	case haveCert && haveKey:
		if err := ca.load(certPath, keyPath); err != nil {
			return nil, err
		}
	case !haveCert && !haveKey:
		if err := ca.create(certPath, keyPath); err != nil {
			return nil, err
		}
	case haveCert:
		return nil, fmt.Errorf("pki: %w: %s exists but %s does not; restore the key from backup, or remove %s to make a new CA (every agent must then re-enrol)",
			ErrIncomplete, certPath, keyPath, certPath)
	default:
		return nil, fmt.Errorf("pki: %w: %s exists but %s does not; restore the certificate from backup, or remove %s to make a new CA (every agent must then re-enrol)",
			ErrIncomplete, keyPath, certPath, keyPath)
	}
	return ca, nil
}

func (ca *CA) path(name string) string { return filepath.Join(ca.dir, name) }

func (ca *CA) load(certPath, keyPath string) error {
	key, err := readKeyFile(keyPath)
	if err != nil {
		return err
	}
	cert, err := readCertFile(certPath)
	if err != nil {
		return err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return fmt.Errorf("pki: %w: %s and %s are not a pair; restore the matching files from backup", ErrKeyMismatch, certPath, keyPath)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("pki: %s: %w", certPath, ErrNotCA)
	}
	now := ca.now()
	if !certificateWindow(cert, now) {
		return fmt.Errorf("pki: %s: %w (valid %s to %s, now %s)", certPath, ErrExpired,
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if left := cert.NotAfter.Sub(now); left < 90*24*time.Hour {
		ca.logger.Warn("CA certificate expires soon; agents must be re-enrolled under a new CA before then",
			"path", certPath, "not_after", cert.NotAfter)
	}
	ca.cert, ca.certPEM, ca.key = cert, certPEM(cert.Raw), key
	return nil
}

func (ca *CA) create(certPath, keyPath string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("pki: generating CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return err
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CACommonName, Organization: []string{"Vigil"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// No intermediates: the CA signs leaves only.
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("pki: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("pki: parsing new CA certificate: %w", err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return fmt.Errorf("pki: encoding CA key: %w", err)
	}
	// Key first: a crash between the two renames leaves ca.key without
	// ca.pem, which Open reports rather than overwriting.
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return fmt.Errorf("pki: writing CA key: %w", err)
	}
	pemBytes := certPEM(der)
	if err := atomicfile.Write(certPath, pemBytes, 0o644); err != nil {
		return fmt.Errorf("pki: writing CA certificate: %w", err)
	}
	ca.cert, ca.certPEM, ca.key = cert, pemBytes, key
	ca.logger.Info("created certificate authority", "cert", certPath, "sha256", ca.Fingerprint())
	return nil
}

// randomSerial returns a random positive 128-bit serial number; RFC 5280
// allows up to 20 octets, and randomness makes serials unguessable.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("pki: generating serial number: %w", err)
	}
	// Zero is not a valid serial; the odds are 2^-128 but the fix is free.
	return n.Add(n, big.NewInt(1)), nil
}

// Certificate returns the CA certificate. Callers must not modify it.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertPEM returns the CA certificate as PEM, as written to ca.pem: what the
// enrolment endpoint hands an agent to pin.
func (ca *CA) CertPEM() []byte { return append([]byte(nil), ca.certPEM...) }

// Fingerprint returns the SHA-256 of the CA certificate's DER as lowercase
// hex (64 characters): the value `--ca-sha256` pins.
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.cert.Raw)
	return hex.EncodeToString(sum[:])
}

// ClientCAs returns a new pool holding only the CA certificate, for
// tls.Config.ClientCAs on the server and RootCAs on an agent. A fresh pool
// each call, because a CertPool is mutable and this one must not be shared.
func (ca *CA) ClientCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}
