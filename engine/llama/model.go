// Package llama runs llama-style decoder-only transformers (the llama,
// qwen2 and gemma3 GGUF architectures) deterministically: for a window of tokens the
// logits are bit-identical whether it is evaluated as one batch, token by
// token with the KV cache, side by side with other sequences, with any
// number of threads, on any machine. All arithmetic goes through package
// kernels; docs/DETERMINISM.md states the contract and every order of
// operations.
//
// The numerics follow llama.cpp's CPU backend where it is deterministic:
// activations are rounded to the weight type's dot type (F16, BF16, Q8_0)
// before each matrix product, the KV cache is F16, and the attention
// probabilities are rounded to F16 before they weight the values.
package llama

import (
	"fmt"
	"runtime"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/kernels"
)

// Model is a loaded model. Its weights stay memory-mapped where the file's
// type is F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q4_K or Q6_K (each with
// its own integer dot kernel, as llama.cpp's CPU backend); other quantized
// types (Q5_1, Q5_K, ...) are converted to Q8_0 in memory at load time. A Model is safe
// for concurrent use by several States.
type Model struct {
	cfg      Config
	threads  int
	tokEmbd  *kernels.Matrix
	layers   []layer
	outNorm  []float32
	output   *kernels.Matrix
	kqScale  float32
	gqaRatio int
	noPack   bool // withoutPacking: leave the weights in the file's layout
}

type layer struct {
	attnNorm, ffnNorm []float32
	wq, wk, wv, wo    *kernels.Matrix
	bq, bk, bv        []float32
	wGate, wUp, wDown *kernels.Matrix

	qNorm, kNorm             []float32 // Config.QKNorm: per-head RMSNorm weights
	postAttnNorm, postFFNorm []float32 // Config.PostNorms
}

// Option configures Load.
type Option func(*Model)

// WithThreads sets the number of goroutines a forward pass uses (default
// GOMAXPROCS). The results do not depend on it.
func WithThreads(n int) Option {
	return func(m *Model) {
		if n >= 1 {
			m.threads = n
		}
	}
}

// withoutPacking makes Load keep every weight matrix in the file's layout
// (kernels.Matrix.Pack not called), so that MatMul takes its row-by-row
// path: for tests and benchmarks that compare the two paths.
func withoutPacking() Option { return func(m *Model) { m.noPack = true } }

// Load builds a Model from a GGUF file. The file must stay open (not
// Closed) while the Model is used, since the weights are read from its
// memory mapping.
func Load(f *gguf.File, opts ...Option) (*Model, error) {
	name := f.Architecture()
	a, err := lookupArch(name)
	if err != nil {
		return nil, err
	}
	cfg, err := readConfig(f, a, name)
	if err != nil {
		return nil, err
	}
	if cfg.Layers > len(f.Tensors) {
		return nil, fmt.Errorf("llama: %d layers but only %d tensors", cfg.Layers, len(f.Tensors))
	}
	m := &Model{threads: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(m)
	}
	l := loader{f: f, pack: !m.noPack}
	_, untied := f.Tensor("output.weight")
	// The embedding is read a row at a time (Row, from the mapping); only a
	// tied output multiplies by it, so only then is it laid out in panels
	// (an untied one packed is a heap copy nothing reads: TinyLlama's is
	// 37-70 MB).
	l.pack = !m.noPack && !untied
	m.tokEmbd = l.matrix("token_embd.weight", -1, cfg.Dim)
	l.pack = !m.noPack
	if m.tokEmbd != nil {
		cfg.Vocab = m.tokEmbd.Rows
	}
	m.outNorm = l.vector("output_norm.weight", cfg.Dim)
	if untied {
		m.output = l.matrix("output.weight", cfg.Vocab, cfg.Dim)
	} else {
		cfg.TiedOutput = true
		m.output = m.tokEmbd
	}
	qDim, kvDim := cfg.Heads*cfg.HeadDim, cfg.KVHeads*cfg.HeadDim
	m.layers = make([]layer, cfg.Layers)
	for i := range m.layers {
		if l.err != nil {
			break
		}
		b := fmt.Sprintf("blk.%d.", i)
		ly := &m.layers[i]
		ly.attnNorm = l.vector(b+"attn_norm.weight", cfg.Dim)
		ly.wq = l.matrix(b+"attn_q.weight", qDim, cfg.Dim)
		ly.wk = l.matrix(b+"attn_k.weight", kvDim, cfg.Dim)
		ly.wv = l.matrix(b+"attn_v.weight", kvDim, cfg.Dim)
		ly.wo = l.matrix(b+"attn_output.weight", cfg.Dim, qDim)
		if cfg.QKVBias {
			ly.bq = l.vector(b+"attn_q.bias", qDim)
			ly.bk = l.vector(b+"attn_k.bias", kvDim)
			ly.bv = l.vector(b+"attn_v.bias", kvDim)
		}
		if cfg.QKNorm {
			ly.qNorm = l.vector(b+"attn_q_norm.weight", cfg.HeadDim)
			ly.kNorm = l.vector(b+"attn_k_norm.weight", cfg.HeadDim)
		}
		if cfg.PostNorms {
			ly.postAttnNorm = l.vector(b+"post_attention_norm.weight", cfg.Dim)
			ly.postFFNorm = l.vector(b+"post_ffw_norm.weight", cfg.Dim)
		}
		ly.ffnNorm = l.vector(b+"ffn_norm.weight", cfg.Dim)
		ly.wGate = l.matrix(b+"ffn_gate.weight", cfg.FFDim, cfg.Dim)
		ly.wUp = l.matrix(b+"ffn_up.weight", cfg.FFDim, cfg.Dim)
		ly.wDown = l.matrix(b+"ffn_down.weight", cfg.Dim, cfg.FFDim)
	}
	if l.err != nil {
		return nil, l.err
	}
	m.cfg = cfg
	m.gqaRatio = cfg.Heads / cfg.KVHeads
	// As llama.cpp: 1/sqrtf(head_dim); sqrt is exact IEEE in every Go port.
	// Architectures that scale Q instead (gemma3) leave the scores as they
	// are (a multiplication by 1).
	m.kqScale = 1 / sqrt32(float32(cfg.HeadDim))
	if cfg.QueryScale != 0 {
		m.kqScale = 1
	}
	return m, nil
}

