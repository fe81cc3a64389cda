package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/internal/models"
)

// TestModelInfoReal checks "lmgc model info" on the pinned SmolLM2 file:
// architecture, tensor types with counts, parameters, vocabulary, context
// length and fingerprint, in text and JSON.
func TestModelInfoReal(t *testing.T) {
	path := models.Require(t, models.SmolLM2)
	code, out, errOut := lmgc(t, "model", "info", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"architecture:  llama\n",
		"parameters:    134515008 (135M)\n",
		"vocabulary:    49152\n",
		"context:       8192\n",
		"tensors:       272 (f32: 61, q4_1: 210, q8_0: 1), 96576768 bytes\n",
		`tokenizer:     model "gpt2", pre "smollm", 49152 tokens, 48900 merges, BOS 1, EOS 2, add_bos false`,
		"fingerprint:   387739b1adbeb802b2574f70546ce29b62a165e02bef39e7cf3dbfab6b574f34\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = lmgc(t, "model", "info", "--json", path)
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errOut)
	}
	var info modelInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info.Architecture != "llama" || info.Weights != 134515008 || info.Vocabulary != 49152 ||
		info.ContextLength != 8192 || info.TensorTypes["q4_1"] != 210 || len(info.Fingerprint) != 64 {
		t.Errorf("JSON: %+v", info)
	}
}
