package pki

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// AgentURIScheme and agentURIPrefix form the URI SAN that names an agent in
// its certificate: vigil:agent/<id>. A URI SAN rather than the CN alone,
// because SANs are the identity field TLS libraries expect to be checked, and
// the scheme keeps it from ever being mistaken for a host name.
const (
	AgentURIScheme = "vigil"
	agentURIPrefix = "agent/"
)

// MaxAgentIDLen bounds an agent id: it goes in a CN (64 characters at most
// by RFC 5280's upper bound) and in log lines.
const MaxAgentIDLen = 64

// AgentURI returns the URI SAN for agentID, vigil:agent/<id>.
func AgentURI(agentID string) string {
	return AgentURIScheme + ":" + agentURIPrefix + agentID
}

// ValidAgentID reports whether id can name an agent: 1 to MaxAgentIDLen
// characters from [A-Za-z0-9._-]. The narrow alphabet keeps the id safe in
// a URI, a file name and a log line without escaping.
func ValidAgentID(id string) error {
	if id == "" || len(id) > MaxAgentIDLen {
		return fmt.Errorf("%w: length %d, want 1 to %d", ErrBadAgentID, len(id), MaxAgentIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: character %q at offset %d (allowed: A-Z a-z 0-9 . _ -)", ErrBadAgentID, c, i)
		}
	}
	if id == "." || id == ".." {
		return fmt.Errorf("%w: %q", ErrBadAgentID, id)
	}
	return nil
}

// SignCSR issues an agent's client certificate from a DER-encoded PKCS #10
// request. The request's signature must verify (it proves the agent holds
// the private key); everything else in it — subject, SANs, extensions — is
// ignored, because the server, not the agent, decides who the agent is: the
// certificate's CN is agentID and its only SAN is the URI vigil:agent/<id>.
// It is good for client authentication only (a stolen agent certificate
// cannot serve TLS as the server). validity zero means DefaultAgentValidity;
// the certificate never outlives the CA. The result is PEM.
func (ca *CA) SignCSR(csrDER []byte, agentID string, validity time.Duration) ([]byte, error) {
	if err := ValidAgentID(agentID); err != nil {
		return nil, err
	}
	if validity < 0 {
		return nil, fmt.Errorf("pki: negative validity %s", validity)
	}
	if validity == 0 {
		validity = DefaultAgentValidity
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("pki: %w: %w", ErrBadCSR, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("pki: %w: signature does not verify: %w", ErrBadCSR, err)
	}
	if err := checkAgentKey(csr.PublicKey); err != nil {
		return nil, fmt.Errorf("pki: %w: %w", ErrBadCSR, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := ca.now()
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: agentID, Organization: []string{"Vigil agents"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{{Scheme: AgentURIScheme, Opaque: agentURIPrefix + agentID}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: signing agent certificate: %w", err)
	}
	ca.logger.Info("issued agent certificate", "agent", agentID, "serial", serial.Text(16), "not_after", notAfter)
	return certPEM(der), nil
}

// checkAgentKey admits the key types and sizes a modern TLS stack handles
// and rejects weak ones.
func checkAgentKey(pub any) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits, want at least 2048", k.N.BitLen())
		}
		return nil
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
}

// AgentIDFromCert returns the agent id a certificate issued by SignCSR
// carries. It checks the identity fields only — exactly one vigil:agent/<id>
// URI SAN, a valid id, a CN that agrees — and not the chain: call it on a
// peer certificate the TLS handshake has already verified against
// ClientCAs (r.TLS.PeerCertificates[0] behind ServerTLSConfig), and then
// check the id against the enrolled agents, which is how revocation works.
func AgentIDFromCert(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", fmt.Errorf("pki: %w: no certificate", ErrNotAgentCert)
	}
	var id string
	found := 0
	for _, u := range cert.URIs {
		if u == nil || !strings.EqualFold(u.Scheme, AgentURIScheme) {
			continue
		}
		found++
		rest, ok := strings.CutPrefix(u.Opaque, agentURIPrefix)
		if !ok {
			return "", fmt.Errorf("pki: %w: URI %q is not vigil:agent/<id>", ErrNotAgentCert, u.String())
		}
		id = rest
	}
	switch found {
	case 0:
		return "", fmt.Errorf("pki: %w: no vigil:agent URI", ErrNotAgentCert)
	case 1:
	default:
		return "", fmt.Errorf("pki: %w: %d vigil URIs, want one", ErrNotAgentCert, found)
	}
	if err := ValidAgentID(id); err != nil {
		return "", fmt.Errorf("pki: %w: %w", ErrNotAgentCert, err)
	}
	if cert.Subject.CommonName != id {
		return "", fmt.Errorf("pki: %w: CN %q disagrees with URI id %q", ErrNotAgentCert, cert.Subject.CommonName, id)
	}
	return id, nil
}
