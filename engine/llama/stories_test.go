package llama

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/lmgc/lmgc/internal/testenv"
	"math"
	"os"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/kernels"
)

// sharedPath returns path under the shared data directory (../shared next
// to the repository root), skipping the test when it is absent.
func sharedPath(t testing.TB, elem ...string) string {
	t.Helper()
	return testenv.Shared(t, elem...)
}

// storiesGGUF converts the llama2.c checkpoint stories260K.bin (a real,
// trained 260k-parameter llama model) into an in-memory GGUF file whose
// matrices have type typ.
func storiesGGUF(t testing.TB, path string, typ gguf.Type) *gguf.File {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var hdr [7]int32
	if err := binary.Read(bytes.NewReader(raw), binary.LittleEndian, &hdr); err != nil {
		t.Fatal(err)
	}
	dim, hidden, layers, heads, kvHeads, vocab, seqLen := int(hdr[0]), int(hdr[1]), int(hdr[2]), int(hdr[3]), int(hdr[4]), int(hdr[5]), int(hdr[6])
	shared := vocab > 0
	if vocab < 0 {
		vocab = -vocab
	}
	hd := dim / heads
	kvDim := kvHeads * hd
	floats := raw[28:]
	take := func(n int) []float32 {
		if len(floats) < 4*n {
			t.Fatalf("%s is truncated", path)
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(floats[4*i:]))
		}
		floats = floats[4*n:]
		return v
	}
	emb := take(vocab * dim)
	attNorm := take(layers * dim)
	wq, wk, wv, wo := take(layers*dim*dim), take(layers*dim*kvDim), take(layers*dim*kvDim), take(layers*dim*dim)
	ffnNorm := take(layers * dim)
	w1, w2, w3 := take(layers*hidden*dim), take(layers*dim*hidden), take(layers*hidden*dim)
	outNorm := take(dim)
	take(seqLen * hd) // freq_cis_real and freq_cis_imag
	var wcls []float32
	if !shared {
		wcls = take(vocab * dim)
	}

	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	w.AddKV("llama.context_length", uint32(seqLen))
	w.AddKV("llama.embedding_length", uint32(dim))
	w.AddKV("llama.block_count", uint32(layers))
	w.AddKV("llama.feed_forward_length", uint32(hidden))
	w.AddKV("llama.attention.head_count", uint32(heads))
	w.AddKV("llama.attention.head_count_kv", uint32(kvHeads))
	w.AddKV("llama.attention.layer_norm_rms_epsilon", float32(1e-5))
	add := func(name string, ty gguf.Type, v []float32, shape ...int64) {
		data, err := gguf.Quantize(ty, v, nil)
		if ty == gguf.F32 {
			data, err = nil, nil
			for _, x := range v {
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(x))
			}
		}
		if err == nil {
			err = w.AddTensor(name, ty, shape, data)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	add("token_embd.weight", typ, emb, int64(dim), int64(vocab))
	for l := 0; l < layers; l++ {
		b := fmt.Sprintf("blk.%d.", l)
		add(b+"attn_norm.weight", gguf.F32, attNorm[l*dim:(l+1)*dim], int64(dim))
		add(b+"attn_q.weight", typ, wq[l*dim*dim:(l+1)*dim*dim], int64(dim), int64(dim))
		add(b+"attn_k.weight", typ, wk[l*dim*kvDim:(l+1)*dim*kvDim], int64(dim), int64(kvDim))
		add(b+"attn_v.weight", typ, wv[l*dim*kvDim:(l+1)*dim*kvDim], int64(dim), int64(kvDim))
		add(b+"attn_output.weight", typ, wo[l*dim*dim:(l+1)*dim*dim], int64(dim), int64(dim))
		add(b+"ffn_norm.weight", gguf.F32, ffnNorm[l*dim:(l+1)*dim], int64(dim))
		add(b+"ffn_gate.weight", typ, w1[l*hidden*dim:(l+1)*hidden*dim], int64(dim), int64(hidden))
		add(b+"ffn_down.weight", typ, w2[l*dim*hidden:(l+1)*dim*hidden], int64(hidden), int64(dim))
		add(b+"ffn_up.weight", typ, w3[l*hidden*dim:(l+1)*hidden*dim], int64(dim), int64(hidden))
	}
	add("output_norm.weight", gguf.F32, outNorm, int64(dim))
	if wcls != nil {
		add("output.weight", typ, wcls, int64(dim), int64(vocab))
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// storyTokens is BOS followed by the bytes of the story opening that the
// model is documented to produce, as byte-fallback tokens (id 3 + byte).
func storyTokens() []int32 {
	toks := []int32{1}
	for _, b := range []byte("Once upon a time, there was a little girl named Lily.") {
		toks = append(toks, 3+int32(b))
	}
	return toks
}

// TestStories260K runs a real trained model: the engine agrees with the
// float64 reference, is deterministic across batch shapes and threads, and
// predicts English text far better than a uniform distribution.
func TestStories260K(t *testing.T) {
	path := sharedPath(t, "models", "stories260K.bin")
	toks := storyTokens()
	for _, typ := range []gguf.Type{gguf.F32, gguf.F16} {
		f := storiesGGUF(t, path, typ)
		m, err := Load(f, WithThreads(1))
		if err != nil {
			t.Fatal(err)
		}
		whole := forwardAll(t, m, toks, []int{len(toks)})
		want := newRefModel(t, f, m.Config()).forward(toks)
		var worst, scale float64
		for p := range want {
			for i, w := range want[p] {
				worst = math.Max(worst, math.Abs(float64(whole[p][i])-w))
				scale = math.Max(scale, math.Abs(w))
			}
		}
		t.Logf("%v: max |logit| %.3g, max error vs float64 %.3g", typ, scale, worst)
		if worst > 0.02*scale {
			t.Errorf("%v: max error %.3g vs float64, max |logit| %.3g", typ, worst, scale)
		}
		m4, err := Load(f, WithThreads(4))
		if err != nil {
			t.Fatal(err)
		}
		steps := forwardAll(t, m4, toks, []int{1, 3})
		for p := range whole {
			if i := sameBits(whole[p], steps[p]); i >= 0 {
				t.Fatalf("%v: position %d differs token by token with 4 threads", typ, p)
			}
		}
		// Greedy generation from BOS, one token at a time with the KV cache:
		// a trained model is confident about its own continuation (a random
		// one is not), and recomputing the generated window in one batch
		// gives the same bits.
		gen := []int32{1}
		st, err := m4.NewState(1, 41)
		if err != nil {
			t.Fatal(err)
		}
		var steps2 [][]float32
		var bits float64
		freq := make([]uint32, m.VocabSize())
		for len(gen) < 41 {
			lg := make([]float32, m.VocabSize())
			if err := st.Forward([]int{0}, gen[len(gen)-1:], [][]float32{lg}); err != nil {
				t.Fatal(err)
			}
			steps2 = append(steps2, lg)
			best := int32(0)
			for i, v := range lg {
				if v > lg[best] {
					best = int32(i)
				}
			}
			if err := kernels.Quantize(lg, 24, freq); err != nil {
				t.Fatal(err)
			}
			bits -= math.Log2(float64(freq[best]) / (1 << 24))
			gen = append(gen, best)
		}
		perTok := bits / 40
		t.Logf("%v: greedy continuation %v: %.2f bits per token (uniform: 9)", typ, gen[1:], perTok)
		if perTok > 2 {
			t.Errorf("%v: %.2f bits per greedy token: the model is not confident", typ, perTok)
		}
		again := forwardAll(t, m, gen[:40], []int{40})
		for p := range again {
			if i := sameBits(again[p], steps2[p]); i >= 0 {
				t.Fatalf("%v: generated position %d differs when recomputed as one batch", typ, p)
			}
		}
	}
}
