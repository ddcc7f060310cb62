package pki_test

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/vigilsoc/vigil/internal/pki"
)

// The server side: the CA on first start, a certificate that renews itself,
// client certificates verified when given, the agent id read in a handler.
func Example_server() {
	dataDir, err := os.MkdirTemp("", "vigil-data")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dataDir)

	ca, err := pki.LoadOrCreateCA(dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Println(err) // e.g. ca.key has mode 0644 ... (fix with: chmod 600 ...)
		return
	}
	getCert, err := ca.ServerCertificateFunc([]string{"127.0.0.1:8443"})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := pki.ServerTLSConfig(tls.Certificate{}, ca, false)
	cfg.GetCertificate = getCert

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/agent/events", func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "client certificate required", http.StatusUnauthorized)
			return
		}
		id, err := pki.AgentIDFromCert(r.TLS.PeerCertificates[0])
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		_ = id // then: is this agent enrolled and not revoked?
	})
	srv := &http.Server{Addr: "127.0.0.1:8443", Handler: mux, TLSConfig: cfg}
	_ = srv // srv.ListenAndServeTLS("", "") serves with cfg

	fmt.Println(len(ca.Fingerprint()))
	// Output: 64
}
