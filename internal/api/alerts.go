package api

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigilsoc/vigil/internal/auth"
	"github.com/vigilsoc/vigil/internal/event"
	"github.com/vigilsoc/vigil/internal/rules"
	"github.com/vigilsoc/vigil/internal/store"
)

type alertsResponse struct {
	Alerts []store.Alert `json:"alerts"`
	Next   string        `json:"next,omitempty"`
}

func (a *API) listAlerts(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	f := store.AlertFilter{
		Levels: splitList(v["level"]), RuleID: v.Get("rule"), Host: v.Get("host"),
		Text: v.Get("text"), Cursor: v.Get("cursor"),
	}
	if v.Get("rule_id") != "" {
		f.RuleID = v.Get("rule_id")
	}
	for _, s := range splitList(v["status"]) {
		st := store.AlertStatus(s)
		if !st.Valid() {
			writeError(w, http.StatusBadRequest, codeBadRequest, "status: want new, acknowledged, resolved or false_positive")
			return
		}
		f.Statuses = append(f.Statuses, st)
	}
	var ok bool
	if f.Range, f.Limit, ok = a.rangeAndLimit(w, v); !ok {
		return
	}
	page, err := a.cfg.State.ListAlerts(r.Context(), f)
	if err != nil {
		a.storeError(w, err)
		return
	}
	if page.Alerts == nil {
		page.Alerts = []store.Alert{}
	}
	writeJSON(w, http.StatusOK, alertsResponse{Alerts: page.Alerts, Next: page.Next})
}

// contextWindow is how far either side of an alert its host's timeline goes.
const contextWindow = 5 * time.Minute

type alertDetail struct {
	store.Alert
	// Events are the alert's matched events, as far as still stored.
	Events []*event.Event `json:"events"`
	// Context is the same host's events five minutes either side.
	Context []*event.Event `json:"context"`
	Rule    *rules.Info    `json:"rule,omitempty"`
}

