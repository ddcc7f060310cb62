package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock is a settable clock for Config.Now.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func (c *clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC)

// newCA makes a CA in a fresh temp dir with a fake clock at t0.
func newCA(t testing.TB) (*CA, *clock) {
	t.Helper()
	clk := &clock{t: t0}
	ca, err := Open(Config{Dir: t.TempDir(), Now: clk.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return ca, clk
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is cut by the umask
		t.Fatal(err)
	}
}

func pemDER(t *testing.T, b []byte) []byte {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("no PEM block in %q", b)
	}
	return block.Bytes
}

func mustParseCert(t testing.TB, certPEM []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("not a PEM certificate: %q", certPEM)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// agentKey makes an agent key and a CSR for it with a subject and SANs that
// SignCSR must ignore.
func agentKey(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "agent-forge", Organization: []string{"Evil Corp"}},
		DNSNames: []string{"vigil-server.example"},
		URIs:     []*url.URL{{Scheme: "vigil", Opaque: "agent/someone-else"}},
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestOpenCreatesThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vigil-data") // Open must create it
	clk := &clock{t: t0}
	ca, err := Open(Config{Dir: dir, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if got := fileMode(t, filepath.Join(dir, CAKeyFile)); got != 0o600 {
		t.Errorf("ca.key mode = %04o, want 0600", got)
	}
	if got := fileMode(t, filepath.Join(dir, CACertFile)); got != 0o644 {
		t.Errorf("ca.pem mode = %04o, want 0644", got)
	}
	if got := fileMode(t, dir); got != 0o700 {
		t.Errorf("data dir mode = %04o, want 0700", got)
	}

	c := ca.Certificate()
	if c.Subject.CommonName != CACommonName || !c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("CA cert: CN %q IsCA %v", c.Subject.CommonName, c.IsCA)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Error("CA cert lacks KeyUsageCertSign")
	}
	if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("CA key is %T, want ECDSA P-256", c.PublicKey)
	}
	if want := t0.Add(CAValidity); !c.NotAfter.Equal(want.Truncate(time.Second)) {
		t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %v does not look random", c.SerialNumber)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA not self-signed: %v", err)
	}

	fp := ca.Fingerprint()
	sum := sha256.Sum256(pemDER(t, readFile(t, filepath.Join(dir, CACertFile))))
	if fp != hex.EncodeToString(sum[:]) {
		t.Errorf("Fingerprint = %s, want SHA-256 of ca.pem's DER %x", fp, sum)
	}
	if string(ca.CertPEM()) != string(readFile(t, filepath.Join(dir, CACertFile))) {
		t.Error("CertPEM differs from ca.pem")
	}

	keyBefore := readFile(t, filepath.Join(dir, CAKeyFile))
	clk.Advance(400 * 24 * time.Hour)
	again, err := Open(Config{Dir: dir, Now: clk.Now})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if again.Fingerprint() != fp {
		t.Errorf("reopened CA has fingerprint %s, want %s", again.Fingerprint(), fp)
	}
	if string(readFile(t, filepath.Join(dir, CAKeyFile))) != string(keyBefore) {
		t.Error("reopening rewrote ca.key")
	}
	if !again.key.Equal(ca.key) {
		t.Error("reopened CA has a different key")
	}
}

