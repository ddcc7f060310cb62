// Package server assembles `vigil server` on embedded storage: the data
// directory, the stores, the CA and TLS, the admin token, the rule manager,
// the pipeline and the API, and runs them until the context ends, then shuts
// down in order: stop taking requests, finish the ones in flight, flush the
// pipeline, save correlation state, close the stores.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigilsoc/vigil/internal/api"
	"github.com/vigilsoc/vigil/internal/auth"
	"github.com/vigilsoc/vigil/internal/fieldmap"
	"github.com/vigilsoc/vigil/internal/ingest/jsonl"
	"github.com/vigilsoc/vigil/internal/pipeline"
	"github.com/vigilsoc/vigil/internal/pki"
	"github.com/vigilsoc/vigil/internal/rules"
	"github.com/vigilsoc/vigil/internal/store"
	"github.com/vigilsoc/vigil/internal/store/duckdb"
	"github.com/vigilsoc/vigil/internal/store/sqlite"
)

// Config configures the server.
type Config struct {
	// DataDir holds the stores, the CA and the admin token.
	DataDir string
	// Listen is host:port; port 0 picks a free one (Ready reports it).
	Listen string
	// InsecureHTTP serves plain HTTP; allowed only on a loopback address.
	InsecureHTTP bool
	// RulePaths are Sigma rule files or directories.
	RulePaths    []string
	Placeholders map[string][]string
	// AdminToken, when set, is the admin token (from VIGIL_ADMIN_TOKEN)
	// instead of one made and written to DATA/admin.token.
	AdminToken string
	// Retention deletes events older than this; 0 keeps them (default 90 days
	// is applied by the CLI). RetentionBytes caps the event store's size.
	Retention      time.Duration
	RetentionBytes int64
	// DedupWindow merges repeats of a rule on a host into one alert.
	DedupWindow time.Duration
	// MaxInFlight bounds accepted, unacknowledged events (backpressure).
	MaxInFlight int
	// Out receives the start-up banner (address, admin token on first start).
	Out    io.Writer
	Logger *slog.Logger
	// Ready, if set, is called with the base URL once the server listens.
	Ready func(baseURL string)
}

