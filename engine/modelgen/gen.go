package modelgen

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/internal/atomicfile"
)

// Options control the weights of a generated model.
type Options struct {
	// Type of the 2-D weight matrices: gguf.F32, F16, BF16, Q8_0, Q4_0 or
	// Q5_0. Norm weights and biases (1-D tensors) are always F32, as in
	// llama.cpp's own conversions.
	Type gguf.Type
	// Mix, when not empty, names a mixture of matrix types that replaces
	// Type, as llama-quantize's file types: "q4_k_m" (see mixQ4_K_M).
	Mix string
	// Seed of the pseudo-random weights; the same seed, shape and type
	// give the same file, byte for byte, on every platform.
	Seed uint64
	// Progress, when not nil, receives a progress line (ending in \r)
	// about once a second and a final line ending in \n.
	Progress io.Writer
}

// fileType is llama.cpp's general.file_type (enum llama_ftype) for the
// matrix type.
var fileType = map[gguf.Type]uint32{gguf.F32: 0, gguf.F16: 1, gguf.Q4_0: 2, gguf.Q8_0: 7, gguf.Q5_0: 8, gguf.BF16: 32}

// A mix picks the type of each weight matrix from its name, its layer
// (-1 outside the blocks) and its row length.
type mix struct {
	fileType uint32
	pick     func(name string, layer, layers int, cols int64, tied bool) gguf.Type
}

var mixes = map[string]mix{"q4_k_m": {15, mixQ4_K_M}}

// mixQ4_K_M is llama-quantize's Q4_K_M choice (llama_tensor_get_type):
// Q6_K for the output projection (the token embeddings when they are
// tied to it) and for attn_v and ffn_down in the layers of
// useMoreBits, Q4_K elsewhere; a matrix whose rows are not a multiple of
// 256 values takes llama.cpp's fallback, Q5_0 for Q4_K and Q8_0 for Q6_K.
func mixQ4_K_M(name string, layer, layers int, cols int64, tied bool) gguf.Type {
	t := gguf.Q4_K
	switch {
	case name == "output.weight" || (tied && name == "token_embd.weight"):
		t = gguf.Q6_K
	case layer >= 0 && (strings.HasSuffix(name, ".attn_v.weight") || strings.HasSuffix(name, ".ffn_down.weight")) && useMoreBits(layer, layers):
		t = gguf.Q6_K
	}
	if cols%256 != 0 {
		if t == gguf.Q6_K {
			return gguf.Q8_0
		}
		return gguf.Q5_0
	}
	return t
}

// useMoreBits is llama.cpp's use_more_bits: the first and last eighth of
// the layers and every third one between.
func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// Standard deviations of the random weights. Token embeddings and the
// output projection use logitStd/sqrt(Embd) so that the logits of a
// normalized hidden state have a standard deviation near logitStd:
// distributions over the vocabulary that are neither uniform nor one-hot
// (for tiny-llama: entropy about 8.5 of 10.4 nats, largest p about 2%).
const (
	logitStd  = 2
	matrixStd = 0.02
	normStd   = 0.1 // norm weights are 1 + normStd*N(0,1)
	biasStd   = 0.02
)

type kind int

const (
	kindMatrix kind = iota
	kindEmbed
	kindNorm
	kindBias
)