func TestLoadOrCreateCAMatchesOpen(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateCA(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateCA(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("second LoadOrCreateCA made a new CA")
	}
}

// TestOpenLoadsSEC1Key: an operator-supplied key in openssl's "EC PRIVATE
// KEY" form loads like our PKCS #8 one.
func TestOpenLoadsSEC1Key(t *testing.T) {
	ca, _ := newCA(t)
	der, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, ca.path(CAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	again, err := Open(Config{Dir: ca.dir, Now: ca.now})
	if err != nil {
		t.Fatal(err)
	}
	if again.Fingerprint() != ca.Fingerprint() {
		t.Error("fingerprint changed")
	}
}

func TestOpenRefuses(t *testing.T) {
	other, _ := newCA(t)
	otherKey := readFile(t, other.path(CAKeyFile))
	leafKey := newP256(t)
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "not a ca"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "not a ca"}}, &leafKey.PublicKey, leafKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKeyPEM, err := marshalKeyPEM(leafKey)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		now     time.Time
		break_  func(t *testing.T, ca *CA)
		wantErr error
		wantMsg string
	}{
		{"key mode 0644", t0, func(t *testing.T, ca *CA) { os.Chmod(ca.path(CAKeyFile), 0o644) }, ErrInsecurePermissions, "chmod 600"},
		{"key mode 0640", t0, func(t *testing.T, ca *CA) { os.Chmod(ca.path(CAKeyFile), 0o640) }, ErrInsecurePermissions, "0640"},
		{"key mode 0602", t0, func(t *testing.T, ca *CA) { os.Chmod(ca.path(CAKeyFile), 0o602) }, ErrInsecurePermissions, ""},
		{"key from another CA", t0, func(t *testing.T, ca *CA) { writeFile(t, ca.path(CAKeyFile), otherKey, 0o600) }, ErrKeyMismatch, ""},
		{"cert without key", t0, func(t *testing.T, ca *CA) { os.Remove(ca.path(CAKeyFile)) }, ErrIncomplete, "ca.key"},
		{"key without cert", t0, func(t *testing.T, ca *CA) { os.Remove(ca.path(CACertFile)) }, ErrIncomplete, "ca.pem"},
		{"garbage key", t0, func(t *testing.T, ca *CA) { writeFile(t, ca.path(CAKeyFile), []byte("not pem"), 0o600) }, ErrMalformed, ""},
		{"cert PEM in key file", t0, func(t *testing.T, ca *CA) { writeFile(t, ca.path(CAKeyFile), ca.CertPEM(), 0o600) }, ErrMalformed, ""},
		{"garbage cert", t0, func(t *testing.T, ca *CA) {
			writeFile(t, ca.path(CACertFile), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
		}, ErrMalformed, ""},
		{"expired", t0.Add(CAValidity + time.Hour), func(*testing.T, *CA) {}, ErrExpired, ""},
		{"not yet valid", t0.Add(-time.Hour), func(*testing.T, *CA) {}, ErrExpired, ""},
		{"leaf as CA", t0, func(t *testing.T, ca *CA) {
			writeFile(t, ca.path(CACertFile), certPEM(leafDER), 0o644)
			writeFile(t, ca.path(CAKeyFile), leafKeyPEM, 0o600)
		}, ErrNotCA, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, _ := newCA(t)
			tt.break_(t, ca)
			certBefore, _ := os.ReadFile(ca.path(CACertFile))
			keyBefore, _ := os.ReadFile(ca.path(CAKeyFile))
			now := tt.now
			_, err := Open(Config{Dir: ca.dir, Now: func() time.Time { return now }})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open: err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			// Refusing must not repair anything by overwriting it.
			certAfter, _ := os.ReadFile(ca.path(CACertFile))
			keyAfter, _ := os.ReadFile(ca.path(CAKeyFile))
			if string(certAfter) != string(certBefore) || string(keyAfter) != string(keyBefore) {
				t.Error("a refused Open changed the CA files")
			}
		})
	}
}

func TestPermissionErrorType(t *testing.T) {
	ca, _ := newCA(t)
	os.Chmod(ca.path(CAKeyFile), 0o644)
	_, err := Open(Config{Dir: ca.dir})
	var pe *PermissionError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *PermissionError", err, err)
	}
	if pe.Mode != 0o644 || pe.Path != ca.path(CAKeyFile) {
		t.Errorf("PermissionError = %+v", pe)
	}
}

func TestOpenEmptyDir(t *testing.T) {
	if _, err := Open(Config{}); err == nil {
		t.Error("Open with no Dir succeeded")
	}
}

// TestAgentCertificateOutlivingCA: certificates never outlive their CA.
func TestSignCSRCappedByCA(t *testing.T) {
	ca, clk := newCA(t)
	clk.Advance(CAValidity - 24*time.Hour)
	out, err := ca.SignCSR(agentKey(t, newP256(t)), "a1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if c := mustParseCert(t, out); c.NotAfter.After(ca.Certificate().NotAfter) {
		t.Errorf("agent cert NotAfter %v is after CA's %v", c.NotAfter, ca.Certificate().NotAfter)
	}
}

