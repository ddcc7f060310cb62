package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"github.com/vigilsoc/vigil/internal/atomicfile"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// ServerCertificate returns a TLS certificate for the server, signed by the
// CA, valid for hosts plus localhost, 127.0.0.1, ::1 and the machine's
// hostname. Entries of hosts may be names, IP addresses or host:port listen
// addresses; unspecified addresses (0.0.0.0, ::) and empty entries are
// skipped, since no client connects to them by that name.
//
// The certificate is stored as server.pem/server.key and reused while it
// chains to this CA, matches its key, covers every host, and is more than
// RenewBefore from expiry; otherwise a new one (valid ServerValidity) replaces
// it. A server.key with a mode wider than 0600 is refused, as for ca.key.
//
// The chain returned holds the leaf and the CA certificate, so a client that
// pins the CA by fingerprint (`--ca-sha256`) can find and check it in the
// handshake before it has the CA file.
func (ca *CA) ServerCertificate(hosts []string) (tls.Certificate, error) {
	names, ips := serverNames(hosts)
	ca.serverMu.Lock()
	defer ca.serverMu.Unlock()

	certPath, keyPath := ca.path(ServerCertFile), ca.path(ServerKeyFile)
	if tc, ok, err := ca.loadServer(certPath, keyPath, names, ips); err != nil {
		return tls.Certificate{}, err
	} else if ok {
		return tc, nil
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: generating server key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	now := ca.now()
	cn := "localhost"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Vigil"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(ServerValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: creating server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: parsing new server certificate: %w", err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: encoding server key: %w", err)
	}
	// Key first, then certificate: a crash between leaves a pair that does
	// not match, which loadServer treats as "make a new one".
	if err := atomicfile.Write(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: writing server key: %w", err)
	}
	if err := atomicfile.Write(certPath, certPEM(der), 0o644); err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: writing server certificate: %w", err)
	}
	ca.logger.Info("issued server certificate", "path", certPath, "dns", names, "ips", ips, "not_after", leaf.NotAfter)
	return ca.tlsCertificate(leaf, key), nil
}

// loadServer returns the stored server certificate when it can be reused.
// Missing, unparsable, mismatched, foreign, expiring or too-narrow
// certificates are not errors — they are replaced — but a key file with a
// wide mode is: it may already have leaked, and the operator should know.
func (ca *CA) loadServer(certPath, keyPath string, names []string, ips []net.IP) (tls.Certificate, bool, error) {
	key, err := readKeyFile(keyPath)
	if err != nil {
		if errors.Is(err, ErrInsecurePermissions) {
			return tls.Certificate{}, false, err
		}
		if !errors.Is(err, fs.ErrNotExist) {
			ca.logger.Warn("replacing unreadable server key", "path", keyPath, "err", err)
		}
		return tls.Certificate{}, false, nil
	}
	leaf, err := readCertFile(certPath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			ca.logger.Warn("replacing unreadable server certificate", "path", certPath, "err", err)
		}
		return tls.Certificate{}, false, nil
	}
	if reason := ca.serverReuseProblem(leaf, key, names, ips); reason != "" {
		ca.logger.Info("renewing server certificate", "path", certPath, "reason", reason)
		return tls.Certificate{}, false, nil
	}
	return ca.tlsCertificate(leaf, key), true, nil
}

// serverReuseProblem says why a stored server certificate cannot be reused,
// or "" when it can.
func (ca *CA) serverReuseProblem(leaf *x509.Certificate, key *ecdsa.PrivateKey, names []string, ips []net.IP) string {
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return "key does not match certificate"
	}
	if err := leaf.CheckSignatureFrom(ca.cert); err != nil {
		return "not signed by this CA"
	}
	now := ca.now()
	if now.Before(leaf.NotBefore) {
		return "not yet valid"
	}
	if !now.Add(RenewBefore).Before(leaf.NotAfter) {
		return "expires within 30 days"
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		return "not a server certificate"
	}
	for _, n := range names {
		if !slices.Contains(leaf.DNSNames, n) {
			return "does not cover " + n
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return "does not cover " + ip.String()
		}
	}
	return ""
}

func (ca *CA) tlsCertificate(leaf *x509.Certificate, key *ecdsa.PrivateKey) tls.Certificate {
	return tls.Certificate{
		Certificate: [][]byte{leaf.Raw, ca.cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}
}

// serverNames turns listen names into the DNS names and IPs of a server
// certificate: the given ones first (the first name becomes the subject CN),
// then localhost, 127.0.0.1, ::1 and the hostname, without duplicates.
func serverNames(hosts []string) ([]string, []net.IP) {
	all := slices.Clone(hosts)
	all = append(all, "localhost", "127.0.0.1", "::1")
	if h, err := os.Hostname(); err == nil {
		all = append(all, h)
	}
	var names []string
	var addrs []netip.Addr
	for _, h := range all {
		h = strings.TrimSpace(h)
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if h == "" {
			continue
		}
		if a, err := netip.ParseAddr(h); err == nil {
			// Zones (fe80::1%eth0) cannot go in a certificate.
			a = a.WithZone("").Unmap()
			if a.IsUnspecified() || slices.Contains(addrs, a) {
				continue
			}
			addrs = append(addrs, a)
			continue
		}
		// DNS names compare case-insensitively; store them lower-cased and
		// without the root dot so reuse checks compare like with like.
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if h == "" || slices.Contains(names, h) {
			continue
		}
		names = append(names, h)
	}
	ips := make([]net.IP, len(addrs))
	for i, a := range addrs {
		ips[i] = net.IP(a.AsSlice())
	}
	return names, ips
}

// certificateWindow reports whether t lies inside cert's validity period.
func certificateWindow(cert *x509.Certificate, t time.Time) bool {
	return !t.Before(cert.NotBefore) && !t.After(cert.NotAfter)
}

// ServerCertificateFunc is ServerCertificate for a long-running server: it
// issues or loads the certificate now (so a problem stops the start) and
// returns a tls.Config.GetCertificate function that serves it and renews it
// through ServerCertificate once it is within RenewBefore of expiry, so a
// server that runs for a year without restarting keeps a valid certificate.
// If renewal fails, the current certificate is served while it is still
// valid and the failure is logged.
//
// Go calls GetCertificate only when tls.Config.Certificates is empty (or the
// client sent SNI), so use it as:
//
//	cfg := pki.ServerTLSConfig(tls.Certificate{}, ca, false) // no Certificates
//	cfg.GetCertificate = getCert
func (ca *CA) ServerCertificateFunc(hosts []string) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	first, err := ca.ServerCertificate(hosts)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	current := &first
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		mu.Lock()
		defer mu.Unlock()
		now := ca.now()
		if now.Add(RenewBefore).Before(current.Leaf.NotAfter) {
			return current, nil
		}
		next, err := ca.ServerCertificate(hosts)
		if err != nil {
			ca.logger.Error("renewing server certificate failed", "err", err, "not_after", current.Leaf.NotAfter)
			if now.Before(current.Leaf.NotAfter) {
				return current, nil
			}
			return nil, err
		}
		current = &next
		return current, nil
	}, nil
}
