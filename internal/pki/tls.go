package pki

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ServerTLSConfig returns the server's TLS configuration: cert as its
// certificate (none when cert is the zero value), TLS 1.2 at least (1.3 is negotiated whenever the client has
// it, which Go clients always do), and for TLS 1.2 only forward-secret AEAD
// suites.
//
// Client certificates are verified against ca. With requireClientCert the
// handshake fails without one (the agent listener); without it a client may
// present none (browsers and API tokens on the same port) but one that is
// presented must chain to ca, so a handler that sees r.TLS.PeerCertificates
// can trust them. ca may be nil only when requireClientCert is false: then
// client certificates are not requested at all.
//
// Curve preferences are left to Go's defaults on purpose: they include the
// hybrid post-quantum key exchange, which an explicit list would drop.
// NextProtos is left to net/http, which adds h2 and http/1.1 itself.
func ServerTLSConfig(cert tls.Certificate, ca *CA, requireClientCert bool) *tls.Config {
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// TLS 1.3 suites are not configurable and all good; these apply to
		// 1.2. ECDSA first because our server key is ECDSA; the RSA ones serve
		// an operator-supplied RSA certificate.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		ClientAuth: tls.NoClientCert,
	}
	// An empty cert leaves Certificates empty, for a caller that sets
	// GetCertificate (see CA.ServerCertificateFunc).
	if len(cert.Certificate) > 0 {
		cfg.Certificates = []tls.Certificate{cert}
	}
	if ca != nil {
		cfg.ClientCAs = ca.ClientCAs()
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if requireClientCert {
		// With a nil ca every client is refused, which is the safe failure.
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg
}

// ClientTLSConfig returns an agent's TLS configuration: trust only roots
// (the CA from ca.pem, not the system roots — the server's certificate is
// ours), present cert when it has one, TLS 1.2 at least. serverName is the
// name the agent dialled, checked against the server certificate.
func ClientTLSConfig(roots *x509.CertPool, cert *tls.Certificate, serverName string) *tls.Config {
	cfg := &tls.Config{
		RootCAs:    roots,
		ServerName: serverName,
		MinVersion: tls.VersionTLS12,
	}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return cfg
}

// PinnedClientTLSConfig is for an agent's first contact, before it has
// ca.pem: it trusts the server when the chain the server sends contains a
// CA certificate whose SHA-256 (as Fingerprint prints it) is caSHA256 and
// the leaf verifies against that CA for serverName. The operator copies the
// fingerprint from the server, so no certificate file needs to travel.
func PinnedClientTLSConfig(caSHA256, serverName string) (*tls.Config, error) {
	pin, err := hex.DecodeString(strings.TrimSpace(strings.ReplaceAll(caSHA256, ":", "")))
	if err != nil || len(pin) != sha256.Size {
		return nil, fmt.Errorf("pki: CA fingerprint %q is not 64 hex digits", caSHA256)
	}
	return &tls.Config{
		ServerName: serverName,
		MinVersion: tls.VersionTLS12,
		// The default verification needs roots we do not have yet;
		// VerifyConnection below does the whole check instead, against the
		// pinned CA. It runs on every handshake, resumed ones included.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPinned(cs, pin, serverName)
		},
	}, nil
}

// ErrPinMismatch: no certificate the server sent has the pinned fingerprint.
var ErrPinMismatch = errors.New("server's CA does not match the pinned fingerprint")

func verifyPinned(cs tls.ConnectionState, pin []byte, serverName string) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("pki: %w: server sent no certificate", ErrPinMismatch)
	}
	var root *x509.Certificate
	for _, c := range cs.PeerCertificates[1:] {
		sum := sha256.Sum256(c.Raw)
		if subtle.ConstantTimeCompare(sum[:], pin) == 1 {
			root = c
			break
		}
	}
	if root == nil {
		return fmt.Errorf("pki: %w", ErrPinMismatch)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:     roots,
		DNSName:   serverName,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return fmt.Errorf("pki: server certificate does not verify against the pinned CA: %w", err)
	}
	return nil
}
