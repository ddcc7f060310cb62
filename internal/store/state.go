package store

import (
	"context"
	"encoding/json"
	"time"
)

// StateStore keeps the control plane: alerts, API tokens, per-rule settings,
// the audit log and small opaque blobs (such as correlation state).
type StateStore interface {
	// UpsertAlert records an alert, deduplicating repeats: alerts with the
	// same rule id, host and dedup window (a.Time truncated to window) are one
	// alert whose Count grows and whose LastSeen, EventIDs and Matched are
	// updated, instead of a new row. window <= 0 turns deduplication off.
	// It returns the stored alert and whether it was created (not merged).
	// An empty a.ID is assigned; Status defaults to StatusNew, FirstSeen and
	// LastSeen to the store's clock, Count to 1.
	UpsertAlert(ctx context.Context, a Alert, window time.Duration) (Alert, bool, error)
	// UpsertAlerts upserts every alert as UpsertAlert would, in order (a
	// later alert may merge into an earlier one of the same call), all in
	// one transaction: either every alert is recorded or, on error, none is.
	// It returns how many alerts were created rather than merged. It exists
	// because ingest raises many alerts per batch and one commit each was
	// most of the cost of recording them.
	UpsertAlerts(ctx context.Context, alerts []Alert, window time.Duration) (created int, err error)
	// GetAlert returns one alert with its comments and history, or ErrNotFound.
	GetAlert(ctx context.Context, id string) (Alert, error)
	// ListAlerts returns matching alerts newest (by Time) first, a page at a
	// time. Comments and History are not filled in; GetAlert has them.
	ListAlerts(ctx context.Context, f AlertFilter) (AlertPage, error)
	// UpdateAlert changes status and assignee and/or adds a comment, keeping
	// each change in the alert's history. ErrNotFound for an unknown id,
	// ErrInvalid for an unknown status.
	UpdateAlert(ctx context.Context, id string, u AlertUpdate) (Alert, error)

	// CreateToken stores an API token by its hash (the store never sees the
	// secret). A hash or active name that already exists gives ErrConflict.
	// A zero expires never expires.
	CreateToken(ctx context.Context, name, role, hash string, expires time.Time) (Token, error)
	// LookupToken finds an active token by hash. Unknown, revoked and expired
	// tokens all give ErrNotFound, so authentication fails closed.
	LookupToken(ctx context.Context, hash string) (Token, error)
	// ListTokens returns every token, revoked ones included, oldest first.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken revokes a token by id; ErrNotFound if there is none.
	RevokeToken(ctx context.Context, id string) error

	// SetRuleEnabled enables or disables a rule; rules without a setting are
	// enabled.
	SetRuleEnabled(ctx context.Context, ruleID string, enabled bool) error
	// RuleSettings returns every rule that has a setting or hits, by rule id.
	RuleSettings(ctx context.Context) ([]RuleSetting, error)
	// IncrementRuleHits adds hits per rule id in one transaction and sets
	// LastHit to at.
	IncrementRuleHits(ctx context.Context, hits map[string]int64, at time.Time) error

	// AppendAudit records who did what; Time defaults to the store's clock.
	AppendAudit(ctx context.Context, a Audit) error
	// ListAudit returns entries newest first, a page at a time.
	ListAudit(ctx context.Context, f AuditFilter) (AuditPage, error)

	// PutBlob stores value under key, replacing any previous value.
	PutBlob(ctx context.Context, key string, value []byte) error
	// GetBlob returns the value under key, or ErrNotFound.
	GetBlob(ctx context.Context, key string) ([]byte, error)
	// DeleteBlob removes key; removing a missing key is not an error.
	DeleteBlob(ctx context.Context, key string) error

	// Close releases the store; later calls return ErrClosed.
	Close() error
}

// AlertStatus is where an alert is in triage.
type AlertStatus string

