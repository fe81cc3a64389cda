package modelgen

import (
	"fmt"
	"sort"
	"strings"
)

// Shape is the architecture of a model: the hyper-parameters llama.cpp
// reads from the GGUF metadata.
type Shape struct {
	Name     string  // e.g. "tinyllama-1.1b"
	Arch     string  // "llama", "qwen2" or "gemma3"
	Embd     int     // embedding width (n_embd)
	Layers   int     // number of transformer blocks
	Heads    int     // attention heads
	KVHeads  int     // key/value heads (grouped-query attention)
	FFN      int     // feed-forward width
	Ctx      int     // training context length
	RopeBase float32 // RoPE frequency base
	Eps      float32 // RMSNorm epsilon
	Tied     bool    // output projection shares token_embd.weight
	QKVBias  bool    // attn_q/k/v have biases (Qwen2)
	Vocab    string  // built-in vocabulary (see Vocab)
	NVocab   int     // vocabulary size

	// gemma3 only (Gemma-style blocks: Q/K norms, post-norms, GeGLU):
	KeyLen        int // head width (attention.key_length); 0: Embd/Heads
	SlidingWindow int // attention.sliding_window (0: none)
	WindowPeriod  int // attention.sliding_window_pattern: every WindowPeriod-th layer is global
}

// HeadDim is the width of one attention head.
func (s Shape) HeadDim() int {
	if s.KeyLen > 0 {
		return s.KeyLen
	}
	return s.Embd / s.Heads
}

// gemma reports whether the shape has Gemma-style blocks.
func (s Shape) gemma() bool { return s.Arch == "gemma3" }

// Params returns the number of weights of the model.
func (s Shape) Params() int64 {
	e, kv, f, v := int64(s.Embd), int64(s.KVHeads*s.HeadDim()), int64(s.FFN), int64(s.NVocab)
	qd := int64(s.Heads * s.HeadDim())
	layer := 2*e + e*qd + 2*e*kv + qd*e + 3*e*f
	if s.QKVBias {
		layer += qd + 2*kv
	}
	if s.gemma() {
		layer += 2*int64(s.HeadDim()) + 2*e // Q/K norms, post-norms
	}
	n := e*v + int64(s.Layers)*layer + e
	if !s.Tied {
		n += e * v
	}
	return n
}

var shapes = map[string]Shape{
	"tinyllama-1.1b": {Name: "tinyllama-1.1b", Arch: "llama", Embd: 2048, Layers: 22, Heads: 32, KVHeads: 4, FFN: 5632, Ctx: 2048,
		RopeBase: 10000, Eps: 1e-5, Vocab: VocabLlamaSPM, NVocab: 32000},
	"openllama-3b": {Name: "openllama-3b", Arch: "llama", Embd: 3200, Layers: 26, Heads: 32, KVHeads: 32, FFN: 8640, Ctx: 2048,
		RopeBase: 10000, Eps: 1e-6, Vocab: VocabLlamaSPM, NVocab: 32000},
	"llama2-7b": {Name: "llama2-7b", Arch: "llama", Embd: 4096, Layers: 32, Heads: 32, KVHeads: 32, FFN: 11008, Ctx: 4096,
		RopeBase: 10000, Eps: 1e-5, Vocab: VocabLlamaSPM, NVocab: 32000},
	"smollm2-135m": {Name: "smollm2-135m", Arch: "llama", Embd: 576, Layers: 30, Heads: 9, KVHeads: 3, FFN: 1536, Ctx: 8192,
		RopeBase: 100000, Eps: 1e-5, Tied: true, Vocab: VocabSmolLM, NVocab: 49152},
	"qwen2.5-0.5b": {Name: "qwen2.5-0.5b", Arch: "qwen2", Embd: 896, Layers: 24, Heads: 14, KVHeads: 2, FFN: 4864, Ctx: 32768,
		RopeBase: 1000000, Eps: 1e-6, Tied: true, QKVBias: true, Vocab: VocabQwen2, NVocab: 151936},
	"tiny-llama": {Name: "tiny-llama", Arch: "llama", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 192, Ctx: 2048,
		RopeBase: 10000, Eps: 1e-5, Vocab: VocabLlamaSPM, NVocab: 32000},
	"tiny-qwen2": {Name: "tiny-qwen2", Arch: "qwen2", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 192, Ctx: 2048,
		RopeBase: 1000000, Eps: 1e-6, Tied: true, QKVBias: true, Vocab: VocabQwen2, NVocab: 151936},
	// Gemma 3's block (heads wider than width/heads, a sliding window on
	// layer 0, layer 1 global) with the Llama vocabulary: Gemma's own
	// 262k vocabulary is not built in.
	"tiny-gemma3": {Name: "tiny-gemma3", Arch: "gemma3", Embd: 64, Layers: 2, Heads: 4, KVHeads: 2, FFN: 192, Ctx: 2048,
		RopeBase: 1000000, Eps: 1e-6, Tied: true, Vocab: VocabLlamaSPM, NVocab: 32000,
		KeyLen: 32, SlidingWindow: 16, WindowPeriod: 2},
}

// Shapes returns the built-in shapes sorted by name.
func Shapes() []Shape {
	out := make([]Shape, 0, len(shapes))
	for _, s := range shapes {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the built-in shape called name.
func Lookup(name string) (Shape, error) {
	if s, ok := shapes[name]; ok {
		return s, nil
	}
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return Shape{}, fmt.Errorf("modelgen: unknown shape %q (have %s)", name, strings.Join(names, ", "))
}
