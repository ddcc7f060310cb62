// Package api is Vigil's REST API under /api/v1: ingest, events, alerts,
// rules, tokens and the audit log, plus /healthz and /metrics.
//
// Every route but /healthz needs a bearer token, and every route names the
// permission it needs in one table (routes), so that an unguarded route is
// impossible to add by accident. Errors are a JSON envelope with a stable
// code: {"error":{"code":"not_found","message":"..."}}.
//
// The package holds handlers only; it does not own storage or detection.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigilsoc/vigil/internal/auth"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/pipeline"
	"github.com/vigilsoc/vigil/internal/rules"
	"github.com/vigilsoc/vigil/internal/store"
)

// Ingester accepts events; the pipeline implements it.
type Ingester interface {
	Submit(ctx context.Context, events []*event.Event) (pipeline.Result, error)
}

// LineDecoder decodes one NDJSON line into an event.
type LineDecoder interface {
	DecodeLine(line []byte) (*event.Event, error)
}

// Config wires the API to the rest of the server.
type Config struct {
	Ingest  Ingester
	Decoder LineDecoder
	Events  store.EventStore
	State   store.StateStore
	Rules   *rules.Manager
	// Gatherer serves /metrics; nil serves none. Registerer receives the
	// API's own metrics; nil registers none.
	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer
	// MaxBodyBytes bounds an ingest request body as sent (compressed);
	// default 64 MiB. MaxDecodedBytes bounds it decompressed; default 512 MiB.
	MaxBodyBytes, MaxDecodedBytes int64
	// MaxBatchEvents bounds the events of one ingest request; default 100,000.
	MaxBatchEvents int
	Logger         *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// API serves the REST API.
type API struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	// rejectedLines counts NDJSON lines refused as malformed.
	rejectedLines prometheus.Counter
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.MaxDecodedBytes <= 0 {
		cfg.MaxDecodedBytes = 512 << 20
	}
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = 100_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		rejectedLines: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "vigil", Subsystem: "api", Name: "events_rejected_total",
			Help: "Ingested lines rejected as malformed (reported to the sender by line number).",
		})}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(a.rejectedLines)
	}
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	for _, rt := range a.routes() {
		a.mux.Handle(rt.pattern, a.guard(rt.perm, rt.handler))
	}
	// Anything else under the API is a JSON 404, after authentication, so
	// that probing unknown routes without a token learns nothing.
	a.mux.Handle("/api/", a.guard(auth.ReadEvents, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such API route: "+r.Method+" "+r.URL.Path)
	}))
	return a
}

type route struct {
	pattern string
	perm    auth.Permission
	handler http.HandlerFunc
}

// routes is the one table of every authenticated route and the permission
// it needs.
func (a *API) routes() []route {
	rs := []route{
		{"POST /api/v1/events", auth.WriteEvents, a.postEvents},
		{"GET /api/v1/events", auth.ReadEvents, a.getEvents},
		{"GET /api/v1/events/histogram", auth.ReadEvents, a.getHistogram},
		{"GET /api/v1/events/fields/{field}/top", auth.ReadEvents, a.getTopValues},
		{"GET /api/v1/alerts", auth.ReadAlerts, a.listAlerts},
		{"GET /api/v1/alerts/{id}", auth.ReadAlerts, a.getAlert},
		{"PATCH /api/v1/alerts/{id}", auth.WriteAlerts, a.patchAlert},
		{"GET /api/v1/rules", auth.ReadRules, a.listRules},
		{"GET /api/v1/rules/{id}", auth.ReadRules, a.getRule},
		{"POST /api/v1/rules", auth.WriteRules, a.uploadRule},
		{"PATCH /api/v1/rules/{id}", auth.WriteRules, a.patchRule},
		{"DELETE /api/v1/rules/{id}", auth.WriteRules, a.deleteRule},
		{"GET /api/v1/tokens", auth.ManageTokens, a.listTokens},
		{"POST /api/v1/tokens", auth.ManageTokens, a.createToken},
		{"DELETE /api/v1/tokens/{id}", auth.ManageTokens, a.revokeToken},
		{"GET /api/v1/audit", auth.ReadAudit, a.listAudit},
		{"GET /api/v1/whoami", auth.ReadEvents, a.whoami},
	}
	if a.cfg.Gatherer != nil {
		h := promhttp.HandlerFor(a.cfg.Gatherer, promhttp.HandlerOpts{})
		rs = append(rs, route{"GET /metrics", auth.ReadAlerts, h.ServeHTTP})
	}
	return rs
}

