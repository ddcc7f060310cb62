package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsoc/vigil/internal/vigiltest"
)

// TestCorpusRulesCheck: every rule of the SigmaHQ corpus's rule folders
// compiles.
func TestCorpusRulesCheck(t *testing.T) {
	sigmaDir := vigiltest.Corpus(t, "sigma")
	var dirs []string
	for _, d := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder", "rules-compliance", "rules-dfir"} {
		dirs = append(dirs, filepath.Join(sigmaDir, d))
	}
	code, out, errOut := run(t, append([]string{"rules", "check", "--json"}, dirs...)...)
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON (exit %d): %v\n%s", code, err, errOut)
	}
	t.Logf("corpus: %d files, %d ok, %d failed; %d rules, %d correlations, %d filters, %d files need placeholders",
		rep.Total, rep.OK, rep.Failed, rep.Rules, rep.Correlations, rep.Filters, len(rep.Placeholders))
	for _, e := range rep.Errors {
		t.Errorf("%s:%d: %s", e.Path, e.Line, e.Error)
	}
	if code != exitOK || rep.Total < 3000 {
		t.Errorf("exit %d with %d files", code, rep.Total)
	}
	if len(rep.Placeholders) == 0 {
		t.Error("rules-placeholder rules should report the placeholders they need")
	}
}

// TestCorpusDetect runs every SigmaHQ Windows rule over the EVTX samples: no
// input may fail, and samples named after a technique must raise the rule
// that covers it.
func TestCorpusDetect(t *testing.T) {
	evtxDir := vigiltest.Corpus(t, "evtx")
	rules := filepath.Join(vigiltest.Corpus(t, "sigma"), "rules", "windows")
	code, out, errOut := run(t, "detect", "--rules", rules, "--format", "jsonl", evtxDir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if strings.Contains(errOut, "corrupt") {
		t.Errorf("corrupt records reported:\n%s", errOut)
	}
	found := map[string]map[string]bool{}
	for _, h := range parseHits(t, out) {
		base := filepath.Base(h.Source)
		if found[base] == nil {
			found[base] = map[string]bool{}
		}
		found[base][h.RuleTitle] = true
	}
	for sample, rule := range map[string]string{
		"DE_1102_security_log_cleared.evtx":               "Security Eventlog Cleared",
		"DE_104_system_log_cleared.evtx":                  "Important Windows Eventlog Cleared",
		"DE_UAC_Disabled_Sysmon_12_13.evtx":               "UAC Disabled",
		"exec_msxsl_xsl_sysmon_1_7.evtx":                  "Msxsl.EXE Execution",
		"de_hiding_files_via_attrib_cmdlet.evtx":          "Hiding Files with Attrib.exe",
		"sysmon_20_21_1_CommandLineEventConsumer.evtx":    "WMI Event Subscription",
		"DE_Fake_ComputerAccount_4720.evtx":               "New or Renamed User Account with '$' Character",
		"sysmon_lolbin_bohops_vshadow_exec.evtx":          "Proxy Execution via Vshadow",
		"exec_sysmon_1_lolbin_pcalua.evtx":                "Use of Pcalua For Execution",
		"de_portforward_netsh_rdp_sysmon_13_1.evtx":       "RDP Port Forwarding Rule Added Via Netsh.EXE",
		"WinDefender_Events_1117_1116_AtomicRedTeam.evtx": "Windows Defender Threat Detected",
		"persistence_security_dcshadow_4742.evtx":         "Possible DC Shadow Attack",
		"DE_BYOV_Zam64_CA_Memdump_sysmon_7_10.evtx":       "Potential Credential Dumping Activity Via LSASS",
		// A registry_event rule seeing a Sysmon 13 (registry_set) event.
		"PanacheSysmon_vs_AtomicRedTeam01.evtx": "Sticky Key Like Backdoor Usage - Registry",
	} {
		if !found[sample][rule] {
			t.Errorf("%s: no %q detection (got %v)", sample, rule, found[sample])
		}
	}
	if len(found) < 60 {
		t.Errorf("only %d samples raised detections", len(found))
	}
	t.Log(strings.TrimSpace(errOut))
}
