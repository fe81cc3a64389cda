package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/modelgen"
)

// TestModelBench runs "lmgc model bench" on a tiny model: it compresses
// and decompresses real gradient floats (checking the round trip) and
// reports both speeds; bad flags are usage errors.
func TestModelBench(t *testing.T) {
	s, err := modelgen.Lookup("tiny-llama")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if _, err := modelgen.Generate(path, s, modelgen.Options{Type: gguf.Q8_0, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	cpu, mem := filepath.Join(t.TempDir(), "cpu.prof"), filepath.Join(t.TempDir(), "mem.prof")
	code, out, errOut := lmgc(t, "model", "bench", "--model", path, "--tokens", "400", "--window", "100", "--threads", "2",
		"--cpuprofile", cpu, "--memprofile", mem)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, f := range []string{cpu, mem} {
		// A pprof profile is a gzip-compressed protocol buffer.
		if b, err := os.ReadFile(f); err != nil || len(b) < 3 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: not a profile (%d bytes, %v)", filepath.Base(f), len(b), err)
		}
	}
	for _, want := range []string{"50 floats of convnet-mnist.npy, 400 digits coded, 445 model positions, 5 windows", "encode: ", "decode: ", "peak RSS", "decode KV caches"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"--tokens", "400"}, {"--model", path, "--tokens", "3"}, {"--model", path, "--threads", "0"}} {
		if code, _, _ := lmgc(t, append([]string{"model", "bench"}, args...)...); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage)", args, code)
		}
	}
}
