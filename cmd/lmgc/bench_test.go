package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/baseline"
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
	if code, _, errs := lmgc(t, "bench", "--data", set, "--llm-offset", "-1"); code != 2 || !strings.Contains(errs, "--llm-offset -1 is negative") {
		t.Errorf("--llm-offset -1: exit %d, %q", code, errs)
	}
}

// TestBenchCodecsList checks that --codecs list names every codec with a
// version or the reason it is unavailable, and its settings.
func TestBenchCodecsList(t *testing.T) {
	code, stdout, errs := lmgc(t, "bench", "--codecs", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(stdout, "\n")
	for _, c := range baseline.All() {
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, c.Name()+" ") })
		if i < 0 || i+1 >= len(lines) || strings.TrimSpace(strings.TrimPrefix(lines[i], c.Name())) == "" ||
			strings.TrimSpace(lines[i+1]) != baseline.Describe(c) {
			t.Errorf("list lacks %s with its version and settings:\n%s", c.Name(), stdout)
		}
	}
	if !strings.Contains(stdout, "gzip               Go go1") {
		t.Errorf("gzip's version is not Go's:\n%s", stdout)
	}
	if code, _, errs := lmgc(t, "bench", "--data", ".", "--codecs", "sz3/16"); code == 0 || !strings.Contains(errs, "16-bit") {
		t.Errorf("--codecs sz3/16: exit %d, %q", code, errs)
	}
}

// TestBenchFromMerges renders two one-set runs with one --from: both
// sets' rows appear, and a damaged report is an error naming its file.
func TestBenchFromMerges(t *testing.T) {
	dir := t.TempDir()
	var jsons []string
	for _, name := range []string{"s1", "s2"} {
		set := filepath.Join(dir, name)
		os.Mkdir(set, 0o755)
		writeGaussianNPY(t, filepath.Join(set, "a.npy"), 2000)
		out := filepath.Join(dir, "out-"+name)
		if code, _, stderr := lmgc(t, "bench", "--data", set, "--codecs", "gzip", "--priors", "order2",
			"--subsets", "1", "--per-subset", "1", "--quiet", "--threads", "1", "--out", out); code != 0 {
			t.Fatalf("bench %s: exit %d: %s", name, code, stderr)
		}
		jsons = append(jsons, filepath.Join(out, "results.json"))
	}
	code, stdout, stderr := lmgc(t, "bench", "--from", jsons[0], jsons[1])
	if code != 0 {
		t.Fatalf("--from two files: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "merged from 2 reports") || !strings.Contains(stdout, "| s1 |") || !strings.Contains(stdout, "| s2 |") {
		t.Errorf("merged report lacks a set or the merge note:\n%s", stdout)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	if code, _, stderr := lmgc(t, "bench", "--from", jsons[0], bad); code == 0 || !strings.Contains(stderr, "bad.json") {
		t.Errorf("damaged second report: exit %d, stderr %q", code, stderr)
	}
}
