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
	return c, nil
}