// Handler returns the API's handler, with panic recovery and request logs.
func (a *API) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, codeInternal, "internal error")
				}
			}
			// The query string may carry searches but never secrets: tokens
			// travel in the Authorization header, which is not logged.
			a.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration", time.Since(start), "actor", actorOf(r.Context()))
		}()
		a.mux.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Principal is who made a request.
type Principal struct {
	TokenID string
	Name    string
	Role    auth.Role
}

type principalKey struct{}

func actorOf(ctx context.Context) string {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return "token:" + p.Name
	}
	return ""
}

func principalOf(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// guard authenticates the bearer token and checks the permission.
func (a *API) guard(perm auth.Permission, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := auth.BearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "missing bearer token (Authorization: Bearer TOKEN)")
			return
		}
		t, err := a.cfg.State.LookupToken(r.Context(), auth.Hash(tok))
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.log.Error("token lookup", "err", err)
				writeError(w, http.StatusInternalServerError, codeInternal, "token lookup failed")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "unknown, revoked or expired token")
			return
		}
		role, err := auth.ParseRole(t.Role)
		if err != nil || !role.Can(perm) {
			writeError(w, http.StatusForbidden, codeForbidden, fmt.Sprintf("role %q may not %s", t.Role, perm))
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, Principal{TokenID: t.ID, Name: t.Name, Role: role})
		h(w, r.WithContext(ctx))
	})
}

// The stable error codes of the envelope.
const (
	codeBadRequest       = "bad_request"
	codeInvalidQuery     = "invalid_query"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeConflict         = "conflict"
	codeTooLarge         = "payload_too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeBusy             = "busy"
	codeUnavailable      = "unavailable"
	codeInternal         = "internal"
	codeInvalidRule      = "invalid_rule"
)

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details any    `json:"details,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeErrorDetails(w, status, code, msg, nil)
}

func writeErrorDetails(w http.ResponseWriter, status int, code, msg string, details any) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Details = code, msg, details
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// storeError maps store errors onto the envelope.
func (a *API) storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, rules.ErrNotFound):
		writeError(w, http.StatusNotFound, codeNotFound, "not found")
	case errors.Is(err, store.ErrConflict):
		// The store's message names tables and constraints: log it, answer plainly.
		a.log.Debug("conflict", "err", err)
		writeError(w, http.StatusConflict, codeConflict, "conflicts with an existing record (a name already in use?)")
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
	case errors.Is(err, context.Canceled):
		writeError(w, http.StatusServiceUnavailable, codeUnavailable, "request cancelled")
	default:
		a.log.Error("request failed", "err", err)
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error; see the server log")
	}
}

// audit records a change; a failure to audit is logged, never hidden.
func (a *API) audit(ctx context.Context, action, target, detail string) {
	if err := a.cfg.State.AppendAudit(context.WithoutCancel(ctx), store.Audit{
		Actor: actorOf(ctx), Action: action, Target: target, Detail: detail,
	}); err != nil {
		a.log.Error("writing audit log", "action", action, "err", err)
	}
}

func decodeJSONBody(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	perms := []string{}
	for _, perm := range p.Role.Permissions() {
		perms = append(perms, perm.String())
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_id": p.TokenID, "name": p.Name, "role": p.Role, "permissions": perms})
}

// splitList reads a comma-separated or repeated query parameter.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
