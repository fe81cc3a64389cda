package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchCommand(t *testing.T) {
	dir := t.TempDir()
	set := filepath.Join(dir, "set")
	os.Mkdir(set, 0o755)
	for _, n := range []string{"a.npy", "b.npy"} {
		writeGaussianNPY(t, filepath.Join(set, n), 3000)
	}
	out := filepath.Join(dir, "out")
	code, stdout, errs := lmgc(t, "bench", "--data", set, "--codecs", "gzip", "--priors", "order2",
		"--subsets", "2", "--per-subset", "1", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "gzip") || !strings.Contains(stdout, "order2") {
		t.Errorf("bench table lacks rows:\n%s", stdout)
	}
	for _, f := range []string{"results.md", "results.csv", "results.json", "rates.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("bench wrote no %s: %v", f, err)
		}
	}
	if code, _, errs := lmgc(t, "bench", "--data", filepath.Join(dir, "missing")); code == 0 || errs == "" {
		t.Errorf("missing data: exit %d, %q", code, errs)
	}
}
