package llama

import (
	"slices"
	"strings"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

func TestLoadErrors(t *testing.T) {
	kv := func(key string, v any) func(*gguf.Writer) {
		return func(w *gguf.Writer) { w.AddKV(key, v) }
	}
	cases := []struct {
		name   string
		skip   string
		mutate func(*gguf.Writer)
		want   string
	}{
		{"unknown arch", "", kv("general.architecture", "gpt2"), "unsupported architecture"},
		{"missing key", "", kv("llama.embedding_length", "wide"), "not an integer"},
		{"huge layer count", "", kv("llama.block_count", uint32(1<<20)), "layers"},
		{"too many layers", "", kv("llama.block_count", uint32(3)), "missing tensor blk.2"},
		{"heads vs kv heads", "", kv("llama.attention.head_count_kv", uint32(3)), "KV heads"},
		{"width vs shapes", "", kv("llama.feed_forward_length", uint32(64)), "shape"},
		{"odd rope dims", "", kv("llama.rope.dimension_count", uint32(7)), "RoPE"},
		{"bad eps", "", kv("llama.attention.layer_norm_rms_epsilon", float32(-1)), "epsilon"},
		{"missing tensor", "blk.1.ffn_up.weight", nil, "missing tensor blk.1.ffn_up.weight"},
		{"missing norm", "output_norm.weight", nil, "missing tensor output_norm.weight"},
	}
	for _, c := range cases {
		spec := tiny("llama", gguf.F16)
		spec.skip, spec.mutate = c.skip, c.mutate
		_, err := Load(buildModel(t, spec))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// qwen2 requires its biases.
	spec := tiny("qwen2", gguf.F32)
	spec.skip = "blk.0.attn_k.bias"
	if _, err := Load(buildModel(t, spec)); err == nil || !strings.Contains(err.Error(), "attn_k.bias") {
		t.Errorf("qwen2 without a bias: error %v", err)
	}
}

func TestConfig(t *testing.T) {
	m := loadTiny(t, tiny("qwen2", gguf.Q8_0))
	c := m.Config()
	want := Config{Arch: "qwen2", Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 16, FFDim: 96, Vocab: 300,
		ContextLen: 256, NormEps: 1e-5, RopeBase: 10000, RopeDims: 16, RopeNeox: true, QKVBias: true}
	if c != want {
		t.Errorf("Config() = %+v\nwant %+v", c, want)
	}
	if m.VocabSize() != 300 {
		t.Errorf("VocabSize() = %d", m.VocabSize())
	}
	if got := Archs(); !slices.Equal(got, []string{"gemma3", "llama", "qwen2"}) {
		t.Errorf("Archs() = %v", got)
	}
}

func TestKVBytes(t *testing.T) {
	m := loadTiny(t, tiny("llama", gguf.F16)) // 2 layers, 2 KV heads of 16
	if got, want := m.KVBytes(3, 10), int64(3*10*32*2*2*2); got != want {
		t.Errorf("KVBytes(3, 10) = %d, want %d", got, want)
	}
}

// TestConfigGemma3 checks the Gemma settings read from a gemma3 file and
// the files the engine refuses.
func TestConfigGemma3(t *testing.T) {
	c := loadTiny(t, tiny("gemma3", gguf.F32)).Config()
	want := Config{Arch: "gemma3", Dim: 64, Layers: 2, Heads: 4, KVHeads: 2, HeadDim: 32, FFDim: 96, Vocab: 300,
		ContextLen: 256, NormEps: 1e-5, RopeBase: 10000, RopeDims: 32, RopeNeox: true,
		EmbedScale: 8, QKNorm: true, PostNorms: true, GeGLU: true, SlidingWindow: 5, SWAPeriod: 2, RopeBaseSWA: 10000,
		QueryScale: 1 / sqrt32(32)}
	if c != want {
		t.Errorf("Config() = %+v\nwant %+v", c, want)
	}
	if !c.Windowed(0) || c.Windowed(1) {
		t.Errorf("Windowed(0), Windowed(1) = %v, %v; want true, false", c.Windowed(0), c.Windowed(1))
	}
	if p := (Config{SlidingWindow: 512, SWAPeriod: 6}); p.Windowed(5) || p.Windowed(11) || !p.Windowed(0) || !p.Windowed(4) || !p.Windowed(6) {
		t.Error("period 6: layers 5 and 11 must be global, the others windowed")
	}
	kv := func(key string, v any) func(*gguf.Writer) {
		return func(w *gguf.Writer) { w.AddKV(key, v) }
	}
	for _, c := range []struct {
		name   string
		skip   string
		mutate func(*gguf.Writer)
		want   string
	}{
		{"value length", "", kv("gemma3.attention.value_length", uint32(16)), "value_length"},
		{"logit softcapping", "", kv("gemma3.final_logit_softcapping", float32(30)), "final_logit_softcapping"},
		{"attention softcapping", "", kv("gemma3.attn_logit_softcapping", float32(50)), "attn_logit_softcapping"},
		{"window pattern array", "", kv("gemma3.attention.sliding_window_pattern", []bool{true, false}), "sliding_window_pattern"},
		{"window not an integer", "", kv("gemma3.attention.sliding_window", "wide"), "sliding_window"},
		{"local RoPE base", "", kv("gemma3.rope.freq_base_swa", float32(-1)), "sliding-window RoPE base"},
		{"missing q norm", "blk.1.attn_q_norm.weight", nil, "missing tensor blk.1.attn_q_norm.weight"},
		{"missing post norm", "blk.0.post_ffw_norm.weight", nil, "missing tensor blk.0.post_ffw_norm.weight"},
	} {
		spec := tiny("gemma3", gguf.F32)
		spec.skip, spec.mutate = c.skip, c.mutate
		_, err := Load(buildModel(t, spec))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// Without a window every layer is global.
	spec := tiny("gemma3", gguf.F32)
	spec.mutate = kv("gemma3.attention.sliding_window", uint32(0))
	if c := loadTiny(t, spec).Config(); c.SlidingWindow != 0 || c.Windowed(0) {
		t.Errorf("sliding_window 0: %+v", c)
	}
}
