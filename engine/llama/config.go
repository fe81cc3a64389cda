package llama

import (
	"fmt"

	"github.com/lmgc/lmgc/engine/gguf"
)

// Config holds a model's hyper-parameters.
type Config struct {
	Arch       string  // general.architecture
	Dim        int     // <arch>.embedding_length
	Layers     int     // <arch>.block_count
	Heads      int     // <arch>.attention.head_count
	KVHeads    int     // <arch>.attention.head_count_kv (default Heads)
	HeadDim    int     // <arch>.attention.key_length (default Dim/Heads)
	FFDim      int     // <arch>.feed_forward_length
	Vocab      int     // rows of token_embd
	ContextLen int     // <arch>.context_length (0 if absent; informative only)
	NormEps    float32 // <arch>.attention.layer_norm_rms_epsilon (default 1e-5)
	RopeBase   float32 // <arch>.rope.freq_base (default: the architecture's)
	RopeDims   int     // <arch>.rope.dimension_count (default HeadDim)
	RopeNeox   bool    // NEOX-style RoPE pairs (from the architecture)
	QKVBias    bool    // Q, K, V projections have biases (from the architecture)
	TiedOutput bool    // no output.weight: the output projection is token_embd

	// Gemma-style settings, from the architecture and the file (zero for
	// llama and qwen2).
	EmbedScale    float32 // token embeddings are multiplied by it (sqrt(Dim)); 0: not scaled
	QKNorm        bool    // RMSNorm over each head of Q and K before RoPE
	PostNorms     bool    // RMSNorm of the attention and FFN outputs before the residual adds
	GeGLU         bool    // feed-forward GELU(gate)*up instead of SiLU(gate)*up
	SlidingWindow int     // <arch>.attention.sliding_window: positions a windowed layer sees (0: none)
	SWAPeriod     int     // every SWAPeriod-th layer (index % SWAPeriod == SWAPeriod-1) is global
	RopeBaseSWA   float32 // RoPE base of the windowed layers
	QueryScale    float32 // Q is multiplied by it after RoPE and scores are not scaled; 0: scores scaled by 1/sqrt(HeadDim)
}

// Windowed reports whether layer l uses sliding-window attention (as
// llama.cpp's set_swa_pattern: all layers but every SWAPeriod-th).
func (c Config) Windowed(l int) bool {
	return c.SlidingWindow > 0 && (c.SWAPeriod == 0 || l%c.SWAPeriod < c.SWAPeriod-1)
}

// maxDim bounds every hyper-parameter, far above any real model, so that
// products of them cannot overflow an int.
const maxDim = 1 << 24

