package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSignCSR: whatever bytes an enrolling client sends, SignCSR returns an
// error or a certificate that carries exactly the id we chose.
func FuzzSignCSR(f *testing.F) {
	ca, _ := newCA(f)
	good := agentKey(f, newP256(f))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Add([]byte{})
	f.Add(ca.Certificate().Raw)
	seedDir(f, "testdata/csr")
	f.Fuzz(func(t *testing.T, csr []byte) {
		out, err := ca.SignCSR(csr, "fuzz-agent", 0)
		if err != nil {
			return
		}
		c := mustParseCert(t, out)
		id, err := AgentIDFromCert(c)
		if err != nil || id != "fuzz-agent" {
			t.Fatalf("signed certificate names %q, %v", id, err)
		}
		if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth || c.IsCA {
			t.Fatal("signed certificate can do more than client auth")
		}
	})
}

// FuzzParseKeyPEM: a damaged key file yields an error, never a panic.
func FuzzParseKeyPEM(f *testing.F) {
	key, err := marshalKeyPEM(newP256(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(key)
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseKeyPEM(data)
		if err == nil && k == nil {
			t.Fatal("nil key without error")
		}
	})
}

// FuzzAgentIDFromCert: any parsable certificate yields an error or a valid id.
func FuzzAgentIDFromCert(f *testing.F) {
	ca, _ := newCA(f)
	out, err := ca.SignCSR(agentKey(f, newP256(f)), "seed-agent", 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustParseCert(f, out).Raw)
	f.Add(ca.Certificate().Raw)
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		id, err := AgentIDFromCert(c)
		if err == nil && ValidAgentID(id) != nil {
			t.Fatalf("AgentIDFromCert returned invalid id %q", id)
		}
	})
}

// seedDir adds every file under dir as a seed.
func seedDir(f *testing.F, dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			f.Add(b)
		}
	}
}
