package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIngestClientConfig(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tok")
	if err := os.WriteFile(tokFile, []byte("vgl_fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if err := os.MkdirAll("vigil-data", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("vigil-data", "admin.token"), []byte("vgl_admin"), 0o600); err != nil {
		t.Fatal(err)
	}
	localCA := filepath.Join("vigil-data", "ca.pem")
	tests := []struct {
		name      string
		o         ingestOptions
		env       string
		localCA   bool
		wantToken string
		wantCA    string
		wantErr   string
	}{
		{"flag wins", ingestOptions{token: "vgl_flag", tokenFile: ""}, "vgl_env", true, "vgl_flag", localCA, ""},
		{"file beats env", ingestOptions{tokenFile: tokFile}, "vgl_env", false, "vgl_fromfile", "", ""},
		{"env beats local admin token", ingestOptions{}, "vgl_env", false, "vgl_env", "", ""},
		{"local admin token", ingestOptions{}, "", false, "vgl_admin", "", ""},
		{"explicit ca file kept", ingestOptions{token: "t", caFile: "/x/ca.pem"}, "", true, "t", "/x/ca.pem", ""},
		{"pin means no local ca", ingestOptions{token: "t", caSHA256: "ab"}, "", true, "t", "", ""},
		{"missing token file", ingestOptions{tokenFile: filepath.Join(dir, "none")}, "", false, "", "", "--token-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.server = "https://127.0.0.1:8443"
			getenv := func(k string) string {
				if k == ingestTokenEnv {
					return tc.env
				}
				return ""
			}
			exists := func(p string) bool {
				if p == localCA {
					return tc.localCA
				}
				return fileExists(p)
			}
			cfg, err := tc.o.clientConfig(getenv, exists)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Token != tc.wantToken || cfg.CAFile != tc.wantCA {
				t.Errorf("token %q, CA %q; want %q, %q", cfg.Token, cfg.CAFile, tc.wantToken, tc.wantCA)
			}
		})
	}
}

func TestIngestNoToken(t *testing.T) {
	t.Chdir(t.TempDir())
	o := ingestOptions{server: "https://127.0.0.1:8443"}
	if _, err := o.clientConfig(func(string) string { return "" }, fileExists); err == nil {
		t.Fatal("no token anywhere: want an error")
	}
}

func TestIngestUsage(t *testing.T) {
	tests := [][]string{
		{},
		{"--batch", "0", "x.jsonl"},
		{"--token", "a", "--token-file", "b", "x.jsonl"},
		{"--ca-file", "a", "--ca-sha256", "b", "x.jsonl"},
	}
	for _, args := range tests {
		var out, errb strings.Builder
		if code := Main(t.Context(), append([]string{"ingest"}, args...), Stdio{Out: &out, Err: &errb}); code != exitUsage {
			t.Errorf("ingest %q: exit %d, want %d; stderr %s", args, code, exitUsage, errb.String())
		}
	}
}
