package modelgen

import (
	"fmt"
	"strings"

	"github.com/lmgc/lmgc/engine/gguf"
)

// BuildLike returns a Writer for the pretraining control of src: a model
// with src's metadata (architecture, hyper-parameters and tokenizer,
// copied pair for pair) and src's tensor names and shapes, whose weights
// are random. Only the weights differ, so a comparison of src with the
// control isolates what pretraining contributes.
//
// Weights are drawn like Build's (seeded by opts.Seed and the tensor
// name): token embeddings and the output projection with standard
// deviation logitStd/sqrt(width), other matrices matrixStd, norm weights
// 1 + normStd*N(0,1), biases biasStd. Types: tensors of a type gguf can
// quantize (F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q4_K, Q6_K: gguf.CanQuantize)
// keep their type; tensors of other quantized types (Q4_1, Q5_1, Q5_K,
// ...) are written as opts.Type (Q8_0 or F16), and only then does
// general.file_type say opts.Type instead of the source's. One-dimensional tensors that are
// neither norms nor biases (such as rope_freqs.weight) are not weights
// learnt from text in the usual sense and are copied unchanged.
func BuildLike(src *gguf.File, opts Options) (*gguf.Writer, error) {
	if opts.Type != gguf.Q8_0 && opts.Type != gguf.F16 {
		return nil, fmt.Errorf("modelgen: --like converts quantized tensors to q8_0 or f16, not %s", opts.Type)
	}
	arch, _ := src.String("general.architecture")
	if arch == "" {
		return nil, fmt.Errorf("modelgen: the model has no general.architecture")
	}
	w := gguf.NewWriter()
	for _, kv := range src.KV {
		w.AddKV(kv.Key, kv.Value)
	}
	name, _ := src.String("general.name")
	w.AddKV("general.name", strings.TrimSpace(name+" (random weights)"))
	w.AddKV("general.description", fmt.Sprintf("random weights (lmgc model gen --like, seed %d) with the metadata, tokenizer and tensor shapes of %q; not a trained model", opts.Seed, name))
	for i := range src.Tensors {
		if _, _, random := likeKind(&src.Tensors[i]); random && !gguf.CanQuantize(src.Tensors[i].Type) {
			w.AddKV("general.file_type", fileType[opts.Type]) // some tensors change type
			break
		}
	}
	for i := range src.Tensors {
		t := &src.Tensors[i]
		k, std, random := likeKind(t)
		if !random {
			data, err := src.TensorData(t)
			if err != nil {
				return nil, err
			}
			if err := w.AddTensor(t.Name, t.Type, t.Shape, data); err != nil {
				return nil, err
			}
			continue
		}
		typ := t.Type
		if !gguf.CanQuantize(typ) {
			typ = opts.Type
		}
		if n := t.Shape[0]; n%int64(typ.BlockSize()) != 0 {
			return nil, fmt.Errorf("modelgen: tensor %s: rows of %d do not fill %s blocks", t.Name, n, typ)
		}
		gen := tensorGen{name: t.Name, kind: k, std: std, seed: opts.Seed, typ: typ, n: t.Elements()}
		if err := w.AddTensorFunc(t.Name, typ, t.Shape, gen.fill); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// likeKind classifies a tensor of a real model by its llama.cpp name and
// shape: the kind of random weights it gets, their standard deviation,
// and whether it is replaced at all.
func likeKind(t *gguf.TensorInfo) (kind, float32, bool) {
	if len(t.Shape) == 1 {
		switch {
		case strings.HasSuffix(t.Name, ".bias"):
			return kindBias, biasStd, true
		case strings.Contains(t.Name, "norm"):
			return kindNorm, normStd, true
		}
		return 0, 0, false
	}
	if t.Name == "token_embd.weight" || t.Name == "output.weight" {
		return kindEmbed, float32(logitStd / sqrt64(float64(t.Shape[0]))), true
	}
	return kindMatrix, matrixStd, true
}

// GenerateLike writes BuildLike's model to path, as Generate does.
func GenerateLike(path string, src *gguf.File, opts Options) (int64, error) {
	w, err := BuildLike(src, opts)
	if err != nil {
		return 0, err
	}
	name, _ := src.String("general.name")
	return write(path, w, name+" (random)", opts)
}
