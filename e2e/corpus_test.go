package e2e

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/vigiltest"
)

// TestIngestCorpus sends the shared EVTX samples to a server running the
// shared Windows Sigma rules, and checks the server agrees with the offline
// `vigil detect` over the same files: the same (rule, host) pairs alert.
// Sending the files again stores nothing new.
func TestIngestCorpus(t *testing.T) {
	evtxDir := vigiltest.Corpus(t, "evtx")
	rulesDir := vigiltest.Corpus(t, filepath.Join("sigma", "rules", "windows"))
	if testing.Short() {
		t.Skip("slow: compiles the shared Sigma rules; runs without -short")
	}
	s := startServer(t, serverOpts{Rules: []string{rulesDir}})

	type counts struct {
		Events, Accepted, Rejected, Undelivered, Alerts int64
	}
	ingest := func() counts {
		t.Helper()
		code, out, errOut := runVigil(t, "ingest", "--server", s.URL, "--token", s.Token, "--ca-file", s.CAFile, "--json", "--quiet", evtxDir)
		var c counts
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			t.Fatalf("vigil ingest output %q: %v\nstderr: %s", out, err, errOut)
		}
		if code != 0 || c.Events == 0 || c.Accepted != c.Events || c.Undelivered != 0 {
			t.Fatalf("vigil ingest: exit %d, %+v\nstderr: %s", code, c, errOut)
		}
		return c
	}
	first := ingest()
	ids, total := s.eventIDs(t, "")
	if total != first.Accepted || len(ids) != int(total) {
		t.Errorf("stored %d events (%d ids), ingest accepted %d", total, len(ids), first.Accepted)
	}

	type pair struct{ rule, host string }
	var server []pair
	for _, a := range s.alerts(t, nil) {
		if a.Source == "sigma" {
			server = append(server, pair{a.RuleID, a.Host})
		}
	}
	code, out, errOut := runVigil(t, "detect", "--format", "jsonl", "--rules", rulesDir, evtxDir)
	if code != 0 {
		t.Fatalf("vigil detect: exit %d\n%s", code, errOut)
	}
	var offline []pair
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var d struct {
			RuleID string `json:"rule_id"`
			Kind   string `json:"kind"`
			Host   string `json:"host"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("detect output: %v", err)
		}
		if d.Kind == "sigma" {
			offline = append(offline, pair{d.RuleID, d.Host})
		}
	}
	cmp := func(a, b pair) int { return strings.Compare(a.rule+"\x00"+a.host, b.rule+"\x00"+b.host) }
	slices.SortFunc(server, cmp)
	slices.SortFunc(offline, cmp)
	offline = slices.Compact(offline)
	server = slices.Compact(server)
	if len(offline) == 0 {
		t.Fatal("vigil detect found nothing; the comparison would prove nothing")
	}
	if !slices.Equal(server, offline) {
		t.Errorf("server alerts on %d (rule, host) pairs, vigil detect on %d", len(server), len(offline))
		for _, p := range offline {
			if _, ok := slices.BinarySearchFunc(server, p, cmp); !ok {
				t.Logf("only offline: %v", p)
			}
		}
		for _, p := range server {
			if _, ok := slices.BinarySearchFunc(offline, p, cmp); !ok {
				t.Logf("only on the server: %v", p)
			}
		}
	}

	// Again: everything is acknowledged, nothing new is stored.
	second := ingest()
	if second.Accepted != first.Accepted {
		t.Errorf("second run accepted %d, first %d", second.Accepted, first.Accepted)
	}
	if _, total2 := s.eventIDs(t, ""); total2 != total {
		t.Errorf("after sending again %d events are stored, before %d", total2, total)
	}
}
