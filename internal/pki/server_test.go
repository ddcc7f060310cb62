package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"
)

func TestServerCertificateNames(t *testing.T) {
	ca, _ := newCA(t)
	tc, err := ca.ServerCertificate([]string{"Vigil.Example.COM.", "10.1.2.3:8443", "[::1]:8443", "0.0.0.0:8443", "", "[fe80::1%eth0]:8443"})
	if err != nil {
		t.Fatal(err)
	}
	leaf := tc.Leaf
	if leaf == nil {
		t.Fatal("Leaf not set")
	}
	if len(tc.Certificate) != 2 || string(tc.Certificate[1]) != string(ca.Certificate().Raw) {
		t.Error("chain is not [leaf, CA]")
	}
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vigil.example.com", "localhost", "127.0.0.1", "::1", "10.1.2.3", "fe80::1", hostname} {
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots: ca.ClientCAs(), DNSName: name, CurrentTime: t0,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			t.Errorf("does not verify for %q: %v", name, err)
		}
	}
	if leaf.Subject.CommonName != "vigil.example.com" {
		t.Errorf("CN = %q, want the first host", leaf.Subject.CommonName)
	}
	for _, ip := range leaf.IPAddresses {
		if ip.IsUnspecified() {
			t.Errorf("certificate names unspecified address %v", ip)
		}
	}
	if slices.Contains(leaf.DNSNames, "") {
		t.Error("empty DNS name in certificate")
	}
	if got, want := leaf.NotAfter.Sub(t0), ServerValidity; got != want {
		t.Errorf("validity %v, want %v", got, want)
	}
	if got := leaf.ExtKeyUsage; len(got) != 1 || got[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("ExtKeyUsage = %v, want [ServerAuth]", got)
	}
	if got := fileMode(t, ca.path(ServerKeyFile)); got != 0o600 {
		t.Errorf("server.key mode %04o, want 0600", got)
	}
}

func TestServerNamesDefaults(t *testing.T) {
	names, ips := serverNames(nil)
	if !slices.Contains(names, "localhost") {
		t.Errorf("names %v lack localhost", names)
	}
	for _, want := range []string{"127.0.0.1", "::1"} {
		if !slices.ContainsFunc(ips, func(ip net.IP) bool { return ip.Equal(net.ParseIP(want)) }) {
			t.Errorf("ips %v lack %s", ips, want)
		}
	}
	// Duplicates, in any spelling, appear once.
	names, ips = serverNames([]string{"LOCALHOST", "localhost.", "127.0.0.1:1", "::ffff:127.0.0.1"})
	if n := countFunc(names, func(s string) bool { return s == "localhost" }); n != 1 {
		t.Errorf("localhost appears %d times in %v", n, names)
	}
	if n := countFunc(ips, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }); n != 1 {
		t.Errorf("127.0.0.1 appears %d times in %v", n, ips)
	}
}

func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}

