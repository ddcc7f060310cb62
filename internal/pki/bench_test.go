package pki

import (
	"crypto/tls"
	"net"
	"testing"
)

// BenchmarkSignCSR is the CA side of one agent enrolment.
func BenchmarkSignCSR(b *testing.B) {
	ca, _ := newCA(b)
	csr := agentKey(b, newP256(b))
	b.ReportAllocs()
	b.SetBytes(int64(len(csr)))
	for b.Loop() {
		if _, err := ca.SignCSR(csr, "bench-agent", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerCertificateReuse is a server start with a valid stored
// certificate: read, parse and check it.
func BenchmarkServerCertificateReuse(b *testing.B) {
	ca, _ := newCA(b)
	if _, err := ca.ServerCertificate(nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ca.ServerCertificate(nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAgentIDFromCert(b *testing.B) {
	ca, _ := newCA(b)
	out, err := ca.SignCSR(agentKey(b, newP256(b)), "bench-agent", 0)
	if err != nil {
		b.Fatal(err)
	}
	c := mustParseCert(b, out)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AgentIDFromCert(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMutualTLSHandshake is one full (not resumed) TLS 1.3 handshake
// with client certificates over an in-memory pipe: the CPU an agent
// reconnect costs the server and agent together.
func BenchmarkMutualTLSHandshake(b *testing.B) {
	ca, err := Open(Config{Dir: b.TempDir()}) // real clock: handshakes check validity
	if err != nil {
		b.Fatal(err)
	}
	srvCert, err := ca.ServerCertificate(nil)
	if err != nil {
		b.Fatal(err)
	}
	key := newP256(b)
	certPEM, err := ca.SignCSR(agentKey(b, key), "bench-agent", 0)
	if err != nil {
		b.Fatal(err)
	}
	keyPEM, err := marshalKeyPEM(key)
	if err != nil {
		b.Fatal(err)
	}
	agent, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	srvCfg := ServerTLSConfig(srvCert, ca, true)
	srvCfg.SessionTicketsDisabled = true
	cliCfg := ClientTLSConfig(ca.ClientCAs(), &agent, "localhost")
	b.ReportAllocs()
	for b.Loop() {
		c1, c2 := net.Pipe()
		srv, cli := tls.Server(c1, srvCfg), tls.Client(c2, cliCfg)
		done := make(chan error, 1)
		go func() { done <- srv.Handshake() }()
		if err := cli.Handshake(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if _, err := AgentIDFromCert(srv.ConnectionState().PeerCertificates[0]); err != nil {
			b.Fatal(err)
		}
		c1.Close()
		c2.Close()
	}
}
