package llama2c

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/lmgc/lmgc/engine/gguf"
)

// Hyperparameters that llama2.c's run.c hard-codes and that a GGUF file
// must state.
const (
	RMSNormEps = 1e-5
	RopeBase   = 10000
)

// Token types of llama.cpp (enum llama_token_type), as stored under
// tokenizer.ggml.token_type.
const (
	tokNormal      = 1
	tokUnknown     = 2
	tokControl     = 3
	tokUserDefined = 4
	tokUnused      = 5
	tokByte        = 6
)

// Vocab returns the tokenizer written for a vocabulary of n tokens: the
// layout of a SentencePiece model trained with byte fallback, whose learned
// pieces are unknown. Ids 0, 1, 2 are <unk>, <s>, </s>; ids 3 to 258 are the
// byte tokens <0x00> to <0xFF>; every further id is a placeholder
// "<unusedN>" of type unused, which no tokenizer ever produces, so any text
// is spelled with byte tokens. n must be at least 259.
func Vocab(n int) (tokens []string, scores []float32, types []int32, err error) {
	if n < 259 {
		return nil, nil, nil, fmt.Errorf("llama2c: a vocabulary of %d tokens has no room for the 256 byte tokens", n)
	}
	tokens = make([]string, n)
	scores = make([]float32, n)
	types = make([]int32, n)
	tokens[0], types[0] = "<unk>", tokUnknown
	tokens[1], types[1] = "<s>", tokControl
	tokens[2], types[2] = "</s>", tokControl
	for b := range 256 {
		tokens[3+b], types[3+b] = fmt.Sprintf("<0x%02X>", b), tokByte
	}
	for i := 259; i < n; i++ {
		tokens[i], types[i] = fmt.Sprintf("<unused%d>", i), tokUnused
	}
	return tokens, scores, types, nil
}

// Options control the GGUF file written by WriteGGUF.
type Options struct {
	// Name is stored as general.name; empty means "llama2c".
	Name string
}

// WriteGGUF writes the checkpoint as a GGUF file of architecture "llama"
// with f32 tensors, llama.cpp's metadata keys and tensor names, and the
// byte-fallback vocabulary of Vocab. The output projection is omitted when
// the classifier is shared (llama.cpp and lmgc then use the token
// embedding).
func (c *Checkpoint) WriteGGUF(w io.Writer, o Options) (int64, error) {
	name := o.Name
	if name == "" {
		name = "llama2c"
	}
	tokens, scores, types, err := Vocab(c.VocabSize)
	if err != nil {
		return 0, err
	}
	g := gguf.NewWriter()
	kv := func(k string, v any) { g.AddKV(k, v) }
	kv("general.architecture", "llama")
	kv("general.name", name)
	kv("general.file_type", uint32(0)) // all f32
	kv("llama.vocab_size", uint32(c.VocabSize))
	kv("llama.context_length", uint32(c.SeqLen))
	kv("llama.embedding_length", uint32(c.Dim))
	kv("llama.feed_forward_length", uint32(c.HiddenDim))
	kv("llama.block_count", uint32(c.NLayers))
	kv("llama.attention.head_count", uint32(c.NHeads))
	kv("llama.attention.head_count_kv", uint32(c.NKVHeads))
	kv("llama.rope.dimension_count", uint32(c.HeadSize()))
	kv("llama.rope.freq_base", float32(RopeBase))
	kv("llama.attention.layer_norm_rms_epsilon", float32(RMSNormEps))
	kv("tokenizer.ggml.model", "llama")
	kv("tokenizer.ggml.tokens", tokens)
	kv("tokenizer.ggml.scores", scores)
	kv("tokenizer.ggml.token_type", types)
	kv("tokenizer.ggml.unknown_token_id", uint32(0))
	kv("tokenizer.ggml.bos_token_id", uint32(1))
	kv("tokenizer.ggml.eos_token_id", uint32(2))
	kv("tokenizer.ggml.add_bos_token", true)
	kv("tokenizer.ggml.add_eos_token", false)

	d, hd, kvd := int64(c.Dim), int64(c.HiddenDim), int64(c.KVDim())
	add := func(name string, x []float32, shape ...int64) error {
		return g.AddTensor(name, gguf.F32, shape, f32Bytes(x))
	}
	if err := add("token_embd.weight", c.TokenEmbedding, d, int64(c.VocabSize)); err != nil {
		return 0, err
	}
	for i, l := range c.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		for _, t := range []struct {
			name  string
			x     []float32
			shape []int64
		}{
			{"attn_norm.weight", l.RMSAtt, []int64{d}},
			{"attn_q.weight", l.WQ, []int64{d, d}},
			{"attn_k.weight", l.WK, []int64{d, kvd}},
			{"attn_v.weight", l.WV, []int64{d, kvd}},
			{"attn_output.weight", l.WO, []int64{d, d}},
			{"ffn_norm.weight", l.RMSFFN, []int64{d}},
			{"ffn_gate.weight", l.W1, []int64{d, hd}},
			{"ffn_down.weight", l.W2, []int64{hd, d}},
			{"ffn_up.weight", l.W3, []int64{d, hd}},
		} {
			if err := add(p+t.name, t.x, t.shape...); err != nil {
				return 0, err
			}
		}
	}
	if err := add("output_norm.weight", c.RMSFinal, d); err != nil {
		return 0, err
	}
	if !c.SharedClassifier {
		if err := add("output.weight", c.WCls, d, int64(c.VocabSize)); err != nil {
			return 0, err
		}
	}
	return g.WriteTo(w)
}

// Convert reads a llama2.c checkpoint from r and writes it to w as GGUF.
func Convert(w io.Writer, r io.Reader, o Options) (int64, error) {
	c, err := Read(r)
	if err != nil {
		return 0, err
	}
	return c.WriteGGUF(w, o)
}

func f32Bytes(x []float32) []byte {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}
