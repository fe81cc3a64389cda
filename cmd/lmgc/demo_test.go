package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/modelgen"
	"github.com/lmgc/lmgc/internal/models"
)

// verifiedRow matches a demo table row of method label that was decoded
// and checked.
func verifiedRow(label string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` +\d+ +[0-9.]+ +\d+ +\d+ +[0-9.]+  verified$`)
}

func TestDemoFallbackStories(t *testing.T) {
	t.Setenv("LMGC_MODELS", t.TempDir()) // an empty cache: SmolLM2 is absent
	code, out, errb := lmgc(t, "demo", "--quiet", "--llm-floats", "16")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	for _, want := range []string{"LM-GC with stories260K (the fallback carried in the binary) on the first 16 floats (64 bytes",
		"SmolLM2-135M is not installed", "Install SmolLM2-135M with"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, label := range []string{"lmgc llm stories260K, constrained, hs", "lmgc llm stories260K, paper, hs", "lmgc cm (same slice)"} {
		if !verifiedRow(label).MatchString(out) {
			t.Errorf("no verified row %q:\n%s", label, out)
		}
	}
}

func TestDemoModelFlag(t *testing.T) {
	s, err := modelgen.Lookup("tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny-llama.gguf")
	if _, err := modelgen.Generate(path, s, modelgen.Options{Type: gguf.Q8_0, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	code, out, errb := lmgc(t, "demo", "--quiet", "--llm-floats", "8", "--model", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(out, "LM-GC with tiny-llama (--model) on the first 8 floats (32 bytes") {
		t.Errorf("output does not name the model:\n%s", out)
	}
	if !verifiedRow("lmgc llm tiny-llama, constrained, hs").MatchString(out) {
		t.Errorf("no verified LLM row:\n%s", out)
	}
	if strings.Contains(out, "stories260K") || strings.Contains(out, ", paper, hs") {
		t.Errorf("stories260K or paper mode ran with --model:\n%s", out)
	}
	if code, _, _ := lmgc(t, "demo", "--model", filepath.Join(t.TempDir(), "absent.gguf")); code == 0 {
		t.Error("a missing --model file was accepted")
	}
}

func TestDemoSmolLM2(t *testing.T) {
	models.Require(t, models.SmolLM2)
	code, out, errb := lmgc(t, "demo", "--quiet", "--llm-floats", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	if !strings.Contains(out, "LM-GC with SmolLM2-135M-Instruct (Q4_1, pretrained, 135M parameters) on the first 4 floats") {
		t.Errorf("the demo did not run SmolLM2:\n%s", out)
	}
	if !verifiedRow("lmgc llm SmolLM2-135M, constrained, hs").MatchString(out) {
		t.Errorf("no verified SmolLM2 row:\n%s", out)
	}
}
