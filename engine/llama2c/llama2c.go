// Package llama2c reads checkpoints in the format of Andrej Karpathy's
// llama2.c (the legacy "version 0" export read by run.c) and converts them to
// GGUF files that llama.cpp and lmgc's engine load as architecture "llama".
//
// A checkpoint is a header of seven little-endian int32 values
//
//	dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//
// followed by float32 weights in run.c's order (memory_map_weights):
// token_embedding[vocab][dim], rms_att[layer][dim], wq[layer][dim][dim],
// wk[layer][kv_dim][dim], wv[layer][kv_dim][dim], wo[layer][dim][dim],
// rms_ffn[layer][dim], w1[layer][hidden][dim], w2[layer][dim][hidden],
// w3[layer][hidden][dim], rms_final[dim], two unused RoPE tables of
// seq_len*head_size/2 floats each, and, only when vocab_size is negative, a
// separate classifier wcls[vocab][dim]. Matrices are stored with one output
// row after another, which is ggml's layout for a tensor of shape
// [in, out], so the bytes go to the GGUF file unchanged.
//
// llama2.c's run.c applies RoPE to interleaved pairs (x[2i], x[2i+1]), as
// Meta's original Llama code does and as llama.cpp's "llama" architecture
// (LLAMA_ROPE_TYPE_NORM) does; llama2.c's exporter already undoes the
// Hugging Face permutation. The query and key rows are therefore written
// unpermuted (the package tests check this against a port of run.c).
package llama2c

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Config is the checkpoint header.
type Config struct {
	Dim       int // model width
	HiddenDim int // feed-forward width
	NLayers   int
	NHeads    int
	NKVHeads  int
	VocabSize int // always positive here; see SharedClassifier
	SeqLen    int // maximum context length

	// SharedClassifier reports whether the output projection is the token
	// embedding (a positive vocab_size in the header).
	SharedClassifier bool
}

// HeadSize returns Dim / NHeads.
func (c Config) HeadSize() int { return c.Dim / c.NHeads }

// KVDim returns the width of the key and value projections.
func (c Config) KVDim() int { return c.NKVHeads * c.HeadSize() }

const headerSize = 7 * 4

// maxFloats bounds the size a header may claim (16 Gi floats, 64 GiB), so
// that size arithmetic cannot overflow.
const maxFloats = 1 << 34

// Layer holds the weights of one transformer block, each as a row-major
// matrix with one output row after another.
type Layer struct {
	RMSAtt []float32 // [dim]
	WQ     []float32 // [dim][dim]
	WK     []float32 // [kv_dim][dim]
	WV     []float32 // [kv_dim][dim]
	WO     []float32 // [dim][dim]
	RMSFFN []float32 // [dim]
	W1     []float32 // [hidden][dim], the gate
	W2     []float32 // [dim][hidden], the down projection
	W3     []float32 // [hidden][dim], the up projection
}

// Checkpoint is a parsed llama2.c checkpoint.
type Checkpoint struct {
	Config
	TokenEmbedding []float32 // [vocab][dim]
	Layers         []Layer
	RMSFinal       []float32 // [dim]
	WCls           []float32 // [vocab][dim]; nil when SharedClassifier
}

