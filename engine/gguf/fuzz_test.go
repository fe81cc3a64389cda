package gguf

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the seed files in testdata/")

// seedFiles are small files made by the Writer: the fuzzing corpus and a
// golden test of the Writer's output.
func seedFiles(t testing.TB) map[string][]byte {
	sample, _ := buildSample(t, 0)
	sample64, _ := buildSample(t, 64)
	var empty bytes.Buffer
	if _, err := NewWriter().WriteTo(&empty); err != nil {
		t.Fatal(err)
	}
	w := NewWriter()
	w.AddKV("general.architecture", "llama")
	w.AddKV("tokenizer.ggml.tokens", []string{"<unk>", "<s>", "</s>", "a"})
	w.AddKV("tokenizer.ggml.scores", []float32{0, 0, 0, -1})
	w.AddKV("tokenizer.ggml.token_type", []int32{2, 3, 3, 1})
	if err := w.AddTensor("token_embd.weight", F32, []int64{2, 4}, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	var vocab bytes.Buffer
	if _, err := w.WriteTo(&vocab); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"sample.gguf":   sample,
		"sample64.gguf": sample64,
		"empty.gguf":    empty.Bytes(),
		"vocab.gguf":    vocab.Bytes(),
	}
}

func TestSeedFiles(t *testing.T) {
	for name, want := range seedFiles(t) {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestSeedFiles -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the Writer's output changed (run go test -run TestSeedFiles -update if intended)", name)
		}
		if _, err := Parse(bytes.NewReader(got), int64(len(got))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.gguf"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := Parse(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		// Everything a valid file describes must be readable, and writing
		// it back must give a file that parses to the same content.
		w := NewWriter()
		for _, kv := range g.KV {
			w.AddKV(kv.Key, kv.Value)
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			data, err := g.TensorData(ti)
			if err != nil {
				t.Fatalf("valid file, unreadable tensor %q: %v", ti.Name, err)
			}
			if err := w.AddTensor(ti.Name, ti.Type, ti.Shape, data); err != nil {
				t.Fatalf("valid file, tensor %q rejected by the Writer: %v", ti.Name, err)
			}
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		h, err := Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
		if len(h.KV) != len(g.KV) || len(h.Tensors) != len(g.Tensors) {
			t.Fatal("rewritten file differs")
		}
		if g.Fingerprint() != h.Fingerprint() {
			t.Fatal("rewritten file has a different fingerprint")
		}
	})
}
