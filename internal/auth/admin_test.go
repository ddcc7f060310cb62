package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureAdminTokenCreatesThenReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vigil-data") // must be created
	tok, created, err := EnsureAdminToken(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("first call: created = false")
	}
	if !strings.HasPrefix(tok, DefaultTokenPrefix) || ValidToken(tok) != nil {
		t.Errorf("token %q", tok)
	}
	path := filepath.Join(dir, AdminTokenFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("admin.token mode %04o, want 0600", st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != tok+"\n" {
		t.Errorf("file holds %q, want the token and a newline", data)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".admin.token.tmp*")); len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	again, created, err := EnsureAdminToken(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if created || again != tok {
		t.Errorf("second call = %q, created %v; want the same token, not created", again, created)
	}
}

func TestEnsureAdminToken(t *testing.T) {
	const fileToken = "vgl_from_file_0123456789"
	tests := []struct {
		name        string
		file        string // contents of admin.token; "" means no file
		mode        os.FileMode
		env         string
		want        string // "" means a new token
		wantCreated bool
		wantErr     error
		wantMsg     string
		fileAfter   string // expected contents afterwards; "" means unchanged (or absent)
	}{
		{name: "env wins, nothing written", env: "my-admin-secret-token", want: "my-admin-secret-token"},
		{name: "env trimmed", env: "  tok-with-newline\n", want: "tok-with-newline"},
		{name: "env over existing file", file: fileToken + "\n", mode: 0o600, env: "from-env", want: "from-env"},
		{name: "env ignores a file's bad mode", file: fileToken, mode: 0o644, env: "from-env", want: "from-env"},
		{name: "env with a space", env: "two words", wantErr: ErrInvalidToken},
		{name: "env blank", env: "   ", wantErr: ErrInvalidToken},
		{name: "env with a line break", env: "a\nX-Evil: 1", wantErr: ErrInvalidToken},
		{name: "file 0600", file: fileToken + "\n", mode: 0o600, want: fileToken},
		{name: "file 0400", file: fileToken, mode: 0o400, want: fileToken},
		{name: "file with CRLF", file: fileToken + "\r\n", mode: 0o600, want: fileToken},
		{name: "file 0644 refused", file: fileToken, mode: 0o644, wantErr: ErrInsecurePermissions, wantMsg: "chmod 600"},
		{name: "file 0640 refused", file: fileToken, mode: 0o640, wantErr: ErrInsecurePermissions},
		{name: "file 0660 refused", file: fileToken, mode: 0o660, wantErr: ErrInsecurePermissions},
		{name: "file 0604 refused", file: fileToken, mode: 0o604, wantErr: ErrInsecurePermissions},
		{name: "empty file refused", file: "\n", mode: 0o600, wantErr: ErrInvalidToken, wantMsg: "delete the file"},
		{name: "file with two tokens refused", file: "a b\n", mode: 0o600, wantErr: ErrInvalidToken},
		{name: "no file: created", wantCreated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, AdminTokenFile)
			if tt.file != "" {
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			tok, created, err := EnsureAdminToken(dir, tt.env)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q does not mention %q", err, tt.wantMsg)
				}
				if tok != "" || created {
					t.Errorf("error with token %q, created %v", tok, created)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			if tt.want != "" && tok != tt.want {
				t.Errorf("token = %q, want %q", tok, tt.want)
			}
			data, readErr := os.ReadFile(path)
			switch {
			case tt.wantCreated:
				if string(data) != tok+"\n" {
					t.Errorf("file = %q, want the new token", data)
				}
			case tt.file == "":
				if !errors.Is(readErr, os.ErrNotExist) {
					t.Errorf("admin.token written (%q) when it should not be", data)
				}
			default:
				if string(data) != tt.file {
					t.Errorf("admin.token changed to %q", data)
				}
			}
		})
	}
}

func TestEnsureAdminTokenPermissionError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, AdminTokenFile)
	if err := os.WriteFile(path, []byte("vgl_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := EnsureAdminToken(dir, "")
	var pe *PermissionError
	if !errors.As(err, &pe) || pe.Path != path || pe.Mode != 0o644 {
		t.Fatalf("err = %v, want *PermissionError for %s mode 0644", err, path)
	}
}

func TestEnsureAdminTokenNotAFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, AdminTokenFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := EnsureAdminToken(dir, ""); err == nil {
		t.Fatal("a directory named admin.token was accepted")
	}
}
