package modelgen

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// Parameter counts of the real models (from their model cards and
// llama.cpp's loading logs).
var wantParams = map[string]int64{
	"tinyllama-1.1b": 1_100_048_384,
	"openllama-3b":   3_426_473_600,
	"llama2-7b":      6_738_415_616,
	"smollm2-135m":   134_515_008,
	"qwen2.5-0.5b":   494_032_768,
}

func TestBigShapesDryRun(t *testing.T) {
	for _, s := range Shapes() {
		for _, typ := range []gguf.Type{gguf.F32, gguf.Q8_0} {
			w, err := Build(s, Options{Type: typ, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			kv := map[string]any{}
			for _, p := range w.KVs() {
				kv[p.Key] = p.Value
			}
			a := s.Arch
			want := map[string]any{
				"general.architecture":                  a,
				a + ".embedding_length":                 uint32(s.Embd),
				a + ".block_count":                      uint32(s.Layers),
				a + ".feed_forward_length":              uint32(s.FFN),
				a + ".attention.head_count":             uint32(s.Heads),
				a + ".attention.head_count_kv":          uint32(s.KVHeads),
				a + ".rope.dimension_count":             uint32(s.HeadDim()),
				a + ".rope.freq_base":                   s.RopeBase,
				a + ".attention.layer_norm_rms_epsilon": s.Eps,
				a + ".context_length":                   uint32(s.Ctx),
				"general.file_type":                     fileType[typ],
			}
			for k, v := range want {
				if !reflect.DeepEqual(kv[k], v) {
					t.Errorf("%s: %s = %v, want %v", s.Name, k, kv[k], v)
				}
			}
			if toks, _ := kv["tokenizer.ggml.tokens"].([]string); len(toks) != s.NVocab {
				t.Errorf("%s: %d tokens", s.Name, len(toks))
			}
			var n, size int64
			names := map[string]gguf.TensorInfo{}
			for _, ti := range w.Tensors() {
				n += product(ti.Shape)
				size += ti.Size
				names[ti.Name] = ti
			}
			if n != s.Params() {
				t.Errorf("%s: tensors hold %d weights, Params() = %d", s.Name, n, s.Params())
			}
			if p, ok := wantParams[s.Name]; ok && n != p {
				t.Errorf("%s: %d weights, the real model has %d", s.Name, n, p)
			}
			kvDim, qDim := int64(s.KVHeads*s.HeadDim()), int64(s.Heads*s.HeadDim())
			e, f, v := int64(s.Embd), int64(s.FFN), int64(s.NVocab)
			shapes := map[string][]int64{
				"token_embd.weight": {e, v}, "output_norm.weight": {e},
				"blk.0.attn_q.weight": {e, qDim}, "blk.0.attn_k.weight": {e, kvDim}, "blk.0.attn_v.weight": {e, kvDim},
				"blk.0.attn_output.weight": {qDim, e}, "blk.0.ffn_gate.weight": {e, f}, "blk.0.ffn_up.weight": {e, f},
				"blk.0.ffn_down.weight": {f, e}, "blk.0.attn_norm.weight": {e}, "blk.0.ffn_norm.weight": {e},
				fmt.Sprintf("blk.%d.ffn_down.weight", s.Layers-1): {f, e},
			}
			if !s.Tied {
				shapes["output.weight"] = []int64{e, v}
			} else if _, ok := names["output.weight"]; ok {
				t.Errorf("%s: tied model has output.weight", s.Name)
			}
			if s.Arch == "gemma3" {
				hd := int64(s.HeadDim())
				shapes["blk.0.attn_q_norm.weight"] = []int64{hd}
				shapes["blk.0.attn_k_norm.weight"] = []int64{hd}
				shapes["blk.0.post_attention_norm.weight"] = []int64{e}
				shapes["blk.0.post_ffw_norm.weight"] = []int64{e}
			}
			if s.QKVBias {
				shapes["blk.0.attn_q.bias"] = []int64{qDim}
				shapes["blk.0.attn_k.bias"] = []int64{kvDim}
				shapes["blk.0.attn_v.bias"] = []int64{kvDim}
			} else if _, ok := names["blk.0.attn_q.bias"]; ok {
				t.Errorf("%s: unexpected bias", s.Name)
			}
			for name, shape := range shapes {
				ti, ok := names[name]
				if !ok || !reflect.DeepEqual(ti.Shape, shape) {
					t.Errorf("%s: %s shape %v, want %v", s.Name, name, ti.Shape, shape)
				}
				wantType := typ
				if len(shape) == 1 {
					wantType = gguf.F32
				}
				if ti.Type != wantType {
					t.Errorf("%s: %s type %s, want %s", s.Name, name, ti.Type, wantType)
				}
			}
			fileSize, err := w.Size()
			if err != nil || fileSize < size {
				t.Errorf("%s: Size() = %d, %v", s.Name, fileSize, err)
			}
			if s.Name == "llama2-7b" {
				t.Logf("llama2-7b %s: %.2f GB", typ, float64(fileSize)/1e9)
			}
		}
	}
}

func TestGenerateTiny(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tiny-llama", "tiny-qwen2", "tiny-gemma3"} {
		s, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []gguf.Type{gguf.F32, gguf.F16, gguf.Q8_0, gguf.Q4_0, gguf.Q5_0} {
			if (typ == gguf.Q4_0 || typ == gguf.Q5_0) && name != "tiny-llama" {
				continue // one shape is enough for the quantizers
			}
			path := filepath.Join(dir, fmt.Sprintf("%s-%s.gguf", name, typ))
			var prog bytes.Buffer
			n, err := Generate(path, s, Options{Type: typ, Seed: 7, Progress: &prog})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(prog.Bytes(), []byte("\n")) {
				t.Errorf("progress output %q", prog.String())
			}
			st, err := os.Stat(path)
			if err != nil || st.Size() != n {
				t.Fatalf("%s: size %d, Generate returned %d (%v)", path, st.Size(), n, err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			plan, _ := Build(s, Options{Type: typ, Seed: 7})
			if !reflect.DeepEqual(f.KV, plan.KVs()) || !reflect.DeepEqual(f.Tensors, plan.Tensors()) {
				t.Errorf("%s: file does not match the dry run", path)
			}
			checkWeights(t, f, s)
			f.Close()
		}
	}
	// No temporary files are left behind.
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// checkWeights checks the weight statistics and that the model's output
// distributions are neither uniform nor one-hot.
func checkWeights(t *testing.T, f *gguf.File, s Shape) {
	t.Helper()
	load := func(name string) []float32 {
		ti, ok := f.Tensor(name)
		if !ok {
			t.Fatalf("no tensor %s", name)
		}
		data, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, ti.Elements())
		if err := gguf.Dequantize(ti.Type, data, ti.Elements(), out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	stats := func(x []float32) (mean, std float64) {
		for _, v := range x {
			mean += float64(v)
		}
		mean /= float64(len(x))
		for _, v := range x {
			std += (float64(v) - mean) * (float64(v) - mean)
		}
		return mean, math.Sqrt(std / float64(len(x)))
	}
	near := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s: %g, want %g ± %g", name, got, want, tol)
		}
	}
	m, sd := stats(load("blk.0.attn_norm.weight"))
	near("norm mean", m, 1, 0.05)
	near("norm std", sd, normStd, 0.03)
	m, sd = stats(load("blk.1.ffn_up.weight"))
	near("matrix mean", m, 0, 0.002)
	near("matrix std", sd, matrixStd, 0.002)
	out := "output.weight"
	if s.Tied {
		out = "token_embd.weight"
	}
	w := load(out)
	norm := load("output_norm.weight")
	// A normalized hidden state (RMS 1) times the output norm weights.
	r := newXoshiro(99)
	h := make([]float64, s.Embd)
	for i := range h {
		h[i] = r.normal() * float64(norm[i])
	}
	logits := make([]float64, s.NVocab)
	mx := math.Inf(-1)
	for v := range logits {
		var z float64
		for i, x := range h {
			z += float64(w[v*s.Embd+i]) * x
		}
		logits[v] = z
		mx = max(mx, z)
	}
	var sum, ent float64
	for _, z := range logits {
		sum += math.Exp(z - mx)
	}
	pmax := 1 / sum
	for _, z := range logits {
		p := math.Exp(z-mx) / sum
		if p > 0 {
			ent -= p * math.Log(p)
		}
	}
	maxEnt := math.Log(float64(s.NVocab))
	t.Logf("%s: max p %.4g, entropy %.3f of %.3f nats", s.Name, pmax, ent, maxEnt)
	if pmax > 0.5 || ent > maxEnt-1 || ent < 2 {
		t.Errorf("%s: degenerate output distribution: max p %g, entropy %g of %g", s.Name, pmax, ent, maxEnt)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	s, _ := Lookup("tiny-llama")
	dir := t.TempDir()
	fp := func(name string, seed uint64) string {
		path := filepath.Join(dir, name)
		if _, err := Generate(path, s, Options{Type: gguf.Q8_0, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return f.Fingerprint()
	}
	a, b, c := fp("a.gguf", 1), fp("b.gguf", 1), fp("c.gguf", 2)
	if a != b {
		t.Error("same seed, different models")
	}
	// Regression pin: generated models are part of test setups elsewhere;
	// a change here means every generated model changed.
	if const1 := "578af7a6c53d186766c85540529255071e19730156ae6efc12bb7d1bc6c47350"; a != const1 {
		t.Errorf("tiny-llama q8_0 seed 1 fingerprint %s, was %s: the generator, the vocabulary or the fingerprint changed", a, const1)
	}
	if a == c {
		t.Error("different seeds, same model")
	}
	x, _ := os.ReadFile(filepath.Join(dir, "a.gguf"))
	y, _ := os.ReadFile(filepath.Join(dir, "b.gguf"))
	if !bytes.Equal(x, y) {
		t.Error("same seed, different bytes")
	}
}

// TestRandomStream pins the generator: these values are part of the
// format of generated models (same seed, same file on every platform).
func TestRandomStream(t *testing.T) {
	r := newXoshiro(0)
	// Reference values: splitmix64 seeding and xoshiro256** computed
	// independently (Python, from the published algorithms).
	got := []uint64{r.next(), r.next(), r.next()}
	want := []uint64{0x99ec5f36cb75f2b4, 0xbf6e1f784956452a, 0x1a5f849d4933e6e0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("xoshiro256** stream %#x, want %#x", got, want)
	}
	// Tensor "x", seed 5, chunk 0: also computed independently in Python.
	var g tensorGen
	g.name, g.seed, g.std = "x", 5, 1
	v := make([]float32, 4)
	g.values(g.rng(0), v)
	if wantV := []float32{-0.71717727, 1.8152757, 0.5401559, 0.35470358}; !reflect.DeepEqual(v, wantV) {
		t.Errorf("weights %v, want %v (the generator changed: generated models would differ)", v, wantV)
	}
	// Moments of the normal approximation.
	var m1, m2, m4 float64
	const n = 1 << 18
	for i := 0; i < n; i++ {
		x := r.normal()
		m1 += x
		m2 += x * x
		m4 += x * x * x * x
	}
	m1, m2, m4 = m1/n, m2/n, m4/n
	if math.Abs(m1) > 0.01 || math.Abs(m2-1) > 0.01 || math.Abs(m4-2.7) > 0.05 { // Irwin-Hall(4): kurtosis 3 - 6/(5*4)
		t.Errorf("moments %g %g %g", m1, m2, m4)
	}
}

func TestBuildErrors(t *testing.T) {
	s, _ := Lookup("tiny-llama")
	if _, err := Build(s, Options{Type: gguf.Q4_K}); err == nil {
		t.Error("q4_K: no error")
	}
	bad := s
	bad.Heads = 5
	if _, err := Build(bad, Options{Type: gguf.F32}); err == nil {
		t.Error("5 heads of width 64: no error")
	}
	bad = s
	bad.NVocab = 100
	if _, err := Build(bad, Options{Type: gguf.F32}); err == nil {
		t.Error("vocab size mismatch: no error")
	}
	if _, err := Lookup("gpt-5"); err == nil {
		t.Error("unknown shape: no error")
	}
	if _, err := Generate(filepath.Join(t.TempDir(), "no", "such", "dir.gguf"), s, Options{Type: gguf.F32}); err == nil {
		t.Error("bad path: no error")
	}
}

// The data does not depend on the number of threads.
func TestFillThreads(t *testing.T) {
	g := tensorGen{name: "blk.0.ffn_up.weight", kind: kindMatrix, std: 0.02, seed: 3, typ: gguf.Q8_0, n: 5*genChunk + 96}
	var outs [][]byte
	for _, procs := range []int{1, 3, 8} {
		old := runtime.GOMAXPROCS(procs)
		var buf bytes.Buffer
		err := g.fill(&buf)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := gguf.Q8_0.RowBytes(g.n); int64(buf.Len()) != want {
			t.Fatalf("%d bytes, want %d", buf.Len(), want)
		}
		outs = append(outs, buf.Bytes())
	}
	if !bytes.Equal(outs[0], outs[1]) || !bytes.Equal(outs[0], outs[2]) {
		t.Error("output depends on GOMAXPROCS")
	}
}

// TestMixQ4_K_M checks the Q4_K_M mixture's choice of types on the real
// shapes (dry runs) and generates a small model with K-quant matrices.
func TestMixQ4_K_M(t *testing.T) {
	for _, c := range []struct {
		shape string
		want  map[string]gguf.Type
	}{
		{"tinyllama-1.1b", map[string]gguf.Type{
			"token_embd.weight": gguf.Q4_K, "output.weight": gguf.Q6_K,
			"blk.0.attn_q.weight": gguf.Q4_K, "blk.0.attn_v.weight": gguf.Q6_K, "blk.0.ffn_down.weight": gguf.Q6_K,
			"blk.3.attn_v.weight": gguf.Q4_K, "blk.3.ffn_down.weight": gguf.Q4_K, "blk.4.ffn_down.weight": gguf.Q6_K,
			"blk.21.attn_v.weight": gguf.Q6_K, "blk.0.ffn_up.weight": gguf.Q4_K, "blk.0.attn_norm.weight": gguf.F32,
		}},
		{"smollm2-135m", map[string]gguf.Type{ // rows of 576: the fallbacks
			"token_embd.weight": gguf.Q8_0, "blk.0.attn_q.weight": gguf.Q5_0, "blk.0.attn_v.weight": gguf.Q8_0,
			"blk.0.ffn_down.weight": gguf.Q6_K, "blk.4.ffn_down.weight": gguf.Q4_K, "blk.5.ffn_down.weight": gguf.Q6_K, "blk.0.ffn_up.weight": gguf.Q5_0,
		}},
	} {
		s, err := Lookup(c.shape)
		if err != nil {
			t.Fatal(err)
		}
		w, err := Build(s, Options{Mix: "q4_k_m", Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]gguf.Type{}
		for _, ti := range w.Tensors() {
			got[ti.Name] = ti.Type
		}
		for name, typ := range c.want {
			if got[name] != typ {
				t.Errorf("%s: %s is %v, want %v", c.shape, name, got[name], typ)
			}
		}
		for _, kv := range w.KVs() {
			if kv.Key == "general.file_type" && kv.Value != uint32(15) {
				t.Errorf("%s: file type %v", c.shape, kv.Value)
			}
		}
	}
	if _, err := Build(Shapes()[0], Options{Mix: "q3_k_s"}); err == nil {
		t.Error("unknown mixture: no error")
	}
	// A small shape whose rows are multiples of 256, written and read back.
	s, _ := Lookup("tiny-llama")
	s.Name, s.Embd, s.FFN = "tiny-llama-256", 256, 512
	path := filepath.Join(t.TempDir(), "k.gguf")
	if _, err := Generate(path, s, Options{Mix: "q4_k_m", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[gguf.Type]bool{}
	for _, ti := range f.Tensors {
		seen[ti.Type] = true
	}
	if !seen[gguf.Q4_K] || !seen[gguf.Q6_K] {
		t.Errorf("types in the file: %v", seen)
	}
	checkWeights(t, f, s)
}
