package pki

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startServer runs an HTTPS server on 127.0.0.1:0 with ServerTLSConfig. Its
// handler answers with the agent id of the verified peer certificate, or
// "anonymous". The counter says how many requests reached the handler.
func startServer(t *testing.T, ca *CA, requireClientCert bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	cert, err := ca.ServerCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if len(r.TLS.PeerCertificates) == 0 {
			io.WriteString(w, "anonymous")
			return
		}
		id, err := AgentIDFromCert(r.TLS.PeerCertificates[0])
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		io.WriteString(w, "agent "+id)
	}))
	srv.TLS = ServerTLSConfig(cert, ca, requireClientCert)
	// Refused handshakes are the point of several tests; keep them out of
	// the test output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &hits
}

// get fetches url with cfg and returns the body and the negotiated version.
func get(t *testing.T, cfg *tls.Config, u string) (string, uint16, error) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(u)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, errors.New(resp.Status + ": " + string(b))
	}
	return string(b), resp.TLS.Version, nil
}

// withHost rewrites the server URL's host, keeping its port, so the same
// listener is reached by name, IPv4 literal and so on.
func withHost(t *testing.T, raw, host string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host + ":" + u.Port()
	return u.String()
}

// agentCert enrols an agent: a key, a CSR, SignCSR, and the pair as a
// tls.Certificate.
func agentCert(t *testing.T, ca *CA, id string) tls.Certificate {
	t.Helper()
	key := newP256(t)
	certPEM, err := ca.SignCSR(agentKey(t, key), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tc
}

// selfSignedAgentCert looks exactly like an agent certificate but is signed
// by its own key, not the CA.
func selfSignedAgentCert(t *testing.T, id string) tls.Certificate {
	t.Helper()
	key := newP256(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: id},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs: []*url.URL{{Scheme: AgentURIScheme, Opaque: "agent/" + id}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// realCA is a CA on the real clock: TLS handshakes check validity against
// time.Now, not our fake clock.
func realCA(t *testing.T) *CA {
	t.Helper()
	ca, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func TestHandshakeServerVerified(t *testing.T) {
	ca := realCA(t)
	srv, _ := startServer(t, ca, false)
	tests := []struct {
		name    string
		host    string
		cfg     *tls.Config
		wantErr bool
	}{
		{"localhost with CA pool", "localhost", ClientTLSConfig(ca.ClientCAs(), nil, ""), false},
		{"127.0.0.1 with CA pool", "127.0.0.1", ClientTLSConfig(ca.ClientCAs(), nil, ""), false},
		{"system roots only", "127.0.0.1", &tls.Config{}, true},
		{"another CA's pool", "127.0.0.1", ClientTLSConfig(realCA(t).ClientCAs(), nil, ""), true},
		{"wrong server name", "127.0.0.1", ClientTLSConfig(ca.ClientCAs(), nil, "evil.example.com"), true},
		{"TLS 1.1 client", "127.0.0.1", &tls.Config{RootCAs: ca.ClientCAs(), MaxVersion: tls.VersionTLS11}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, version, err := get(t, tt.cfg, withHost(t, srv.URL, tt.host))
			if (err != nil) != tt.wantErr {
				t.Fatalf("GET: %q, %v; want error %v", body, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if body != "anonymous" {
				t.Errorf("body = %q", body)
			}
			if version != tls.VersionTLS13 {
				t.Errorf("negotiated %s, want TLS 1.3", tls.VersionName(version))
			}
		})
	}
}

func TestHandshakeTLS12(t *testing.T) {
	ca := realCA(t)
	srv, _ := startServer(t, ca, false)
	cfg := ClientTLSConfig(ca.ClientCAs(), nil, "")
	cfg.MaxVersion = tls.VersionTLS12
	if _, version, err := get(t, cfg, srv.URL); err != nil || version != tls.VersionTLS12 {
		t.Fatalf("TLS 1.2 client: version %x, %v", version, err)
	}
	// A TLS 1.2 client offering only CBC suites is refused.
	cfg.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
	if _, _, err := get(t, cfg, srv.URL); err == nil {
		t.Fatal("CBC-only TLS 1.2 client accepted")
	}
}

func TestMutualTLS(t *testing.T) {
	ca := realCA(t)
	good := agentCert(t, ca, "agent-7")
	forged := selfSignedAgentCert(t, "agent-7")
	otherCA := agentCert(t, realCA(t), "agent-7")
	tests := []struct {
		name     string
		require  bool
		cert     *tls.Certificate
		wantBody string // "" means the request must fail before the handler
	}{
		{"required, CA-signed", true, &good, "agent agent-7"},
		{"required, none", true, nil, ""},
		{"required, self-signed", true, &forged, ""},
		{"required, another CA", true, &otherCA, ""},
		{"optional, CA-signed", false, &good, "agent agent-7"},
		{"optional, none", false, nil, "anonymous"},
		{"optional, self-signed", false, &forged, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := startServer(t, ca, tt.require)
			cfg := ClientTLSConfig(ca.ClientCAs(), nil, "")
			if tt.cert != nil {
				// Always present the certificate: Go's client would otherwise
				// withhold one the server's CA list does not name, and an
				// attacker's client would not.
				cert := tt.cert
				cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
			}
			body, _, err := get(t, cfg, srv.URL)
			if tt.wantBody == "" {
				if err == nil {
					t.Fatalf("request succeeded with body %q, want refusal", body)
				}
				if n := hits.Load(); n != 0 {
					t.Errorf("handler ran %d times for a refused client", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestPinnedClient(t *testing.T) {
	ca := realCA(t)
	srv, _ := startServer(t, ca, false)
	tests := []struct {
		name    string
		pin     string
		host    string
		wantErr error
	}{
		{"right pin", ca.Fingerprint(), "127.0.0.1", nil},
		{"right pin upper case", strings.ToUpper(ca.Fingerprint()), "localhost", nil},
		{"another CA's pin", realCA(t).Fingerprint(), "127.0.0.1", ErrPinMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := PinnedClientTLSConfig(tt.pin, tt.host)
			if err != nil {
				t.Fatal(err)
			}
			body, _, err := get(t, cfg, withHost(t, srv.URL, tt.host))
			if tt.wantErr == nil {
				if err != nil || body != "anonymous" {
					t.Fatalf("GET = %q, %v", body, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}

	// The pinned CA must also have signed the leaf: a server sending the
	// genuine CA certificate beside a leaf from elsewhere is refused.
	impostorCA := realCA(t)
	leaf, err := impostorCA.ServerCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf.Certificate = [][]byte{leaf.Certificate[0], ca.Certificate().Raw}
	imp := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	imp.TLS = ServerTLSConfig(leaf, nil, false)
	imp.Config.ErrorLog = log.New(io.Discard, "", 0)
	imp.StartTLS()
	defer imp.Close()
	cfg, err := PinnedClientTLSConfig(ca.Fingerprint(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(t, cfg, imp.URL); err == nil || errors.Is(err, ErrPinMismatch) {
		t.Fatalf("impostor leaf: err = %v, want a verification failure", err)
	}
}
