package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// wantGrants is the permission table written out again by hand, so that a
// change to role.go's table fails here until it is made on purpose in both.
var wantGrants = map[Role]string{
	RoleAdmin:   "events:read events:write alerts:read alerts:write rules:read rules:write tokens:manage audit:read agents:manage respond intel:read intel:write",
	RoleAnalyst: "events:read alerts:read alerts:write rules:read rules:write respond intel:read intel:write",
	RoleViewer:  "events:read alerts:read rules:read intel:read",
	RoleIngest:  "events:write",
}

func TestPermissionTableExhaustive(t *testing.T) {
	if len(Roles()) != len(wantGrants) {
		t.Fatalf("Roles() = %v, want the %d roles of wantGrants", Roles(), len(wantGrants))
	}
	if len(Permissions()) != 12 {
		t.Fatalf("%d permissions, want 12: extend wantGrants for the new ones", len(Permissions()))
	}
	for _, r := range Roles() {
		granted, ok := wantGrants[r]
		if !ok {
			t.Fatalf("role %q missing from wantGrants", r)
		}
		want := strings.Fields(granted)
		for _, p := range Permissions() {
			if got, want := r.Can(p), slices.Contains(want, p.String()); got != want {
				t.Errorf("%s.Can(%s) = %v, want %v", r, p, got, want)
			}
		}
		var got []string
		for _, p := range r.Permissions() {
			got = append(got, p.String())
		}
		if strings.Join(got, " ") != granted {
			t.Errorf("%s.Permissions() = %v, want %s", r, got, granted)
		}
	}
}

func TestUnknownRoleGrantsNothing(t *testing.T) {
	for _, r := range []Role{"", "root", "Admin", "admin "} {
		if r.Valid() {
			t.Errorf("Role(%q).Valid() = true", r)
		}
		for _, p := range Permissions() {
			if r.Can(p) {
				t.Errorf("Role(%q).Can(%s) = true", r, p)
			}
		}
	}
	if RoleAdmin.Can(Permission(200)) || RoleAdmin.Can(numPermissions) {
		t.Error("admin can do an undefined permission")
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{"admin", RoleAdmin, false},
		{"Analyst", RoleAnalyst, false},
		{" VIEWER\n", RoleViewer, false},
		{"ingest", RoleIngest, false},
		{"", "", true},
		{"root", "", true},
		{"admins", "", true},
	}
	for _, tt := range tests {
		got, err := ParseRole(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrUnknownRole) {
			t.Errorf("ParseRole(%q) error %v is not ErrUnknownRole", tt.in, err)
		}
	}
	for _, r := range Roles() {
		if got, err := ParseRole(r.String()); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
}

func TestPermissionNames(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Permissions() {
		name := p.String()
		if strings.HasPrefix(name, "Permission(") || seen[name] {
			t.Errorf("permission %d has name %q (missing or duplicate)", p, name)
		}
		seen[name] = true
		if got, err := ParsePermission(name); err != nil || got != p {
			t.Errorf("ParsePermission(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParsePermission("events:delete"); !errors.Is(err, ErrUnknownPermission) {
		t.Errorf("ParsePermission(unknown) = %v", err)
	}
	if got := Permission(99).String(); got != "Permission(99)" {
		t.Errorf("Permission(99).String() = %q", got)
	}
}

// TestRolesNest: each role's grants contain those of the role below it, and
// ingest reads nothing.
func TestRolesNest(t *testing.T) {
	for _, p := range Permissions() {
		if RoleViewer.Can(p) && !RoleAnalyst.Can(p) {
			t.Errorf("viewer can %s but analyst cannot", p)
		}
		if RoleAnalyst.Can(p) && !RoleAdmin.Can(p) {
			t.Errorf("analyst can %s but admin cannot", p)
		}
		if RoleIngest.Can(p) && strings.HasSuffix(p.String(), ":read") {
			t.Errorf("ingest can %s", p)
		}
	}
}
