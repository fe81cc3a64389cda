package llama

import (
	"fmt"
	"sort"
)

// Arch describes how one architecture (GGUF general.architecture) differs
// from the common llama-style decoder: pre-norm blocks with RMSNorm,
// grouped-query attention with RoPE, a SwiGLU feed-forward network, and a
// final RMSNorm and output projection (tied to the token embeddings when
// output.weight is absent).
type Arch struct {
	// RopeNeox selects NEOX-style RoPE, rotating the pairs (i, i+d/2) of a
	// head, instead of the pairs (2i, 2i+1).
	RopeNeox bool
	// QKVBias means the attention projections have bias vectors
	// (blk.N.attn_q.bias, attn_k.bias, attn_v.bias), which are required.
	QKVBias bool
	// DefaultRopeBase is the RoPE frequency base used when the file has no
	// <arch>.rope.freq_base.
	DefaultRopeBase float32

	// Gemma-style blocks (all false for llama and qwen2):

	// EmbedScale multiplies the token embeddings by sqrt(embedding width).
	EmbedScale bool
	// QKNorm means an RMSNorm over each head of Q and of K before RoPE
	// (blk.N.attn_q_norm.weight, attn_k_norm.weight, head width).
	QKNorm bool
	// PostNorms means an RMSNorm of the attention and feed-forward outputs
	// before each residual addition (blk.N.post_attention_norm.weight,
	// post_ffw_norm.weight).
	PostNorms bool
	// GeGLU selects the feed-forward GELU(gate) * up (tanh approximation)
	// instead of SiLU(gate) * up.
	GeGLU bool
	// SlidingWindow means <arch>.attention.sliding_window, when present and
	// positive, limits the attention of every layer but each
	// DefaultSWAPeriod-th (<arch>.attention.sliding_window_pattern
	// overrides it), which use DefaultRopeBaseSWA (overridden by
	// <arch>.rope.freq_base_swa) as their RoPE base.
	SlidingWindow      bool
	DefaultSWAPeriod   int
	DefaultRopeBaseSWA float32
	// QueryScale, when set, gives the factor Q is multiplied by after RoPE;
	// the attention scores are then not scaled again. When nil the scores
	// are scaled by 1/sqrt(head width).
	QueryScale func(Config) float32
}

var archs = map[string]Arch{}

// RegisterArch makes architecture name loadable. It is meant to be called
// from an init function, one small file per architecture.
func RegisterArch(name string, a Arch) {
	if _, dup := archs[name]; dup {
		panic("llama: architecture " + name + " registered twice")
	}
	archs[name] = a
}

// Archs returns the names of the registered architectures, sorted.
func Archs() []string {
	names := make([]string, 0, len(archs))
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupArch(name string) (Arch, error) {
	a, ok := archs[name]
	if !ok {
		return Arch{}, fmt.Errorf("llama: unsupported architecture %q (supported: %v)", name, Archs())
	}
	return a, nil
}