func TestSignCSR(t *testing.T) {
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_ = edPub
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		key      crypto.Signer
		id       string
		validity time.Duration
		want     time.Duration
	}{
		{"p256 default validity", newP256(t), "host-01.corp_a", 0, DefaultAgentValidity},
		{"p384 30 days", p384, "0f8e7a1c-9b2d-4c3e-8f00-123456789abc", 30 * 24 * time.Hour, 30 * 24 * time.Hour},
		{"ed25519", edKey, "A", time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, _ := newCA(t)
			out, err := ca.SignCSR(agentKey(t, tt.key), tt.id, tt.validity)
			if err != nil {
				t.Fatal(err)
			}
			c := mustParseCert(t, out)
			if c.Subject.CommonName != tt.id {
				t.Errorf("CN = %q, want %q (the CSR's subject must be ignored)", c.Subject.CommonName, tt.id)
			}
			if len(c.Subject.Organization) == 1 && c.Subject.Organization[0] == "Evil Corp" {
				t.Error("the CSR's organization leaked into the certificate")
			}
			if len(c.DNSNames) != 0 || len(c.IPAddresses) != 0 || len(c.EmailAddresses) != 0 {
				t.Errorf("unexpected SANs: %v %v %v", c.DNSNames, c.IPAddresses, c.EmailAddresses)
			}
			if len(c.URIs) != 1 || c.URIs[0].String() != "vigil:agent/"+tt.id || c.URIs[0].String() != AgentURI(tt.id) {
				t.Errorf("URIs = %v, want [vigil:agent/%s]", c.URIs, tt.id)
			}
			if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
				t.Errorf("ExtKeyUsage = %v, want [ClientAuth]", c.ExtKeyUsage)
			}
			if c.IsCA {
				t.Error("agent certificate is a CA")
			}
			if got := c.NotAfter.Sub(t0); got != tt.want {
				t.Errorf("validity = %v, want %v", got, tt.want)
			}
			if !publicKeyEqual(c.PublicKey, tt.key.Public()) {
				t.Error("certificate key is not the CSR's key")
			}
			opts := x509.VerifyOptions{Roots: ca.ClientCAs(), CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
			if _, err := c.Verify(opts); err != nil {
				t.Errorf("does not verify as a client cert: %v", err)
			}
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			if _, err := c.Verify(opts); err == nil {
				t.Error("agent certificate verifies for server auth")
			}
			id, err := AgentIDFromCert(c)
			if err != nil || id != tt.id {
				t.Errorf("AgentIDFromCert = %q, %v; want %q", id, err, tt.id)
			}
		})
	}
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func TestSignCSRRefuses(t *testing.T) {
	ca, _ := newCA(t)
	good := agentKey(t, newP256(t))

	// Forge: change one byte of the signed subject. The CSR still parses,
	// but its signature no longer covers what it says.
	forged := append([]byte(nil), good...)
	i := bytes.Index(forged, []byte("agent-forge"))
	if i < 0 {
		t.Fatal("CN not found in CSR DER")
	}
	forged[i] = 'A'

	// Forge differently: flip a bit in the last byte, inside the signature.
	badSig := append([]byte(nil), good...)
	badSig[len(badSig)-1] ^= 0x01

	tests := []struct {
		name     string
		csr      []byte
		id       string
		validity time.Duration
		wantErr  error
	}{
		{"subject altered after signing", forged, "a1", 0, ErrBadCSR},
		{"signature altered", badSig, "a1", 0, ErrBadCSR},
		{"not DER", []byte("hello"), "a1", 0, ErrBadCSR},
		{"empty", nil, "a1", 0, ErrBadCSR},
		{"a certificate, not a CSR", ca.Certificate().Raw, "a1", 0, ErrBadCSR},
		{"empty id", good, "", 0, ErrBadAgentID},
		{"id with slash", good, "a/b", 0, ErrBadAgentID},
		{"id with space", good, "a b", 0, ErrBadAgentID},
		{"id with colon", good, "a:b", 0, ErrBadAgentID},
		{"id dotdot", good, "..", 0, ErrBadAgentID},
		{"id non-ASCII", good, "agént", 0, ErrBadAgentID},
		{"id too long", good, string(make([]byte, MaxAgentIDLen+1)), 0, ErrBadAgentID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ca.SignCSR(tt.csr, tt.id, tt.validity)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SignCSR: %q, %v; want %v", out, err, tt.wantErr)
			}
		})
	}
	if _, err := ca.SignCSR(good, "a1", -time.Hour); err == nil {
		t.Error("negative validity accepted")
	}
}

