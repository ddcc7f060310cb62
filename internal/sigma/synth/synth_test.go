package synth

import (
	"reflect"
	"strings"
	"testing"
)

func TestProcessCreationDeterministic(t *testing.T) {
	a, b := ProcessCreation(200, 7), ProcessCreation(200, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different events")
	}
	c := ProcessCreation(200, 8)
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same events")
	}
}

func TestProcessCreationShape(t *testing.T) {
	evs := ProcessCreation(1000, 1)
	if len(evs) != 1000 {
		t.Fatalf("got %d events", len(evs))
	}
	suspicious := 0
	for _, ev := range evs {
		if ev.Logsource.Product != "windows" || ev.Logsource.Category != "process_creation" {
			t.Fatalf("logsource %+v", ev.Logsource)
		}
		for _, f := range []string{"Image", "OriginalFileName", "CommandLine", "ParentImage", "ParentCommandLine", "User", "IntegrityLevel", "Hashes", "CurrentDirectory", "Company", "Product", "Description"} {
			if v, ok := ev.Get(f); !ok || v.Str == "" {
				t.Fatalf("event lacks %s: %+v", f, ev.Fields)
			}
		}
		cmd, _ := ev.Get("CommandLine")
		if strings.Contains(cmd.Str, "%") {
			t.Errorf("unfilled template: %s", cmd.Str)
		}
		for _, p := range suspiciousImages() {
			if img, _ := ev.Get("Image"); img.Str == p {
				suspicious++
				break
			}
		}
	}
	// About one in ten imitates an attack (powershell appears in both lists).
	if suspicious < 50 || suspicious > 250 {
		t.Errorf("%d suspicious-looking events of 1000, want about 100", suspicious)
	}
}

func suspiciousImages() []string {
	var out []string
	for _, p := range suspicious {
		if !strings.Contains(p.image, "powershell") {
			out = append(out, p.image)
		}
	}
	return out
}