func readConfig(f *gguf.File, a Arch, name string) (Config, error) {
	c := Config{Arch: name, NormEps: 1e-5, RopeBase: a.DefaultRopeBase, RopeNeox: a.RopeNeox, QKVBias: a.QKVBias}
	p := name + "."
	getInt := func(key string, dst *int, required bool) error {
		v, ok := f.Int(p + key)
		if !ok {
			if _, present := f.Get(p + key); present {
				return fmt.Errorf("llama: %s%s is not an integer", p, key)
			}
			if required {
				return fmt.Errorf("llama: missing %s%s", p, key)
			}
			return nil
		}
		if v < 0 || v > maxDim {
			return fmt.Errorf("llama: %s%s = %d is out of range", p, key, v)
		}
		*dst = int(v)
		return nil
	}
	for _, k := range []struct {
		key      string
		dst      *int
		required bool
	}{
		{"embedding_length", &c.Dim, true},
		{"block_count", &c.Layers, true},
		{"attention.head_count", &c.Heads, true},
		{"attention.head_count_kv", &c.KVHeads, false},
		{"attention.key_length", &c.HeadDim, false},
		{"feed_forward_length", &c.FFDim, true},
		{"context_length", &c.ContextLen, false},
		{"rope.dimension_count", &c.RopeDims, false},
	} {
		if err := getInt(k.key, k.dst, k.required); err != nil {
			return c, err
		}
	}
	if v, ok := f.Float32(p + "attention.layer_norm_rms_epsilon"); ok {
		c.NormEps = v
	}
	if v, ok := f.Float32(p + "rope.freq_base"); ok {
		c.RopeBase = v
	}
	if c.Dim == 0 || c.Layers == 0 || c.Heads == 0 || c.FFDim == 0 {
		return c, fmt.Errorf("llama: zero hyper-parameter (dim %d, layers %d, heads %d, ff %d)", c.Dim, c.Layers, c.Heads, c.FFDim)
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.Heads%c.KVHeads != 0 {
		return c, fmt.Errorf("llama: %d heads are not a multiple of %d KV heads", c.Heads, c.KVHeads)
	}
	if c.HeadDim == 0 {
		if c.Dim%c.Heads != 0 {
			return c, fmt.Errorf("llama: width %d is not a multiple of %d heads", c.Dim, c.Heads)
		}
		c.HeadDim = c.Dim / c.Heads
	}
	if c.Heads*c.HeadDim > maxDim {
		return c, fmt.Errorf("llama: %d heads of %d", c.Heads, c.HeadDim)
	}
	if c.RopeDims == 0 {
		c.RopeDims = c.HeadDim
	}
	if c.RopeDims%2 != 0 || c.RopeDims > c.HeadDim {
		return c, fmt.Errorf("llama: RoPE over %d of %d head dimensions", c.RopeDims, c.HeadDim)
	}
	if !(c.NormEps > 0 && c.NormEps < 1) {
		return c, fmt.Errorf("llama: RMSNorm epsilon %v", c.NormEps)
	}
	if !(c.RopeBase > 1 && c.RopeBase < 1e12) {
		return c, fmt.Errorf("llama: RoPE base %v", c.RopeBase)
	}
	return c, readGemmaConfig(f, a, p, &c)
}

// readGemmaConfig fills the Gemma-style settings of c.
func readGemmaConfig(f *gguf.File, a Arch, p string, c *Config) error {
	if v, ok := f.Int(p + "attention.value_length"); ok && v != int64(c.HeadDim) {
		return fmt.Errorf("llama: %sattention.value_length = %d differs from the key length %d", p, v, c.HeadDim)
	}
	if v, ok := f.Float32(p + "final_logit_softcapping"); ok && v != 0 {
		return fmt.Errorf("llama: %sfinal_logit_softcapping = %v is not supported", p, v)
	}
	if v, ok := f.Float32(p + "attn_logit_softcapping"); ok && v != 0 {
		return fmt.Errorf("llama: %sattn_logit_softcapping = %v is not supported", p, v)
	}
	if a.EmbedScale {
		c.EmbedScale = sqrt32(float32(c.Dim))
	}
	c.QKNorm, c.PostNorms, c.GeGLU = a.QKNorm, a.PostNorms, a.GeGLU
	if a.QueryScale != nil {
		c.QueryScale = a.QueryScale(*c)
	}
	if !a.SlidingWindow {
		return nil
	}
	if _, present := f.Get(p + "attention.sliding_window"); !present {
		return nil
	}
	w, ok := f.Int(p + "attention.sliding_window")
	if !ok || w < 0 || w > maxDim {
		return fmt.Errorf("llama: %sattention.sliding_window is not an integer in [0, %d]", p, maxDim)
	}
	if w == 0 {
		return nil
	}
	c.SlidingWindow, c.SWAPeriod, c.RopeBaseSWA = int(w), a.DefaultSWAPeriod, a.DefaultRopeBaseSWA
	if _, present := f.Get(p + "attention.sliding_window_pattern"); present {
		v, ok := f.Int(p + "attention.sliding_window_pattern")
		if !ok || v < 0 || v > maxDim {
			return fmt.Errorf("llama: %sattention.sliding_window_pattern is not an integer in [0, %d] (per-layer arrays are not supported)", p, maxDim)
		}
		c.SWAPeriod = int(v)
	}
	if v, ok := f.Float32(p + "rope.freq_base_swa"); ok {
		c.RopeBaseSWA = v
	}
	if !(c.RopeBaseSWA > 1 && c.RopeBaseSWA < 1e12) {
		return fmt.Errorf("llama: sliding-window RoPE base %v", c.RopeBaseSWA)
	}
	return nil
}