// TestServerCertificateReuseAndRenewal drives one CA's clock through a
// certificate's life and checks when the stored certificate is reused.
func TestServerCertificateReuseAndRenewal(t *testing.T) {
	day := 24 * time.Hour
	base := []string{"vigil.example.com"}
	tests := []struct {
		name    string
		advance time.Duration // from the first issue
		hosts   []string
		prepare func(t *testing.T, ca *CA)
		renewed bool
	}{
		{"same hosts next day", day, base, nil, false},
		{"a subset of hosts", day, nil, nil, false},
		{"31 days before expiry", ServerValidity - 31*day, base, nil, false},
		{"29 days before expiry", ServerValidity - 29*day, base, nil, true},
		{"after expiry", ServerValidity + day, base, nil, true},
		{"a new host", day, []string{"vigil.example.com", "siem.example.com"}, nil, true},
		{"a new IP", day, []string{"vigil.example.com", "192.0.2.7"}, nil, true},
		{"server.pem deleted", day, base, func(t *testing.T, ca *CA) { os.Remove(ca.path(ServerCertFile)) }, true},
		{"server.key deleted", day, base, func(t *testing.T, ca *CA) { os.Remove(ca.path(ServerKeyFile)) }, true},
		{"server.pem garbage", day, base, func(t *testing.T, ca *CA) { writeFile(t, ca.path(ServerCertFile), []byte("junk"), 0o644) }, true},
		{"server.key of another pair", day, base, func(t *testing.T, ca *CA) {
			k, err := marshalKeyPEM(newP256(t))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, ca.path(ServerKeyFile), k, 0o600)
		}, true},
		{"issued by another CA", day, base, func(t *testing.T, ca *CA) {
			other, _ := newCA(t)
			if _, err := other.ServerCertificate(base); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{ServerCertFile, ServerKeyFile} {
				writeFile(t, ca.path(f), readFile(t, other.path(f)), 0o600)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca, clk := newCA(t)
			first, err := ca.ServerCertificate(base)
			if err != nil {
				t.Fatal(err)
			}
			if tt.prepare != nil {
				tt.prepare(t, ca)
			}
			clk.Advance(tt.advance)
			// A fresh CA value, as after a restart: reuse must come from disk.
			reopened, err := Open(Config{Dir: ca.dir, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			second, err := reopened.ServerCertificate(tt.hosts)
			if err != nil {
				t.Fatal(err)
			}
			renewed := first.Leaf.SerialNumber.Cmp(second.Leaf.SerialNumber) != 0
			if renewed != tt.renewed {
				t.Fatalf("renewed = %v, want %v", renewed, tt.renewed)
			}
			if err := second.Leaf.CheckSignatureFrom(ca.Certificate()); err != nil {
				t.Errorf("certificate not from this CA: %v", err)
			}
			if !clk.Now().Add(RenewBefore).Before(second.Leaf.NotAfter) {
				t.Error("returned a certificate within the renewal window")
			}
			for _, h := range tt.hosts {
				if err := second.Leaf.VerifyHostname(trimPort(h)); err != nil {
					t.Errorf("does not cover %s: %v", h, err)
				}
			}
			// What was returned is what is stored: a third call reuses it.
			third, err := reopened.ServerCertificate(tt.hosts)
			if err != nil {
				t.Fatal(err)
			}
			if third.Leaf.SerialNumber.Cmp(second.Leaf.SerialNumber) != 0 {
				t.Error("third call issued again instead of reusing the stored certificate")
			}
		})
	}
}

func trimPort(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

func TestServerCertificateRefusesWideKeyMode(t *testing.T) {
	ca, _ := newCA(t)
	if _, err := ca.ServerCertificate(nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ca.path(ServerKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, ca.path(ServerKeyFile))
	_, err := ca.ServerCertificate(nil)
	var pe *PermissionError
	if !errors.Is(err, ErrInsecurePermissions) || !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PermissionError", err)
	}
	if string(readFile(t, ca.path(ServerKeyFile))) != string(before) {
		t.Error("server.key was replaced instead of reported")
	}
}

func TestServerCertificateFuncRenews(t *testing.T) {
	ca, clk := newCA(t)
	getCert, err := ca.ServerCertificateFunc([]string{"vigil.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		t.Helper()
		c, err := getCert(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.SerialNumber.String()
	}
	first := serial()
	clk.Advance(100 * 24 * time.Hour)
	if got := serial(); got != first {
		t.Error("renewed 265 days before expiry")
	}
	clk.Advance(ServerValidity - 100*24*time.Hour - 10*24*time.Hour) // 10 days left
	renewed := serial()
	if renewed == first {
		t.Fatal("not renewed 10 days before expiry")
	}
	if got := serial(); got != renewed {
		t.Error("renewed again straight after renewing")
	}

	// Renewal fails (server.key made world-readable): the old certificate
	// is served while it is valid, and an error returned once it is not.
	getCert, err = ca.ServerCertificateFunc(nil)
	if err != nil {
		t.Fatal(err)
	}
	current := serial()
	if err := os.Chmod(ca.path(ServerKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	clk.Advance(ServerValidity - 5*24*time.Hour)
	if got := serial(); got != current {
		t.Error("a failed renewal replaced the still-valid certificate")
	}
	clk.Advance(10 * 24 * time.Hour)
	if _, err := getCert(&tls.ClientHelloInfo{}); !errors.Is(err, ErrInsecurePermissions) {
		t.Errorf("after expiry with renewal failing: err = %v", err)
	}
}

// TestServerCertificateFuncHandshake: a config built as the doc says serves
// the certificate to clients that send no SNI (those dialling an IP).
func TestServerCertificateFuncHandshake(t *testing.T) {
	ca := realCA(t)
	getCert, err := ca.ServerCertificateFunc(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ServerTLSConfig(tls.Certificate{}, ca, false)
	cfg.GetCertificate = getCert
	// Not httptest: its StartTLS fills an empty Certificates with its own.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	if body, _, err := get(t, ClientTLSConfig(ca.ClientCAs(), nil, ""), "https://"+ln.Addr().String()); err != nil || body != "ok" {
		t.Fatalf("GET = %q, %v", body, err)
	}
}