// Run serves until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	log := cfg.Logger
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", cfg.Listen, err)
	}
	if cfg.InsecureHTTP && !isLoopback(host) {
		return fmt.Errorf("--insecure-http is allowed only on a loopback address, not %q: without TLS, tokens and events cross the network in clear", host)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	state, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(cfg.DataDir, "state.db")}, log)
	if err != nil {
		return fmt.Errorf("opening state store: %w", err)
	}
	defer state.Close()
	events, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(cfg.DataDir, "events.duckdb")}, log)
	if err != nil {
		return fmt.Errorf("opening event store: %w", err)
	}
	defer events.Close()

	adminToken, created, err := ensureAdmin(ctx, cfg, state)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newStoreCollector(events))

	maps, err := fieldmap.New(fieldmap.Config{})
	if err != nil {
		return err
	}
	rulesMgr, err := rules.New(ctx, rules.Config{
		Paths: cfg.RulePaths, UploadDir: filepath.Join(cfg.DataDir, "rules"), State: state,
		Placeholders: cfg.Placeholders, CategoryMatches: maps.CategoryMatches, Logger: log,
	})
	if err != nil {
		return err
	}
	for _, e := range rulesMgr.Errors() {
		log.Warn("rule not loaded", "path", e.Path, "err", e.Err)
	}
	dec, err := jsonl.NewDecoder(jsonl.Config{Mappings: maps})
	if err != nil {
		return err
	}
	pipe := pipeline.New(pipeline.Config{
		Events: events, State: state, Detector: rulesMgr, DedupWindow: cfg.DedupWindow,
		MaxInFlight: cfg.MaxInFlight, Logger: log, Registerer: reg,
	})
	apiSrv := api.New(api.Config{
		Ingest: pipe, Decoder: dec, Events: events, State: state, Rules: rulesMgr, Gatherer: reg, Registerer: reg, Logger: log,
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	scheme := "http"
	var caNote string
	if !cfg.InsecureHTTP {
		ca, err := pki.LoadOrCreateCA(cfg.DataDir, log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("certificate authority: %w", err)
		}
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if host != "" && host != "0.0.0.0" && host != "::" {
			hosts = append(hosts, host)
		}
		if hn, err := os.Hostname(); err == nil {
			hosts = append(hosts, hn)
		}
		getCert, err := ca.ServerCertificateFunc(hosts)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server certificate: %w", err)
		}
		cert, err := getCert(nil)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server certificate: %w", err)
		}
		tlsCfg := pki.ServerTLSConfig(*cert, ca, false)
		tlsCfg.Certificates = nil
		tlsCfg.GetCertificate = getCert
		ln = tlsListener(ln, tlsCfg)
		scheme = "https"
		caNote = fmt.Sprintf("CA certificate %s (sha256 %s)", filepath.Join(cfg.DataDir, pki.CACertFile), ca.Fingerprint())
	}
	baseURL := fmt.Sprintf("%s://%s", scheme, displayAddr(ln.Addr()))

	httpSrv := &http.Server{
		Handler:           apiSrv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // large ingest bodies over slow links
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { pipe.Run(runCtx) })
	wg.Go(func() { rulesMgr.Run(runCtx) })
	wg.Go(func() { retentionLoop(runCtx, cfg, events, log) })

	fmt.Fprintf(cfg.Out, "Vigil server listening on %s\n", baseURL)
	if caNote != "" {
		fmt.Fprintf(cfg.Out, "  %s\n", caNote)
	}
	nRules := len(rulesMgr.Current().Engine().Rules())
	fmt.Fprintf(cfg.Out, "  data in %s; %d rules loaded\n", cfg.DataDir, nRules)
	if nRules == 0 {
		fmt.Fprintln(cfg.Out, "  no detection rules: events are stored but raise no alerts; add Sigma rules with --rules DIR")
	}
	switch {
	case created:
		fmt.Fprintf(cfg.Out, "  admin API token (shown once; also in %s, mode 0600):\n    %s\n",
			filepath.Join(cfg.DataDir, auth.AdminTokenFile), adminToken)
	case cfg.AdminToken != "":
		fmt.Fprintf(cfg.Out, "  admin API token: from %s\n", auth.AdminTokenEnv)
	default:
		fmt.Fprintf(cfg.Out, "  admin API token: in %s\n", filepath.Join(cfg.DataDir, auth.AdminTokenFile))
	}
	if cfg.Ready != nil {
		cfg.Ready(baseURL)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			cancel()
			wg.Wait()
			return fmt.Errorf("serving: %w", err)
		}
	}
	log.Info("shutting down: finishing requests in flight")
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer shutCancel()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		log.Error("HTTP shutdown", "err", err)
	}
	// Requests are done, so nothing waits on the pipeline any more.
	pipe.Close()
	cancel()
	wg.Wait()
	log.Info("stopped")
	return nil
}

// ensureAdmin makes sure the admin token exists and is known to the state
// store by its hash.
func ensureAdmin(ctx context.Context, cfg Config, state store.StateStore) (string, bool, error) {
	plain, created, err := auth.EnsureAdminToken(cfg.DataDir, cfg.AdminToken)
	if err != nil {
		return "", false, fmt.Errorf("admin token: %w", err)
	}
	hash := auth.Hash(plain)
	if _, err := state.LookupToken(ctx, hash); err == nil {
		return plain, created, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", false, err
	}
	// A different admin token is in force (VIGIL_ADMIN_TOKEN changed, or the
	// file was replaced): the old one stops working.
	toks, err := state.ListTokens(ctx)
	if err != nil {
		return "", false, err
	}
	for _, t := range toks {
		if t.Name == "admin" && !t.Revoked {
			if err := state.RevokeToken(ctx, t.ID); err != nil {
				return "", false, err
			}
		}
	}
	if _, err := state.CreateToken(ctx, "admin", string(auth.RoleAdmin), hash, time.Time{}); err != nil {
		return "", false, fmt.Errorf("storing admin token: %w", err)
	}
	return plain, created, nil
}

func retentionLoop(ctx context.Context, cfg Config, events store.EventStore, log *slog.Logger) {
	if cfg.Retention <= 0 && cfg.RetentionBytes <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if cfg.Retention > 0 {
			if n, err := events.DeleteBefore(ctx, time.Now().Add(-cfg.Retention)); err != nil {
				log.Error("retention by age", "err", err)
			} else if n > 0 {
				log.Info("retention by age", "deleted", n)
			}
		}
		if cfg.RetentionBytes > 0 {
			if n, err := store.RetainSize(ctx, events, cfg.RetentionBytes); err != nil {
				log.Error("retention by size", "err", err)
			} else if n > 0 {
				log.Info("retention by size", "deleted", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func displayAddr(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		return fmt.Sprintf("localhost:%d", tcp.Port)
	}
	return a.String()
}
