package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/vigilsoc/vigil/internal/auth"
	"github.com/vigilsoc/vigil/internal/server"
)

const serverSynopsis = "vigil server [--data DIR] [--listen HOST:PORT] [--insecure-http] [--rules PATH ...]"

func runServer(ctx context.Context, args []string, s Stdio) int {
	var (
		cfg          server.Config
		rulePaths    stringList
		placeholders stringList
		logLevel     string
		logFormat    string
		retentionStr string
		maxSizeStr   string
	)
	fs := newFlagSet("server", serverSynopsis, s)
	fs.StringVar(&cfg.DataDir, "data", "vigil-data", "data directory: event and state stores, CA, admin token")
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:8443", "address to serve the API on (port 0 picks a free port)")
	fs.BoolVar(&cfg.InsecureHTTP, "insecure-http", false, "serve plain HTTP instead of HTTPS (loopback addresses only)")
	fs.Var(&rulePaths, "rules", "Sigma rule file or directory to load and watch (repeatable)")
	fs.Var(&placeholders, "placeholder", "value list for an expand placeholder: name=v1,v2 (repeatable)")
	fs.StringVar(&retentionStr, "retention", "0", "delete events whose event time is older than this (e.g. 90d, 720h); 0 keeps everything.\nBy event time: imported historical logs older than this are deleted too")
	fs.StringVar(&maxSizeStr, "max-store-size", "0", "delete the oldest events beyond this store size (e.g. 50GB; 0 means no limit)")
	fs.DurationVar(&cfg.DedupWindow, "dedup-window", time.Hour, "merge repeats of a rule on a host within this window into one alert")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", 200_000, "events accepted but not yet stored before ingest answers 429 (backpressure)")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(rest) > 0 {
		fmt.Fprintf(s.Err, "vigil server: unexpected arguments %q\n", rest)
		return exitUsage
	}
	var errs []error
	if cfg.Retention, err = parseAge(retentionStr); err != nil {
		errs = append(errs, fmt.Errorf("--retention: %w", err))
	}
	if cfg.RetentionBytes, err = parseSize(maxSizeStr); err != nil {
		errs = append(errs, fmt.Errorf("--max-store-size: %w", err))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(s.Err, "vigil server: %v\n", err)
		return exitUsage
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(s.Err, opts)
	if logFormat == "json" {
		h = slog.NewJSONHandler(s.Err, opts)
	}
	cfg.Logger = slog.New(h)
	if os.Getenv("GOGC") == "" {
		// The ingest path allocates short-lived events at a high rate; a
		// larger heap target halves the collector's share of the CPU.
		debug.SetGCPercent(200)
	}
	cfg.RulePaths = rulePaths
	cfg.Placeholders = parsePlaceholders(placeholders)
	cfg.AdminToken = os.Getenv(auth.AdminTokenEnv)
	cfg.Out = s.Out
	if err := server.Run(ctx, cfg); err != nil {
		fmt.Fprintf(s.Err, "vigil server: %v\n", err)
		return exitFail
	}
	return exitOK
}

// parseAge reads "90d", "720h" or "0".
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "" {
		return 0, nil
	}
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscanf(s, "%dd", &days); err == nil && days > 0 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("want a duration such as 90d or 720h, not %q", s)
	}
	return d, nil
}

// parseSize reads "50GB", "512MiB", "1e9" or "0".
func parseSize(s string) (int64, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	var f float64
	if _, err := fmt.Sscanf(s, "%g", &f); err != nil || f < 0 {
		return 0, fmt.Errorf("want a size such as 50GB, not %q", s)
	}
	return int64(f * float64(mult)), nil
}