// parseHeader validates the header and returns the configuration and the
// number of float32 values that must follow it.
func parseHeader(h []byte) (Config, int64, error) {
	var v [7]int32
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(h[4*i:]))
	}
	c := Config{
		Dim: int(v[0]), HiddenDim: int(v[1]), NLayers: int(v[2]), NHeads: int(v[3]),
		NKVHeads: int(v[4]), VocabSize: int(v[5]), SeqLen: int(v[6]),
		SharedClassifier: v[5] > 0,
	}
	if c.VocabSize < 0 {
		c.VocabSize = -c.VocabSize
	}
	names := [...]string{"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"}
	for i, x := range []int{c.Dim, c.HiddenDim, c.NLayers, c.NHeads, c.NKVHeads, c.VocabSize, c.SeqLen} {
		if x <= 0 || x > 1<<24 {
			return c, 0, fmt.Errorf("llama2c: header %s = %d is out of range", names[i], v[i])
		}
	}
	if c.Dim%c.NHeads != 0 {
		return c, 0, fmt.Errorf("llama2c: dim %d is not a multiple of n_heads %d", c.Dim, c.NHeads)
	}
	if c.NKVHeads > c.NHeads || c.NHeads%c.NKVHeads != 0 {
		return c, 0, fmt.Errorf("llama2c: n_heads %d is not a multiple of n_kv_heads %d", c.NHeads, c.NKVHeads)
	}
	if c.HeadSize()%2 != 0 {
		return c, 0, fmt.Errorf("llama2c: head size %d is odd; RoPE needs pairs", c.HeadSize())
	}
	// Every header value is below 2^24, so each product of two fits easily
	// in an int64, and so does n_layers times a per-layer count that was
	// checked against maxFloats first.
	d, hd, kv, vd := int64(c.Dim), int64(c.HiddenDim), int64(c.KVDim()), int64(c.VocabSize)
	perLayer := 2*d + 2*d*d + 2*kv*d + 3*d*hd
	n := vd*d + d + int64(c.SeqLen)*int64(c.HeadSize())
	if !c.SharedClassifier {
		n += vd * d
	}
	if perLayer > maxFloats || n > maxFloats || n+int64(c.NLayers)*perLayer > maxFloats {
		return c, 0, fmt.Errorf("llama2c: header claims more than %d weights", int64(maxFloats))
	}
	n += int64(c.NLayers) * perLayer
	return c, n, nil
}

// Read parses a whole checkpoint from r. It reads only as much as the header
// says the file holds, plus one byte to check that nothing follows, and
// allocates in proportion to the bytes actually read, never to the header's
// claim.
func Read(r io.Reader) (*Checkpoint, error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("llama2c: file shorter than the %d-byte header", headerSize)
		}
		return nil, fmt.Errorf("llama2c: reading header: %w", err)
	}
	cfg, nFloats, err := parseHeader(h[:])
	if err != nil {
		return nil, err
	}
	want := 4 * nFloats
	data, err := io.ReadAll(io.LimitReader(r, want+1))
	if err != nil {
		return nil, fmt.Errorf("llama2c: reading weights: %w", err)
	}
	if int64(len(data)) != want {
		if int64(len(data)) > want {
			return nil, fmt.Errorf("llama2c: trailing data after the %d weights the header describes", nFloats)
		}
		return nil, fmt.Errorf("llama2c: the header describes %d bytes of weights but the file holds %d", want, len(data))
	}
	return parseWeights(cfg, data)
}

func parseWeights(c Config, data []byte) (*Checkpoint, error) {
	f := make([]float32, len(data)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	take := func(n int) []float32 {
		s := f[:n:n]
		f = f[n:]
		return s
	}
	d, hd, kv, L := c.Dim, c.HiddenDim, c.KVDim(), c.NLayers
	ck := &Checkpoint{Config: c, Layers: make([]Layer, L)}
	ck.TokenEmbedding = take(c.VocabSize * d)
	// llama2.c stores each weight kind for all layers before the next kind.
	for _, w := range []struct {
		field func(*Layer) *[]float32
		n     int
	}{
		{func(l *Layer) *[]float32 { return &l.RMSAtt }, d},
		{func(l *Layer) *[]float32 { return &l.WQ }, d * d},
		{func(l *Layer) *[]float32 { return &l.WK }, kv * d},
		{func(l *Layer) *[]float32 { return &l.WV }, kv * d},
		{func(l *Layer) *[]float32 { return &l.WO }, d * d},
		{func(l *Layer) *[]float32 { return &l.RMSFFN }, d},
		{func(l *Layer) *[]float32 { return &l.W1 }, hd * d},
		{func(l *Layer) *[]float32 { return &l.W2 }, d * hd},
		{func(l *Layer) *[]float32 { return &l.W3 }, hd * d},
	} {
		for i := range L {
			*w.field(&ck.Layers[i]) = take(w.n)
		}
	}
	ck.RMSFinal = take(d)
	take(c.SeqLen * c.HeadSize()) // freq_cis_real and freq_cis_imag, unused
	if !c.SharedClassifier {
		ck.WCls = take(c.VocabSize * d)
	}
	if len(f) != 0 {
		return nil, fmt.Errorf("llama2c: internal error: %d weights left over", len(f))
	}
	return ck, nil
}

// Classifier returns the output projection [vocab][dim]: WCls, or the token
// embedding when the classifier is shared.
func (c *Checkpoint) Classifier() []float32 {
	if c.SharedClassifier {
		return c.TokenEmbedding
	}
	return c.WCls
}