// The alert statuses.
const (
	StatusNew           AlertStatus = "new"
	StatusAcknowledged  AlertStatus = "acknowledged"
	StatusResolved      AlertStatus = "resolved"
	StatusFalsePositive AlertStatus = "false_positive"
)

// Valid reports whether s is one of the known statuses.
func (s AlertStatus) Valid() bool {
	switch s {
	case StatusNew, StatusAcknowledged, StatusResolved, StatusFalsePositive:
		return true
	}
	return false
}

// Alert sources.
const (
	SourceSigma       = "sigma"
	SourceIOC         = "ioc"
	SourceBehaviour   = "behaviour"
	SourceCorrelation = "correlation"
)

// MaxAlertEventIDs caps how many event ids a deduplicated alert keeps: a
// noisy rule repeating all day must not grow one row without bound. The
// oldest ids are kept (the first evidence), Count keeps the true total.
const MaxAlertEventIDs = 100

// Alert is one detection, deduplicated.
type Alert struct {
	ID        string          `json:"id"`
	RuleID    string          `json:"rule_id"`
	RuleTitle string          `json:"rule_title"`
	Level     string          `json:"level"`
	Tags      []string        `json:"tags,omitempty"`
	Host      string          `json:"host"`
	Time      time.Time       `json:"time"` // the first matching event's time
	FirstSeen time.Time       `json:"first_seen"`
	LastSeen  time.Time       `json:"last_seen"`
	Count     int64           `json:"count"`
	Status    AlertStatus     `json:"status"`
	Assignee  string          `json:"assignee,omitempty"`
	Comments  []Comment       `json:"comments,omitempty"`
	History   []AlertChange   `json:"history,omitempty"`
	EventIDs  []string        `json:"event_ids,omitempty"`
	Matched   []string        `json:"matched,omitempty"` // field names that matched
	Retro     bool            `json:"retro,omitempty"`   // found by a retro-hunt over history
	Source    string          `json:"source"`
	Details   json.RawMessage `json:"details,omitempty"`
}

// Comment is an analyst's note on an alert.
type Comment struct {
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

// AlertChange is one entry of an alert's history.
type AlertChange struct {
	Time  time.Time `json:"time"`
	Actor string    `json:"actor"`
	Field string    `json:"field"` // "status", "assignee" or "comment"
	From  string    `json:"from,omitempty"`
	To    string    `json:"to,omitempty"`
}

// AlertUpdate changes an alert; zero fields are left alone.
type AlertUpdate struct {
	Status   AlertStatus // "" keeps the status
	Assignee *string     // nil keeps the assignee; "" unassigns
	Comment  string      // "" adds no comment
	Actor    string      // who made the change, for history and comments
}

// AlertFilter selects alerts; zero fields do not filter.
type AlertFilter struct {
	Range    TimeRange // on Alert.Time
	Levels   []string
	Statuses []AlertStatus
	RuleID   string
	Host     string
	Text     string // case-insensitive substring of title, rule id or host
	Limit    int    // PageLimit applies
	Cursor   string
}

// AlertPage is one page of alerts, newest first.
type AlertPage struct {
	Alerts []Alert
	Next   string // empty when there are no more
}

// Token is an API token's record. Hash is what the caller derived from the
// secret; the secret itself is never stored.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Hash    string    `json:"-"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
	Revoked bool      `json:"revoked"`
}

// RuleSetting is the control-plane state of one rule.
type RuleSetting struct {
	RuleID  string    `json:"rule_id"`
	Enabled bool      `json:"enabled"`
	Hits    int64     `json:"hits"`
	LastHit time.Time `json:"last_hit,omitzero"`
}

// Audit is one audit-log entry.
type Audit struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// AuditFilter selects audit entries; zero fields do not filter.
type AuditFilter struct {
	Range  TimeRange
	Actor  string
	Action string
	Target string
	Limit  int // PageLimit applies
	Cursor string
}

// AuditPage is one page of audit entries, newest first.
type AuditPage struct {
	Entries []Audit
	Next    string
}