func TestCheckAgentKey(t *testing.T) {
	// Go no longer signs with small RSA keys, so a CSR carrying one cannot be
	// made here; the key check SignCSR applies is tested directly.
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.PublicKey
		ok   bool
	}{
		{"p256", newP256(t).Public(), true},
		{"ed25519", edPub, true},
		{"rsa 2048", rsaPublicKeyOfBits(2048), true},
		{"rsa 1024", rsaPublicKeyOfBits(1024), false},
		{"p224", p224.Public(), false},
		{"not a key", "not a key", false},
	}
	for _, tt := range tests {
		if err := checkAgentKey(tt.key); (err == nil) != tt.ok {
			t.Errorf("%s: checkAgentKey = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestAgentIDFromCert(t *testing.T) {
	uri := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name    string
		cn      string
		uris    []*url.URL
		want    string
		wantErr bool
	}{
		{"agent", "a1", []*url.URL{uri("vigil:agent/a1")}, "a1", false},
		{"other URIs ignored", "a1", []*url.URL{uri("https://example.com/x"), uri("vigil:agent/a1")}, "a1", false},
		{"no URI", "a1", nil, "", true},
		{"only other URIs", "a1", []*url.URL{uri("spiffe://corp/agent/a1")}, "", true},
		{"two agent URIs", "a1", []*url.URL{uri("vigil:agent/a1"), uri("vigil:agent/a2")}, "", true},
		{"vigil but not agent", "a1", []*url.URL{uri("vigil:server/a1")}, "", true},
		{"CN disagrees", "a2", []*url.URL{uri("vigil:agent/a1")}, "", true},
		{"bad id", "a b", []*url.URL{uri("vigil:agent/a%20b")}, "", true},
		{"empty id", "", []*url.URL{uri("vigil:agent/")}, "", true},
	}
	key := newP256(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: tt.cn},
				NotBefore: t0, NotAfter: t0.Add(time.Hour), URIs: tt.uris,
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AgentIDFromCert(c)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("AgentIDFromCert = %q, %v; want %q, err %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrNotAgentCert) {
				t.Errorf("error %v is not ErrNotAgentCert", err)
			}
		})
	}
	if _, err := AgentIDFromCert(nil); !errors.Is(err, ErrNotAgentCert) {
		t.Errorf("AgentIDFromCert(nil) = %v", err)
	}
}

func TestServerTLSConfig(t *testing.T) {
	ca, _ := newCA(t)
	cert, err := ca.ServerCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ServerTLSConfig(tls.Certificate{}, ca, false).Certificates; len(got) != 0 {
		t.Errorf("zero cert gave Certificates %v, want none", got)
	}
	tests := []struct {
		name    string
		ca      *CA
		require bool
		want    tls.ClientAuthType
		pool    bool
	}{
		{"no CA", nil, false, tls.NoClientCert, false},
		{"optional", ca, false, tls.VerifyClientCertIfGiven, true},
		{"required", ca, true, tls.RequireAndVerifyClientCert, true},
		{"required without CA refuses all", nil, true, tls.RequireAndVerifyClientCert, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ServerTLSConfig(cert, tt.ca, tt.require)
			if len(cfg.Certificates) != 1 || cfg.Certificates[0].Leaf != cert.Leaf {
				t.Error("Certificates is not [cert]")
			}
			if cfg.ClientAuth != tt.want {
				t.Errorf("ClientAuth = %v, want %v", cfg.ClientAuth, tt.want)
			}
			if (cfg.ClientCAs != nil) != tt.pool {
				t.Errorf("ClientCAs set = %v, want %v", cfg.ClientCAs != nil, tt.pool)
			}
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x", cfg.MinVersion)
			}
			for _, s := range cfg.CipherSuites {
				for _, insecure := range tls.InsecureCipherSuites() {
					if s == insecure.ID {
						t.Errorf("insecure suite %s enabled", insecure.Name)
					}
				}
			}
		})
	}
}

func TestClientCAsIsACopy(t *testing.T) {
	ca, _ := newCA(t)
	p := ca.ClientCAs()
	p.AddCert(&x509.Certificate{Raw: []byte{1}, RawSubject: []byte{2}})
	if ca.ClientCAs().Equal(p) {
		t.Error("ClientCAs returns a shared pool")
	}
}

func TestPinnedClientTLSConfigRejectsBadPin(t *testing.T) {
	for _, pin := range []string{"", "abc", "zz" + string(make([]byte, 62))} {
		if _, err := PinnedClientTLSConfig(pin, "localhost"); err == nil {
			t.Errorf("pin %q accepted", pin)
		}
	}
	ca, _ := newCA(t)
	fp := ca.Fingerprint()
	var colons []byte
	for i := 0; i < len(fp); i += 2 {
		if i > 0 {
			colons = append(colons, ':')
		}
		colons = append(colons, fp[i:i+2]...)
	}
	if _, err := PinnedClientTLSConfig(string(colons), "localhost"); err != nil {
		t.Errorf("colon-separated fingerprint refused: %v", err)
	}
}

// TestSignCSRFromOpenSSL: CSRs made by openssl (testdata/csr, made with
// `openssl req -new -newkey ec|ed25519 ... -outform DER`) are accepted, so an
// agent need not be built with Go to enrol.
func TestSignCSRFromOpenSSL(t *testing.T) {
	files, err := filepath.Glob("testdata/csr/*.der")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	ca, _ := newCA(t)
	for _, f := range files {
		out, err := ca.SignCSR(readFile(t, f), "ossl-1", 0)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if id, err := AgentIDFromCert(mustParseCert(t, out)); err != nil || id != "ossl-1" {
			t.Errorf("%s: AgentIDFromCert = %q, %v", f, id, err)
		}
	}
}