// Build returns a Writer holding the metadata and tensor list of a random
// model; the weights are generated while the Writer writes. Nothing large
// is allocated, so Build is also the dry run: Writer.KVs and
// Writer.Tensors describe the file without producing it.
func Build(s Shape, opts Options) (*gguf.Writer, error) {
	ft, ok := fileType[opts.Type]
	mx, isMix := mixes[opts.Mix]
	switch {
	case opts.Mix != "" && !isMix:
		return nil, fmt.Errorf("modelgen: unknown type mixture %q (use q4_k_m)", opts.Mix)
	case isMix:
		ft = mx.fileType
	case !ok:
		return nil, fmt.Errorf("modelgen: unsupported weight type %s (use f32, f16, bf16, q8_0, q4_0, q5_0 or the q4_k_m mixture)", opts.Type)
	}
	if (s.KeyLen == 0 && s.Embd%s.Heads != 0) || s.Heads%s.KVHeads != 0 {
		return nil, fmt.Errorf("modelgen: shape %s: %d heads do not divide width %d or are not a multiple of %d KV heads", s.Name, s.Heads, s.Embd, s.KVHeads)
	}
	vocab, err := Vocab(s.Vocab)
	if err != nil {
		return nil, err
	}
	w := gguf.NewWriter()
	a := s.Arch
	typeName := opts.Type.String()
	if isMix {
		typeName = opts.Mix
	}
	desc := fmt.Sprintf("random weights (lmgc model gen, seed %d, %s); not a trained model", opts.Seed, typeName)
	if s.Vocab == VocabSmolLM {
		desc += "; " + SmolLMNote
	}
	w.AddKV("general.architecture", a)
	w.AddKV("general.name", s.Name)
	w.AddKV("general.description", desc)
	w.AddKV("general.file_type", ft)
	w.AddKV("general.quantization_version", uint32(2))
	w.AddKV(a+".vocab_size", uint32(s.NVocab))
	w.AddKV(a+".context_length", uint32(s.Ctx))
	w.AddKV(a+".embedding_length", uint32(s.Embd))
	w.AddKV(a+".block_count", uint32(s.Layers))
	w.AddKV(a+".feed_forward_length", uint32(s.FFN))
	w.AddKV(a+".rope.dimension_count", uint32(s.HeadDim()))
	w.AddKV(a+".rope.freq_base", s.RopeBase)
	w.AddKV(a+".attention.head_count", uint32(s.Heads))
	w.AddKV(a+".attention.head_count_kv", uint32(s.KVHeads))
	w.AddKV(a+".attention.layer_norm_rms_epsilon", s.Eps)
	if s.gemma() {
		w.AddKV(a+".attention.key_length", uint32(s.HeadDim()))
		w.AddKV(a+".attention.value_length", uint32(s.HeadDim()))
		if s.SlidingWindow > 0 {
			w.AddKV(a+".attention.sliding_window", uint32(s.SlidingWindow))
			w.AddKV(a+".attention.sliding_window_pattern", uint32(s.WindowPeriod))
		}
	}
	for _, kv := range TokenizerKVs(vocab) {
		w.AddKV(kv.Key, kv.Value)
	}
	if toks, _ := lookupKV(vocab, "tokenizer.ggml.tokens").([]string); len(toks) != s.NVocab {
		return nil, fmt.Errorf("modelgen: shape %s wants %d tokens, vocabulary %s has %d", s.Name, s.NVocab, s.Vocab, len(toks))
	}

	e, kvw, f, v := int64(s.Embd), int64(s.KVHeads*s.HeadDim()), int64(s.FFN), int64(s.NVocab)
	qd, hd := int64(s.Heads*s.HeadDim()), int64(s.HeadDim())
	embStd := float32(logitStd / sqrt64(float64(s.Embd)))
	add := func(name string, k kind, std float32, shape ...int64) error {
		typ := opts.Type
		if isMix {
			layer := -1
			fmt.Sscanf(name, "blk.%d.", &layer)
			typ = mx.pick(name, layer, s.Layers, shape[0], s.Tied)
		}
		if k == kindNorm || k == kindBias {
			typ = gguf.F32
		}
		gen := tensorGen{name: name, kind: k, std: std, seed: opts.Seed, typ: typ, n: product(shape)}
		return w.AddTensorFunc(name, typ, shape, gen.fill)
	}
	type tdef struct {
		name  string
		k     kind
		std   float32
		shape []int64
	}
	defs := []tdef{{"token_embd.weight", kindEmbed, embStd, []int64{e, v}}}
	for l := 0; l < s.Layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		defs = append(defs, tdef{p + "attn_norm.weight", kindNorm, normStd, []int64{e}},
			tdef{p + "attn_q.weight", kindMatrix, matrixStd, []int64{e, qd}})
		if s.QKVBias {
			defs = append(defs, tdef{p + "attn_q.bias", kindBias, biasStd, []int64{qd}})
		}
		defs = append(defs, tdef{p + "attn_k.weight", kindMatrix, matrixStd, []int64{e, kvw}})
		if s.QKVBias {
			defs = append(defs, tdef{p + "attn_k.bias", kindBias, biasStd, []int64{kvw}})
		}
		defs = append(defs, tdef{p + "attn_v.weight", kindMatrix, matrixStd, []int64{e, kvw}})
		if s.QKVBias {
			defs = append(defs, tdef{p + "attn_v.bias", kindBias, biasStd, []int64{kvw}})
		}
		defs = append(defs,
			tdef{p + "attn_output.weight", kindMatrix, matrixStd, []int64{qd, e}})
		if s.gemma() {
			defs = append(defs,
				tdef{p + "attn_q_norm.weight", kindNorm, normStd, []int64{hd}},
				tdef{p + "attn_k_norm.weight", kindNorm, normStd, []int64{hd}},
				tdef{p + "post_attention_norm.weight", kindNorm, normStd, []int64{e}},
				tdef{p + "post_ffw_norm.weight", kindNorm, normStd, []int64{e}})
		}
		defs = append(defs,
			tdef{p + "ffn_norm.weight", kindNorm, normStd, []int64{e}},
			tdef{p + "ffn_gate.weight", kindMatrix, matrixStd, []int64{e, f}},
			tdef{p + "ffn_up.weight", kindMatrix, matrixStd, []int64{e, f}},
			tdef{p + "ffn_down.weight", kindMatrix, matrixStd, []int64{f, e}})
	}
	defs = append(defs, tdef{"output_norm.weight", kindNorm, normStd, []int64{e}})
	if !s.Tied {
		defs = append(defs, tdef{"output.weight", kindMatrix, embStd, []int64{e, v}})
	}
	for _, d := range defs {
		if err := add(d.name, d.k, d.std, d.shape...); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func lookupKV(kv []gguf.KV, key string) any {
	for _, p := range kv {
		if p.Key == key {
			return p.Value
		}
	}
	return nil
}

func product(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// Generate writes a random model to path: first to a temporary file in the
// same directory, renamed to path when complete. It returns the file size.
func Generate(path string, s Shape, opts Options) (int64, error) {
	w, err := Build(s, opts)
	if err != nil {
		return 0, err
	}
	return write(path, w, s.Name, opts)
}

// write writes the model of w to path through a temporary file renamed
// into place when complete, reporting progress under name.
func write(path string, w *gguf.Writer, name string, opts Options) (int64, error) {
	total, err := w.Size()
	if err != nil {
		return 0, err
	}
	tmp, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return 0, err
	}
	defer tmp.Abort() // a no-op after Commit
	var out io.Writer = tmp
	if opts.Progress != nil {
		out = &progress{w: tmp, out: opts.Progress, total: total, name: name, start: time.Now()}
	}
	n, err := w.WriteTo(out)
	if err != nil {
		return n, fmt.Errorf("modelgen: writing %s: %w", path, err)
	}
	if p, ok := out.(*progress); ok {
		p.report(true)
	}
	return n, tmp.Commit()
}

// progress passes writes through and reports how far the data has come.
type progress struct {
	w     io.Writer
	out   io.Writer
	total int64
	done  int64
	name  string
	start time.Time
	last  time.Time
}

func (p *progress) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if time.Since(p.last) >= time.Second {
		p.report(false)
	}
	return n, err
}

func (p *progress) report(final bool) {
	p.last = time.Now()
	pct := 100.0
	if p.total > 0 {
		pct = min(100, 100*float64(p.done)/float64(p.total))
	}
	end := "\r"
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.out, "model gen %s: %5.1f%% %d/%d MB %.0fs%s", p.name, pct, p.done>>20, p.total>>20, time.Since(p.start).Seconds(), end)
}