func (a *API) getAlert(w http.ResponseWriter, r *http.Request) {
	al, err := a.cfg.State.GetAlert(r.Context(), r.PathValue("id"))
	if err != nil {
		a.storeError(w, err)
		return
	}
	out := alertDetail{Alert: al, Events: []*event.Event{}, Context: []*event.Event{}}
	if len(al.EventIDs) > 0 {
		var ids store.Or
		for _, id := range al.EventIDs {
			ids = append(ids, store.Compare{Field: "id", Op: store.OpEq, Value: id})
		}
		page, err := a.cfg.Events.SearchEvents(r.Context(), store.EventQuery{Where: ids, Limit: len(ids)})
		if err != nil {
			a.storeError(w, err)
			return
		}
		out.Events = page.Events
	}
	if al.Host != "" && !al.Time.IsZero() {
		page, err := a.cfg.Events.SearchEvents(r.Context(), store.EventQuery{
			Range: store.TimeRange{From: al.Time.Add(-contextWindow), To: al.Time.Add(contextWindow)},
			Where: store.Compare{Field: "host", Op: store.OpEq, Value: al.Host},
			Limit: 500,
		})
		if err != nil {
			a.storeError(w, err)
			return
		}
		out.Context = page.Events
	}
	if a.cfg.Rules != nil {
		if info, err := a.cfg.Rules.Get(r.Context(), al.RuleID); err == nil {
			out.Rule = &info
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type alertPatch struct {
	Status   *string `json:"status"`
	Assignee *string `json:"assignee"`
	Comment  string  `json:"comment"`
}

func (a *API) patchAlert(w http.ResponseWriter, r *http.Request) {
	var p alertPatch
	if !decodeJSONBody(w, r, &p) {
		return
	}
	u := store.AlertUpdate{Assignee: p.Assignee, Comment: p.Comment, Actor: actorOf(r.Context())}
	if p.Status != nil {
		u.Status = store.AlertStatus(*p.Status)
		if !u.Status.Valid() {
			writeError(w, http.StatusBadRequest, codeBadRequest, "status: want new, acknowledged, resolved or false_positive")
			return
		}
	}
	if p.Status == nil && p.Assignee == nil && p.Comment == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "nothing to change: give status, assignee or comment")
		return
	}
	al, err := a.cfg.State.UpdateAlert(r.Context(), r.PathValue("id"), u)
	if err != nil {
		a.storeError(w, err)
		return
	}
	var changes []string
	if p.Status != nil {
		changes = append(changes, "status="+*p.Status)
	}
	if p.Assignee != nil {
		changes = append(changes, "assignee="+*p.Assignee)
	}
	if p.Comment != "" {
		changes = append(changes, "comment")
	}
	a.audit(r.Context(), "alert.update", al.ID, strings.Join(changes, " "))
	writeJSON(w, http.StatusOK, al)
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request) {
	list, err := a.cfg.Rules.List(r.Context())
	if err != nil {
		a.storeError(w, err)
		return
	}
	if list == nil {
		list = []rules.Info{}
	}
	type fileErr struct {
		Path  string `json:"path"`
		Error string `json:"error"`
	}
	errs := []fileErr{}
	for _, e := range a.cfg.Rules.Errors() {
		errs = append(errs, fileErr{Path: e.Path, Error: e.Error()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": list, "errors": errs})
}

func (a *API) getRule(w http.ResponseWriter, r *http.Request) {
	info, err := a.cfg.Rules.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// uploadRule takes a Sigma rule file as the body (YAML).
func (a *API) uploadRule(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "a rule file is at most 1 MiB")
		return
	}
	infos, err := a.cfg.Rules.Upload(r.Context(), data)
	if err != nil {
		if errors.Is(err, rules.ErrInvalidRule) {
			writeError(w, http.StatusBadRequest, codeInvalidRule, err.Error())
			return
		}
		a.storeError(w, err)
		return
	}
	for _, in := range infos {
		a.audit(r.Context(), "rule.upload", in.ID, in.Title)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"rules": infos})
}

func (a *API) patchRule(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Enabled *bool `json:"enabled"`
	}
	if !decodeJSONBody(w, r, &p) {
		return
	}
	if p.Enabled == nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, `give {"enabled": true|false}`)
		return
	}
	id := r.PathValue("id")
	if err := a.cfg.Rules.SetEnabled(r.Context(), id, *p.Enabled); err != nil {
		a.storeError(w, err)
		return
	}
	action := "rule.disable"
	if *p.Enabled {
		action = "rule.enable"
	}
	a.audit(r.Context(), action, id, "")
	info, err := a.cfg.Rules.Get(r.Context(), id)
	if err != nil {
		a.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (a *API) deleteRule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.cfg.Rules.Delete(r.Context(), id); err != nil {
		if errors.Is(err, rules.ErrNotUploaded) {
			writeError(w, http.StatusConflict, codeConflict, err.Error())
			return
		}
		a.storeError(w, err)
		return
	}
	a.audit(r.Context(), "rule.delete", id, "")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	toks, err := a.cfg.State.ListTokens(r.Context())
	if err != nil {
		a.storeError(w, err)
		return
	}
	if toks == nil {
		toks = []store.Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": toks})
}

// createToken makes a token and shows its secret once; only its hash is kept.
func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name      string `json:"name"`
		Role      string `json:"role"`
		ExpiresIn string `json:"expires_in"`
	}
	if !decodeJSONBody(w, r, &req) {
		return
	}
	role, err := auth.ParseRole(req.Role)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, err.Error())
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "name is required")
		return
	}
	var expires time.Time
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, codeBadRequest, `expires_in: want a positive duration such as "720h"`)
			return
		}
		expires = a.cfg.Now().Add(d).UTC()
	}
	plain, hash := auth.NewToken(auth.DefaultTokenPrefix)
	t, err := a.cfg.State.CreateToken(r.Context(), req.Name, string(role), hash, expires)
	if err != nil {
		a.storeError(w, err)
		return
	}
	a.audit(r.Context(), "token.create", t.ID, req.Name+" role="+string(role))
	writeJSON(w, http.StatusCreated, map[string]any{"token": plain, "id": t.ID, "name": t.Name, "role": t.Role, "expires": t.Expires})
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.cfg.State.RevokeToken(r.Context(), id); err != nil {
		a.storeError(w, err)
		return
	}
	a.audit(r.Context(), "token.revoke", id, "")
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	f := store.AuditFilter{Actor: v.Get("actor"), Action: v.Get("action"), Target: v.Get("target"), Cursor: v.Get("cursor")}
	var ok bool
	if f.Range, f.Limit, ok = a.rangeAndLimit(w, v); !ok {
		return
	}
	page, err := a.cfg.State.ListAudit(r.Context(), f)
	if err != nil {
		a.storeError(w, err)
		return
	}
	if page.Entries == nil {
		page.Entries = []store.Audit{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": page.Entries, "next": page.Next})
}

func atoiPositive(s string) (int, error) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errors.New("not a number")
		}
		n = n*10 + int(c-'0')
		if n > 1<<30 {
			return 0, errors.New("too large")
		}
	}
	return n, nil
}

// rangeAndLimit reads the from, to and limit parameters that list routes
// share, answering 400 itself when one is malformed.
func (a *API) rangeAndLimit(w http.ResponseWriter, v url.Values) (store.TimeRange, int, bool) {
	var rng store.TimeRange
	var err error
	now := a.cfg.Now()
	if rng.From, err = parseTimeParam(v.Get("from"), now); err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "from: "+err.Error())
		return rng, 0, false
	}
	if rng.To, err = parseTimeParam(v.Get("to"), now); err != nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, "to: "+err.Error())
		return rng, 0, false
	}
	limit := 0
	if s := v.Get("limit"); s != "" {
		if limit, err = atoiPositive(s); err != nil {
			writeError(w, http.StatusBadRequest, codeBadRequest, "limit: want a positive number")
			return rng, 0, false
		}
	}
	return rng, limit, true
}
