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
