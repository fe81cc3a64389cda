package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestModelGenLike(t *testing.T) {
	dir := t.TempDir()
	src, ctl := filepath.Join(dir, "src.gguf"), filepath.Join(dir, "ctl.gguf")
	if code, _, errb := lmgc(t, "model", "gen", "--shape", "tiny-llama", "--type", "f16", "-q", "-o", src); code != 0 {
		t.Fatalf("gen --shape: %s", errb)
	}
	code, out, errb := lmgc(t, "model", "gen", "--like", src, "--seed", "9", "-q", "-o", ctl)
	if code != 0 || !strings.Contains(out, "the metadata, tokenizer and tensor shapes of src.gguf with random weights (seed 9") {
		t.Fatalf("gen --like: exit %d: %s%s", code, out, errb)
	}
	info := func(p string) map[string]string {
		_, out, _ := lmgc(t, "model", "info", p)
		m := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				m[k] = strings.TrimSpace(v)
			}
		}
		return m
	}
	a, b := info(src), info(ctl)
	for _, k := range []string{"architecture", "parameters", "vocabulary", "context", "tokenizer", "tensors"} {
		if a[k] == "" || a[k] != b[k] {
			t.Errorf("%s: %q vs %q", k, a[k], b[k])
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(b["fingerprint"]) || a["fingerprint"] == b["fingerprint"] {
		t.Errorf("fingerprints %q and %q", a["fingerprint"], b["fingerprint"])
	}
	if code, _, _ := lmgc(t, "model", "gen", "--like", src, "--shape", "tiny-llama", "-o", ctl); code == 0 {
		t.Error("--like with --shape accepted")
	}
	if code, _, _ := lmgc(t, "model", "gen", "--like", filepath.Join(dir, "absent.gguf"), "-o", ctl); code == 0 {
		t.Error("a missing --like file accepted")
	}
}
