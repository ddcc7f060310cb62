// Package vigiltest holds helpers for tests only: finding the shared corpus,
// golden files. Production code must not import it.
package vigiltest

import (
	"os"
	"path/filepath"
	"testing"
)

// CorpusEnv names the environment variable that points at the shared corpus
// (the directory holding sigma/ and evtx/).
const CorpusEnv = "VIGIL_CORPUS"

// CorpusDir returns the shared corpus directory: $VIGIL_CORPUS, or the first
// ../shared/corpus found walking up from the working directory. The second
// result is false when there is none.
func CorpusDir() (string, bool) {
	if dir := os.Getenv(CorpusEnv); dir != "" {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir, true
		}
		return dir, false
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "..", "shared", "corpus")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(cand)
			return abs, true
		}
		if filepath.Dir(dir) == dir {
			return "", false
		}
	}
}

// Corpus returns the path of sub inside the shared corpus, or skips the test
// with a message saying how to provide it.
func Corpus(t testing.TB, sub string) string {
	t.Helper()
	dir, ok := CorpusDir()
	if !ok {
		t.Skipf("shared corpus not found: set %s to the directory holding sigma/ and evtx/ (default ../shared/corpus)", CorpusEnv)
	}
	p := filepath.Join(dir, sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus has no %s (%s=%s)", sub, CorpusEnv, dir)
	}
	return p
}

// SharedDir returns ../shared (the parent of the corpus), for the reference
// material such as the Sigma specification's test rules.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir, ok := CorpusDir()
	if !ok {
		t.Skipf("shared material not found: set %s (default ../shared/corpus)", CorpusEnv)
	}
	return filepath.Dir(dir)
}
