package auth

import (
	"errors"
	"fmt"
	"strings"
)

// Role is what a token or user may do, by name.
type Role string

// The roles.
const (
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
	// RoleAnalyst triages, hunts, responds and writes detection content,
	// but does not manage tokens, agents or read the audit log.
	RoleAnalyst Role = "analyst"
	// RoleViewer reads events, alerts, rules and intel and changes nothing.
	RoleViewer Role = "viewer"
	// RoleIngest only sends events: the token a log shipper holds, so a
	// stolen shipper token reads nothing.
	RoleIngest Role = "ingest"
)

// ErrUnknownRole: ParseRole was given a name that is not a role.
var ErrUnknownRole = errors.New("unknown role")

// ErrUnknownPermission: ParsePermission was given a name that is not a
// permission.
var ErrUnknownPermission = errors.New("unknown permission")

// Roles returns every role, most powerful first.
func Roles() []Role { return []Role{RoleAdmin, RoleAnalyst, RoleViewer, RoleIngest} }

// ParseRole returns the role named s, ignoring case and surrounding space.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.grants() == 0 {
		return "", fmt.Errorf("%w %q (want one of admin, analyst, viewer, ingest)", ErrUnknownRole, s)
	}
	return r, nil
}

// String returns the role's name.
func (r Role) String() string { return string(r) }

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.grants() != 0 }

// Permission is one kind of action the API guards.
type Permission uint8

// The permissions. Their order is their bit in a permission set; append
// new ones at the end.
const (
	ReadEvents Permission = iota
	WriteEvents
	ReadAlerts
	WriteAlerts
	ReadRules
	WriteRules
	ManageTokens
	ReadAudit
	ManageAgents
	Respond
	ReadIntel
	WriteIntel
	numPermissions
)

// Permissions returns every permission in order.
func Permissions() []Permission {
	ps := make([]Permission, numPermissions)
	for i := range ps {
		ps[i] = Permission(i)
	}
	return ps
}

// String returns the permission's stable name, such as "events:read",
// used in API error messages and the audit log.
func (p Permission) String() string {
	switch p {
	case ReadEvents:
		return "events:read"
	case WriteEvents:
		return "events:write"
	case ReadAlerts:
		return "alerts:read"
	case WriteAlerts:
		return "alerts:write"
	case ReadRules:
		return "rules:read"
	case WriteRules:
		return "rules:write"
	case ManageTokens:
		return "tokens:manage"
	case ReadAudit:
		return "audit:read"
	case ManageAgents:
		return "agents:manage"
	case Respond:
		return "respond"
	case ReadIntel:
		return "intel:read"
	case WriteIntel:
		return "intel:write"
	}
	return fmt.Sprintf("Permission(%d)", uint8(p))
}

// ParsePermission returns the permission with the given stable name.
func ParsePermission(s string) (Permission, error) {
	for _, p := range Permissions() {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownPermission, s)
}

// permSet is a set of permissions, one bit each.
type permSet uint32

// The permission table: which role may do what. This is the one place that
// says so; everything else asks Role.Can. Constants, so nothing can change
// it at run time.
const (
	adminGrants permSet = 1<<numPermissions - 1

	analystGrants permSet = 1<<ReadEvents | 1<<ReadAlerts | 1<<WriteAlerts |
		1<<ReadRules | 1<<WriteRules | 1<<Respond | 1<<ReadIntel | 1<<WriteIntel

	viewerGrants permSet = 1<<ReadEvents | 1<<ReadAlerts | 1<<ReadRules | 1<<ReadIntel

	ingestGrants permSet = 1 << WriteEvents
)

func (r Role) grants() permSet {
	switch r {
	case RoleAdmin:
		return adminGrants
	case RoleAnalyst:
		return analystGrants
	case RoleViewer:
		return viewerGrants
	case RoleIngest:
		return ingestGrants
	}
	return 0
}

// Can reports whether r grants p. An unknown role grants nothing.
func (r Role) Can(p Permission) bool {
	return p < numPermissions && r.grants()&(1<<p) != 0
}

// Permissions returns the permissions r grants, in order.
func (r Role) Permissions() []Permission {
	var ps []Permission
	for _, p := range Permissions() {
		if r.Can(p) {
			ps = append(ps, p)
		}
	}
	return ps
}
