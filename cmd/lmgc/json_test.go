package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/internal/testenv"
)

// decodeJSON parses s as exactly one JSON object (nothing else around it)
// and checks it has the keys want.
func decodeJSON(t *testing.T, what, s string, want ...string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, s)
	}
	if dec.More() {
		t.Errorf("%s: more after the JSON object:\n%s", what, s)
	}
	for _, k := range want {
		if _, ok := v[k]; !ok {
			t.Errorf("%s: no %q in %s", what, k, s)
		}
	}
	return v
}

var statsKeys = []string{"original_bytes", "compressed_bytes", "rate_percent", "ideal_bits", "tokens", "seconds", "prior", "fingerprint"}

// TestJSON: --json prints its summary on stdout, with or without --quiet;
// only when the data itself goes to stdout (-o -) does it go to stderr.
func TestJSON(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "g.npy")
	orig := writeGaussianNPY(t, in, 5000)
	comp := filepath.Join(dir, "g.lmgc")

	t.Run("compress", func(t *testing.T) {
		for _, quiet := range []bool{true, false} {
			args := []string{"compress", "--json", "--force", in, "-o", comp}
			if quiet {
				args = append(args, "--quiet")
			}
			code, out, errs := lmgc(t, args...)
			if code != 0 || errs != "" {
				t.Fatalf("%v: exit %d, stderr %q", args, code, errs)
			}
			v := decodeJSON(t, strings.Join(args, " "), out, statsKeys...)
			fi, _ := os.Stat(comp)
			if v["original_bytes"] != float64(len(orig)) || v["compressed_bytes"] != float64(fi.Size()) {
				t.Errorf("%v: sizes %v -> %v, want %d -> %d", args, v["original_bytes"], v["compressed_bytes"], len(orig), fi.Size())
			}
		}
	})
	t.Run("compress-estimate", func(t *testing.T) {
		code, out, errs := lmgc(t, "compress", "--estimate", "--quiet", "--json", in)
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		if v := decodeJSON(t, "--estimate", out, "ideal_bytes", "tokens"); v["estimate"] != true {
			t.Errorf("estimate = %v", v["estimate"])
		}
	})
	t.Run("compress-stdout", func(t *testing.T) {
		for _, quiet := range []bool{true, false} {
			args := []string{"compress", "--json", in, "-o", "-"}
			if quiet {
				args = append(args, "--quiet")
			}
			code, out, errs := lmgc(t, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d, stderr %q", args, code, errs)
			}
			decodeJSON(t, "stderr of "+strings.Join(args, " "), errs, statsKeys...)
			// stdout is the compressed file alone.
			p := filepath.Join(dir, "stdout.lmgc")
			os.WriteFile(p, []byte(out), 0o644)
			if code, _, errs := lmgc(t, "decompress", "--quiet", "--force", p, "-o", filepath.Join(dir, "back.npy")); code != 0 {
				t.Fatalf("decompress of the stdout of %v: %s", args, errs)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "back.npy")); !bytes.Equal(b, orig) {
				t.Errorf("the stdout of %v does not decompress to the input", args)
			}
		}
		// Without --json the summary line goes to stderr too.
		code, out, errs := lmgc(t, "compress", in, "-o", "-")
		if code != 0 || !strings.Contains(errs, " -> ") || strings.Contains(out, " -> ") {
			t.Errorf("compress -o -: exit %d, summary %q", code, errs)
		}
	})
	t.Run("decompress", func(t *testing.T) {
		back := filepath.Join(dir, "g.out.npy")
		code, out, errs := lmgc(t, "decompress", "--quiet", "--json", comp, "-o", back)
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		if v := decodeJSON(t, "decompress --json", out, statsKeys...); v["original_bytes"] != float64(len(orig)) {
			t.Errorf("original_bytes %v, want %d", v["original_bytes"], len(orig))
		}
		code, out, errs = lmgc(t, "decompress", "--quiet", "--json", comp, "-o", "-")
		if code != 0 || out != string(orig) {
			t.Fatalf("decompress -o -: exit %d, %d bytes on stdout, want the %d of the input; stderr %q", code, len(out), len(orig), errs)
		}
		decodeJSON(t, "stderr of decompress -o -", errs, statsKeys...)
	})
	t.Run("inspect", func(t *testing.T) {
		code, out, errs := lmgc(t, "inspect", "--json", comp)
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		v := decodeJSON(t, "inspect --json", out, "original", "prior")
		if o, _ := v["original"].(map[string]any); o == nil || o["size"] != float64(len(orig)) {
			t.Errorf("inspect --json: original %v, want size %d", v["original"], len(orig))
		}
	})
	t.Run("model-info", func(t *testing.T) {
		model := filepath.Join(testenv.RepoRoot(t), "sample", "stories260K.gguf")
		code, out, errs := lmgc(t, "model", "info", "--json", model)
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		if v := decodeJSON(t, "model info --json", out, "architecture", "tensors", "fingerprint"); v["architecture"] != "llama" {
			t.Errorf("architecture %v, want llama", v["architecture"])
		}
	})
	t.Run("bench", func(t *testing.T) {
		set := filepath.Join(dir, "set")
		os.Mkdir(set, 0o755)
		writeGaussianNPY(t, filepath.Join(set, "a.npy"), 3000)
		code, out, errs := lmgc(t, "bench", "--data", set, "--codecs", "gzip", "--priors", "order2", "--subsets", "1",
			"--per-subset", "1", "--quiet", "--json")
		if code != 0 || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		v := decodeJSON(t, "bench --json", out, "rows", "sets", "config")
		rows, _ := v["rows"].([]any)
		methods := map[any]bool{}
		for _, r := range rows {
			if m, ok := r.(map[string]any); ok {
				methods[m["method"]] = true
			}
		}
		if !methods["gzip"] || !methods["order2"] || v["complete"] != true {
			t.Errorf("bench --json: rows of %v, complete %v; want gzip and order2 rows, complete", methods, v["complete"])
		}
	})
	t.Run("collect", func(t *testing.T) {
		if testing.Short() {
			t.Skip("trains a ConvNet step")
		}
		g := filepath.Join(dir, "grads")
		code, out, errs := lmgc(t, "collect", "--dataset", "mnist", "--steps", "1", "--every", "1", "--batch", "16",
			"--eval=false", "--json", "--out", g)
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		v := decodeJSON(t, "collect --json", out, "arch", "params", "steps", "final_loss", "train_acc", "saved")
		if v["params"] != float64(317706) || v["steps"] != float64(1) {
			t.Errorf("collect --json: params %v, steps %v; want 317706, 1", v["params"], v["steps"])
		}
		saved, _ := v["saved"].([]any)
		if len(saved) != 1 || saved[0] != filepath.Join(g, "grad-000000.safetensors") {
			t.Errorf("collect --json: saved %v", v["saved"])
		}
		if _, ok := v["test_acc"]; ok {
			t.Error("collect --json: test_acc without an evaluation")
		}
		if !strings.Contains(errs, "317706 parameters") {
			t.Errorf("collect --json: the log is not on stderr: %q", errs)
		}
	})
}
