package modelgen

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/llama"
	"github.com/lmgc/lmgc/engine/tokenizer"
	"github.com/lmgc/lmgc/internal/models"
)

// checkLike checks that ctl is src's control: the same fingerprinted
// metadata (architecture, hyper-parameters, tokenizer), the same tensors
// in the same order with the same shapes, types as documented, and
// different weights.
func checkLike(t *testing.T, src *gguf.File, kvs []gguf.KV, tensors []gguf.TensorInfo, convert gguf.Type) {
	t.Helper()
	got := map[string]any{}
	for _, kv := range kvs {
		got[kv.Key] = kv.Value
	}
	for _, kv := range src.KV {
		if gguf.FingerprintCovers(kv.Key) && !reflect.DeepEqual(got[kv.Key], kv.Value) {
			t.Errorf("metadata %s differs", kv.Key)
		}
	}
	if len(tensors) != len(src.Tensors) {
		t.Fatalf("%d tensors, want %d", len(tensors), len(src.Tensors))
	}
	for i, c := range tensors {
		s := src.Tensors[i]
		want := s.Type
		if !gguf.CanQuantize(want) {
			want = convert
		}
		if c.Name != s.Name || !slices.Equal(c.Shape, s.Shape) || c.Type != want {
			t.Errorf("tensor %d: %s %v %s, want %s %v %s", i, c.Name, c.Shape, c.Type, s.Name, s.Shape, want)
		}
	}
}

func TestLikeTiny(t *testing.T) {
	dir := t.TempDir()
	s, err := Lookup("tiny-gemma3")
	if err != nil {
		t.Fatal(err)
	}
	srcPath := filepath.Join(dir, "src.gguf")
	if _, err := Generate(srcPath, s, Options{Type: gguf.F16, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	src, err := gguf.Open(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	gen := func(name string, seed uint64) *gguf.File {
		p := filepath.Join(dir, name)
		if _, err := GenerateLike(p, src, Options{Type: gguf.Q8_0, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, a2, b := gen("a.gguf", 1), gen("a2.gguf", 1), gen("b.gguf", 2)
	checkLike(t, src, a.KV, a.Tensors, gguf.Q8_0)
	if a.Fingerprint() != a2.Fingerprint() {
		t.Error("the same seed gave different models")
	}
	if a.Fingerprint() == b.Fingerprint() || a.Fingerprint() == src.Fingerprint() {
		t.Error("a different seed or the source gave the same fingerprint")
	}
	for i := range a.Tensors {
		x, _ := a.TensorData(&a.Tensors[i])
		y, _ := src.TensorData(&src.Tensors[i])
		if bytes.Equal(x, y) {
			t.Errorf("tensor %s was copied, not drawn", a.Tensors[i].Name)
		}
	}
	// The control loads and runs.
	m, err := llama.Load(a)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float32, m.VocabSize())
	if err := st.Forward([]int{0}, []int32{1}, [][]float32{logits}); err != nil {
		t.Fatal(err)
	}
	if slices.Max(logits) == slices.Min(logits) {
		t.Error("flat logits")
	}
	if _, err := BuildLike(src, Options{Type: gguf.BF16}); err == nil {
		t.Error("bf16 accepted for the converted tensors")
	}
}

// TestLikeSmolLM2 checks the control of the real SmolLM2 file: the same
// tokenizer (token ids of a hex serialization), Q4_1 matrices as Q8_0,
// and that the engine loads it.
func TestLikeSmolLM2(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 145 MB model")
	}
	path := models.Require(t, models.SmolLM2)
	src, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out := filepath.Join(t.TempDir(), "random.gguf")
	if _, err := GenerateLike(out, src, Options{Type: gguf.Q8_0, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ctl, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	checkLike(t, src, ctl.KV, ctl.Tensors, gguf.Q8_0)
	if ctl.Fingerprint() == src.Fingerprint() {
		t.Error("same fingerprint")
	}
	t1, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := tokenizer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	text := "3c a1 0f 7e, bd 02 ff 91; 0.00123 -4.5e-07"
	if a, b := t1.Encode(text, true), t2.Encode(text, true); !slices.Equal(a, b) || len(a) == 0 {
		t.Errorf("token ids differ: %v vs %v", a, b)
	}
	if _, err := llama.Load(ctl); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < src.Size {
		t.Errorf("control of %d bytes, source %d (Q8_0 is larger than Q4_1)", st.Size(), src.Size)
	}
}