// Config returns the model's hyper-parameters.
func (m *Model) Config() Config { return m.cfg }

// VocabSize returns the number of logits per position.
func (m *Model) VocabSize() int { return m.cfg.Vocab }

// loader reads tensors, remembering the first error.
type loader struct {
	f    *gguf.File
	pack bool // lay matrices out for the installed panel kernels
	err  error
}

func (l *loader) fail(format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf("llama: "+format, args...)
	}
}

func (l *loader) tensor(name string) (*gguf.TensorInfo, []byte) {
	if l.err != nil {
		return nil, nil
	}
	t, ok := l.f.Tensor(name)
	if !ok {
		l.fail("missing tensor %s", name)
		return nil, nil
	}
	data, err := l.f.TensorData(t)
	if err != nil {
		l.fail("tensor %s: %v", name, err)
		return nil, nil
	}
	return t, data
}

// vector returns a 1-D tensor of n elements as float32.
func (l *loader) vector(name string, n int) []float32 {
	t, data := l.tensor(name)
	if t == nil {
		return nil
	}
	if len(t.Shape) != 1 || t.Shape[0] != int64(n) {
		l.fail("tensor %s has shape %v, want [%d]", name, t.Shape, n)
		return nil
	}
	v := make([]float32, n)
	if err := gguf.Dequantize(t.Type, data, int64(n), v); err != nil {
		l.fail("tensor %s: %v", name, err)
		return nil
	}
	return v
}

// matrix returns a 2-D tensor of rows x cols (ggml shape [cols, rows]);
// rows < 0 accepts any number of rows.
func (l *loader) matrix(name string, rows, cols int) *kernels.Matrix {
	t, data := l.tensor(name)
	if t == nil {
		return nil
	}
	if len(t.Shape) != 2 || t.Shape[0] != int64(cols) || (rows >= 0 && t.Shape[1] != int64(rows)) ||
		t.Shape[1] <= 0 || t.Shape[1] > maxDim {
		want := fmt.Sprintf("[%d, %d]", cols, rows)
		if rows < 0 {
			want = fmt.Sprintf("[%d, n]", cols)
		}
		l.fail("tensor %s has shape %v, want %s", name, t.Shape, want)
		return nil
	}
	r := int(t.Shape[1])
	typ, native := nativeTypes[t.Type]
	if !native {
		data = l.toQ8(t, data, r, cols)
		typ = kernels.Q8_0
	}
	if l.err != nil {
		return nil
	}
	mat, err := kernels.NewMatrix(typ, r, cols, data)
	if err != nil {
		l.fail("tensor %s: %v", name, err)
		return nil
	}
	// Weights converted to Q8_0 above live on the heap, where a packed
	// copy would double them: they keep the row-by-row kernels.
	if l.pack && native && mat.Pack() {
		// MatMul now reads the packed copy; the mapped source is read
		// only by Row (embedding lookups), a page at a time.
		l.f.DropPages(data)
	}
	return mat
}

// toQ8 converts a tensor of another quantized type to Q8_0, a few rows at
// a time: Dequantize, then gguf.Quantize's Q8_0 (llama.cpp's reference
// quantizer quantize_row_q8_0_ref).
func (l *loader) toQ8(t *gguf.TensorInfo, data []byte, rows, cols int) []byte {
	if !gguf.CanDequantize(t.Type) {
		l.fail("tensor %s has unsupported type %v", t.Name, t.Type)
		return nil
	}
	if cols%kernels.BlockQ8Len != 0 {
		l.fail("tensor %s: row length %d is not a multiple of 32", t.Name, cols)
		return nil
	}
	inRow, err := t.Type.RowBytes(int64(cols))
	if err != nil || inRow*int64(rows) != int64(len(data)) {
		l.fail("tensor %s: %d bytes for %d rows of %d %v", t.Name, len(data), rows, cols, t.Type)
		return nil
	}
	const chunk = 64
	out := make([]byte, 0, rows*(cols/kernels.BlockQ8Len*kernels.BlockQ8Size))
	buf := make([]float32, chunk*cols)
	for r := 0; r < rows; r += chunk {
		n := min(chunk, rows-r)
		src := data[int64(r)*inRow : int64(r+n)*inRow]
		if err := gguf.Dequantize(t.Type, src, int64(n*cols), buf); err != nil {
			l.fail("tensor %s: %v", t.Name, err)
			return nil
		}
		out, err = gguf.Quantize(gguf.Q8_0, buf[:n*cols], out)
		if err != nil {
			l.fail("tensor %s: %v", t.Name, err)
			return nil
		}
	}
	return out
}

// nativeTypes maps the GGUF weight types the kernels multiply as they are
// stored to their kernel types; any other type is converted to Q8_0 at
// load.
var nativeTypes = map[gguf.Type]kernels.Type{
	gguf.F32: kernels.F32, gguf.F16: kernels.F16, gguf.BF16: kernels.BF16,
	gguf.Q8_0: kernels.Q8_0, gguf.Q4_0: kernels.Q4_0, gguf.Q4_1: kernels.Q4_1,
	gguf.Q5_0: kernels.Q5_0, gguf.Q4_K: kernels.Q4_K, gguf.Q6_K: kernels.Q6_K,
}
