package llama

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// rng is a fixed xorshift generator, so test models never change with the
// Go version (math/rand's float algorithms may).
type rng uint64

func (r *rng) next() uint64 {
	*r ^= *r << 13
	*r ^= *r >> 7
	*r ^= *r << 17
	return uint64(*r)
}

// uniform returns a value in [-1, 1).
func (r *rng) uniform() float32 { return float32(int32(r.next()>>32)) / (1 << 31) }

func (r *rng) vec(n int, scale, offset float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = offset + float32(scale*r.uniform()) // explicit rounding: no FMA
	}
	return v
}

// tinySpec is the shape of a random test model.
type tinySpec struct {
	arch                        string
	dim, layers, heads, kvHeads int
	ff, vocab                   int
	wtype                       gguf.Type
	tied                        bool
	seed                        uint64
	skip                        string             // a tensor to leave out
	mutate                      func(*gguf.Writer) // a last change to the metadata
}

func tiny(arch string, wtype gguf.Type) tinySpec {
	return tinySpec{arch: arch, dim: 64, layers: 2, heads: 4, kvHeads: 2, ff: 96, vocab: 300, wtype: wtype, seed: 1}
}

// buildModel writes a random-weight GGUF model to memory and parses it.
// The weights are uniform with a scale that keeps activations lively; the
// norm weights are near 1.
func buildModel(t testing.TB, s tinySpec) *gguf.File {
	t.Helper()
	raw := buildModelBytes(t, s)
	f, err := gguf.Parse(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// buildModelBytes returns the GGUF file of buildModel.
func buildModelBytes(t testing.TB, s tinySpec) []byte {
	t.Helper()
	r := rng(s.seed*0x9e3779b97f4a7c15 + 12345)
	w := gguf.NewWriter()
	p := s.arch + "."
	w.AddKV("general.architecture", s.arch)
	w.AddKV("general.name", "lmgc test "+s.arch)
	w.AddKV(p+"context_length", uint32(256))
	w.AddKV(p+"embedding_length", uint32(s.dim))
	w.AddKV(p+"block_count", uint32(s.layers))
	w.AddKV(p+"feed_forward_length", uint32(s.ff))
	w.AddKV(p+"attention.head_count", uint32(s.heads))
	w.AddKV(p+"attention.head_count_kv", uint32(s.kvHeads))
	w.AddKV(p+"attention.layer_norm_rms_epsilon", float32(1e-5))
	w.AddKV(p+"rope.freq_base", float32(10000))
	hd := s.dim / s.heads
	gemma := s.arch == "gemma3"
	if gemma {
		// Heads twice as wide as dim/heads, a window of 5 on layer 0
		// (layer 1 global).
		hd *= 2
		w.AddKV(p+"attention.key_length", uint32(hd))
		w.AddKV(p+"attention.value_length", uint32(hd))
		w.AddKV(p+"attention.sliding_window", uint32(5))
		w.AddKV(p+"attention.sliding_window_pattern", uint32(2))
	}
	w.AddKV(p+"rope.dimension_count", uint32(hd))
	// A dummy tokenizer: the engine does not read it.
	toks := make([]string, s.vocab)
	for i := range toks {
		toks[i] = fmt.Sprintf("<t%d>", i)
	}
	w.AddKV("tokenizer.ggml.model", "llama")
	w.AddKV("tokenizer.ggml.tokens", toks)

	add := func(name string, typ gguf.Type, shape []int64, vals []float32) {
		data, err := gguf.Quantize(typ, vals, nil)
		if typ == gguf.F32 {
			data, err = make([]byte, 4*len(vals)), nil
			for i, v := range vals {
				binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == s.skip {
			return
		}
		if err := w.AddTensor(name, typ, shape, data); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	mat := func(name string, rows, cols int) {
		add(name, s.wtype, []int64{int64(cols), int64(rows)}, r.vec(rows*cols, 1.7/float32(math.Sqrt(float64(cols))), 0))
	}
	norm := func(name string, n int) { add(name, gguf.F32, []int64{int64(n)}, r.vec(n, 0.2, 1)) }
	bias := func(name string, n int) { add(name, gguf.F32, []int64{int64(n)}, r.vec(n, 0.5, 0)) }

	qDim, kvDim := s.heads*hd, s.kvHeads*hd
	add("token_embd.weight", s.wtype, []int64{int64(s.dim), int64(s.vocab)}, r.vec(s.vocab*s.dim, 1, 0))
	for l := 0; l < s.layers; l++ {
		b := fmt.Sprintf("blk.%d.", l)
		norm(b+"attn_norm.weight", s.dim)
		mat(b+"attn_q.weight", qDim, s.dim)
		mat(b+"attn_k.weight", kvDim, s.dim)
		mat(b+"attn_v.weight", kvDim, s.dim)
		if s.arch == "qwen2" {
			bias(b+"attn_q.bias", qDim)
			bias(b+"attn_k.bias", kvDim)
			bias(b+"attn_v.bias", kvDim)
		}
		mat(b+"attn_output.weight", s.dim, qDim)
		if gemma {
			norm(b+"attn_q_norm.weight", hd)
			norm(b+"attn_k_norm.weight", hd)
			norm(b+"post_attention_norm.weight", s.dim)
			norm(b+"post_ffw_norm.weight", s.dim)
		}
		norm(b+"ffn_norm.weight", s.dim)
		mat(b+"ffn_gate.weight", s.ff, s.dim)
		mat(b+"ffn_up.weight", s.ff, s.dim)
		mat(b+"ffn_down.weight", s.dim, s.ff)
	}
	norm("output_norm.weight", s.dim)
	if !s.tied {
		mat("output.weight", s.vocab, s.dim)
	}
	if s.mutate != nil {
		s.mutate(w)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func loadTiny(t testing.TB, s tinySpec, opts ...Option) *Model {
	t.Helper()
	m, err := Load(buildModel(t, s), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// tokenWindow returns n token ids from a fixed recurrence.
func tokenWindow(seed uint64, n, vocab int) []int32 {
	r := rng(seed*7919 + 1)
	toks := make([]int32, n)
	for i := range toks {
		toks[i] = int32(r.next() % uint64(vocab))
	}
	return toks
}

// forwardAll evaluates toks as sequence 0 of a fresh state in chunks of
// the given sizes (cycled) and returns the logits of every position.
func forwardAll(t testing.TB, m *Model, toks []int32, chunks []int) [][]float32 {
	t.Helper()
	st, err := m.NewState(1, len(toks))
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(toks))
	for i := range out {
		out[i] = make([]float32, m.VocabSize())
	}
	for i, c := 0, 0; i < len(toks); c++ {
		n := min(chunks[c%len(chunks)], len(toks)-i)
		seqs := make([]int, n)
		if err := st.Forward(seqs, toks[i:i+n], out[i:i+n]); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	return out
}

func sameBits(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

var testTypes = []gguf.Type{gguf.F32, gguf.F16, gguf.BF16, gguf.Q8_0, gguf.Q4_0, gguf.Q5_0}

// TestDeterminism checks the contract: the logits of a window are
// bit-identical whole-window, token by token, in uneven chunks,
// interleaved with other sequences in one batch, with 1, 2, 3 or 4 threads,
// and with or without the weights packed for the panel kernels, for every
// architecture and weight type.
func TestDeterminism(t *testing.T) {
	const n = 20
	// Split the per-position steps across threads even for these small
	// calls (else only the kernels' own splits run in parallel).
	defer func(v int) { parMinElems = v }(parMinElems)
	parMinElems = 1
	for _, arch := range []string{"llama", "qwen2", "gemma3"} {
		for _, typ := range testTypes {
			t.Run(arch+"/"+typ.String(), func(t *testing.T) {
				spec := tiny(arch, typ)
				m1 := loadTiny(t, spec, WithThreads(1))
				toks := tokenWindow(1, n, spec.vocab)
				ref := forwardAll(t, m1, toks, []int{n})
				check := func(what string, got [][]float32) {
					t.Helper()
					for p := range ref {
						if i := sameBits(ref[p], got[p]); i >= 0 {
							t.Fatalf("%s: position %d logit %d = %g, whole window %g", what, p, i, got[p][i], ref[p][i])
						}
					}
				}
				check("token by token", forwardAll(t, m1, toks, []int{1}))
				check("chunks 3,7,1,5", forwardAll(t, m1, toks, []int{3, 7, 1, 5}))
				for _, th := range []int{2, 3, 4} {
					mt := loadTiny(t, spec, WithThreads(th))
					check(fmt.Sprintf("%d threads", th), forwardAll(t, mt, toks, []int{n}))
					check(fmt.Sprintf("%d threads, chunks", th), forwardAll(t, mt, toks, []int{2, 9}))
				}
				check("interleaved", interleaved(t, m1, toks))
				// The row-by-row kernels (weights not packed) give the same bits
				// as the panel kernels where those are installed.
				mr := loadTiny(t, spec, WithThreads(2), withoutPacking())
				check("row kernels", forwardAll(t, mr, toks, []int{n}))
				check("row kernels, chunks", forwardAll(t, mr, toks, []int{1, 6, 13}))
			})
		}
	}
}

// interleaved runs toks as sequence 1 of a 3-sequence state, side by side
// with two other windows, in batches that mix the sequences, several
// positions of one sequence per batch, and a reset sequence reused.
func interleaved(t *testing.T, m *Model, toks []int32) [][]float32 {
	st, err := m.NewState(3, len(toks)+8)
	if err != nil {
		t.Fatal(err)
	}
	other0 := tokenWindow(2, len(toks)+8, m.VocabSize())
	other2 := tokenWindow(3, len(toks), m.VocabSize())
	// Fill sequence 1 with junk first, then reset it.
	junk := make([][]float32, 4)
	if err := st.Forward([]int{1, 1, 1, 1}, []int32{5, 6, 7, 8}, junk); err != nil {
		t.Fatal(err)
	}
	st.Reset(1)
	out := make([][]float32, len(toks))
	r := rng(99)
	i, j0, j2 := 0, 0, 0
	for i < len(toks) {
		var seqs []int
		var tk []int32
		var lg [][]float32
		for k := 0; k < 1+int(r.next()%3); k++ {
			if j0 < len(other0) {
				seqs, tk, lg = append(seqs, 0), append(tk, other0[j0]), append(lg, make([]float32, m.VocabSize()))
				j0++
			}
		}
		for k := 0; k < 1+int(r.next()%4) && i < len(toks); k++ {
			out[i] = make([]float32, m.VocabSize())
			seqs, tk, lg = append(seqs, 1), append(tk, toks[i]), append(lg, out[i])
			i++
		}
		if j2 < len(other2) {
			seqs, tk, lg = append(seqs, 2), append(tk, other2[j2]), append(lg, nil)
			j2++
		}
		if err := st.Forward(seqs, tk, lg); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestForwardErrors(t *testing.T) {
	m := loadTiny(t, tiny("llama", gguf.F32))
	st, err := m.NewState(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	v := m.VocabSize()
	lg := func(n int) [][]float32 {
		out := make([][]float32, n)
		for i := range out {
			out[i] = make([]float32, v)
		}
		return out
	}
	cases := []struct {
		name   string
		seqs   []int
		toks   []int32
		logits [][]float32
	}{
		{"length mismatch", []int{0}, []int32{1, 2}, lg(2)},
		{"bad sequence", []int{2}, []int32{1}, lg(1)},
		{"negative sequence", []int{-1}, []int32{1}, lg(1)},
		{"bad token", []int{0}, []int32{int32(v)}, lg(1)},
		{"negative token", []int{0}, []int32{-1}, lg(1)},
		{"short logits", []int{0}, []int32{1}, [][]float32{make([]float32, v-1)}},
		{"overflow", []int{0, 0, 0, 0, 0}, []int32{1, 2, 3, 4, 5}, lg(5)},
	}
	for _, c := range cases {
		if err := st.Forward(c.seqs, c.toks, c.logits); err == nil {
			t.Errorf("%s: no error", c.name)
		}
		if st.Len(0) != 0 || st.Len(1) != 0 {
			t.Fatalf("%s: a failed Forward changed the state", c.name)
		}
	}
	if _, err := m.NewState(0, 5); err == nil {
		t.Error("NewState(0, 5): no error")
	}
	if _, err := m.NewState(1, 0); err == nil {
		t.Error("NewState(1, 0): no error")
	}
	if _, err := m.NewState(1<<30, 1<<30); err == nil {
		t.Error("NewState(2^30, 2^30): no error")
	}
}

// TestSelectOutputs checks that the logits of chosen output rows are those
// of the full projection bit for bit, whatever the tied or untied output,
// weight type, batch shape and threads, and that bad rows are refused.
func TestSelectOutputs(t *testing.T) {
	const n = 12
	rows := []int32{7, 0, 299, 42, 42, 150}
	for _, typ := range testTypes {
		for _, tied := range []bool{false, true} {
			spec := tiny("llama", typ)
			spec.tied = tied
			m := loadTiny(t, spec, WithThreads(2))
			toks := tokenWindow(4, n, spec.vocab)
			ref := forwardAll(t, m, toks, []int{n})
			for _, chunk := range []int{n, 1, 5} {
				st, err := m.NewState(1, n)
				if err != nil {
					t.Fatal(err)
				}
				if err := st.SelectOutputs(rows); err != nil {
					t.Fatal(err)
				}
				for p0 := 0; p0 < n; p0 += chunk {
					p1 := min(n, p0+chunk)
					seqs := make([]int, p1-p0)
					lg := make([][]float32, p1-p0)
					for i := range lg {
						if (p0+i)%3 != 1 { // some positions skip the projection
							lg[i] = make([]float32, len(rows))
						}
					}
					if err := st.Forward(seqs, toks[p0:p1], lg); err != nil {
						t.Fatal(err)
					}
					for i, l := range lg {
						for j, r := range rows {
							if l != nil && math.Float32bits(l[j]) != math.Float32bits(ref[p0+i][r]) {
								t.Fatalf("%v tied=%v chunk %d: position %d row %d: %g, full %g", typ, tied, chunk, p0+i, r, l[j], ref[p0+i][r])
							}
						}
					}
				}
			}
		}
	}
	m := loadTiny(t, tiny("llama", gguf.F32))
	st, _ := m.NewState(1, 4)
	for _, bad := range [][]int32{{}, {-1}, {300}} {
		if err := st.SelectOutputs(bad); err == nil {
			t.Errorf("SelectOutputs(%v): no error", bad)
		}
	}
	if err := st.SelectOutputs([]int32{3}); err != nil {
		t.Fatal(err)
	}
	if err := st.Forward([]int{0}, []int32{1}, [][]float32{make([]float32, 0)}); err == nil {
		t.Error("short logits for the selected rows: no error")
	}
	if err := st.SelectOutputs(nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Forward([]int{0}, []int32{1}, [][]float32{make([]float32, 1)}); err == nil {
		t.Error("after SelectOutputs(nil), a short logits slice: no error")
	}
}
