package llamacpp

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
	"github.com/lmgc/lmgc/engine/llama2c"
)

// Tiny random models of the architectures the engine supports, written
// here with gguf.Writer so that this package depends on no model generator.
// Their weights are stored in f32, f16 or q8_0 (norms and biases stay f32,
// as in real files); tiny keeps the dequantized weights, which both
// llama.cpp and our engine must use, for the float64 reference below.

type tinySpec struct {
	// "llama" (interleaved RoPE, tied output), "qwen2" (NEOX RoPE, q/k/v
	// biases, separate output) or "gemma3" (see buildTiny).
	arch string
	typ  gguf.Type
}

func (s tinySpec) String() string { return s.arch + "-" + s.typ.String() }

const (
	tinyDim    = 64
	tinyHidden = 128
	tinyLayers = 2
	tinyHeads  = 4
	tinyKV     = 2
	tinyHead   = tinyDim / tinyHeads
	tinyKVDim  = tinyKV * tinyHead
	tinyVocab  = 320
	tinyCtx    = 512
)

type tinyLayer struct {
	attnNorm, ffnNorm []float32
	wq, wk, wv, wo    []float32 // [out][in]
	bq, bk, bv        []float32 // nil for llama
	gate, up, down    []float32

	qNorm, kNorm      []float32 // gemma3
	postAttn, postFFN []float32 // gemma3
}

type tiny struct {
	spec      tinySpec
	eps, base float32
	// hd is the head width; qDim, kvDim the widths of Q and of K and V.
	hd, qDim, kvDim int
	// gemma3: the sliding window (layer 0; layer 1 is global), its RoPE
	// base and the query scale.
	window  int
	baseSWA float32
	qScale  float32
	emb     []float32 // [vocab][dim]
	out     []float32 // [vocab][dim]; the embedding when tied
	norm    []float32
	layers  []tinyLayer
}

// f32ToF16 rounds to the nearest half (ties to even), as ggml does.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	man := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000:
		return sign | 0x7e00
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		man |= 0x800000
		shift := uint(14 - exp)
		h := man >> shift
		rem := man & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++ // may carry into the exponent, up to infinity: correct
	}
	return sign | uint16(h)
}

func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h >> 10 & 0x1f)
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		return math.Float32frombits(sign) + float32(man)*float32(math.Ldexp(1, -24))*sign1(sign)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

func sign1(s uint32) float32 {
	if s != 0 {
		return -1
	}
	return 1
}

// encode stores x as typ and replaces x by the values the file holds.
func encode(x []float32, typ gguf.Type) []byte {
	var b []byte
	switch typ {
	case gguf.F32:
		for _, v := range x {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	case gguf.F16:
		for i, v := range x {
			h := f32ToF16(v)
			b = binary.LittleEndian.AppendUint16(b, h)
			x[i] = f16ToF32(h)
		}
	case gguf.Q8_0: // ggml's quantize_row_q8_0_ref
		for blk := 0; blk < len(x); blk += 32 {
			q := x[blk : blk+32]
			var amax float32
			for _, v := range q {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			d := amax / 127
			var id float32
			if d != 0 {
				id = 1 / d
			}
			dh := f32ToF16(d)
			b = binary.LittleEndian.AppendUint16(b, dh)
			dd := f16ToF32(dh)
			for j, v := range q {
				n := int8(math.Round(float64(v * id)))
				b = append(b, byte(n))
				q[j] = float32(n) * dd
			}
		}
	default:
		panic("unsupported type " + typ.String())
	}
	return b
}

// buildTiny makes a random model and writes it to dir.
func buildTiny(t testing.TB, spec tinySpec, seed uint64, dir string) (*tiny, string) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	randn := func(n int, std float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * std)
		}
		return x
	}
	ones := func(n int) []float32 {
		x := randn(n, 0.1)
		for i := range x {
			x[i] += 1
		}
		return x
	}
	m := &tiny{spec: spec, eps: 1e-5, base: 10000, hd: tinyHead, qDim: tinyDim, kvDim: tinyKVDim}
	gemma := spec.arch == "gemma3"
	switch spec.arch {
	case "qwen2":
		m.eps, m.base = 1e-6, 1000000
	case "gemma3":
		// Heads wider than dim/heads, a window far shorter than the
		// tokens, and a query scale 1/sqrt(32) that is not a power of 2.
		m.eps, m.base, m.baseSWA, m.window = 1e-6, 1000000, 10000, 24
		m.hd = 32
		m.qDim, m.kvDim = tinyHeads*m.hd, tinyKV*m.hd
		m.qScale = 1 / float32(math.Sqrt(float64(m.hd)))
	}
	g := gguf.NewWriter()
	a := spec.arch
	g.AddKV("general.architecture", a)
	g.AddKV("general.name", "tiny-"+spec.String())
	g.AddKV(a+".context_length", uint32(tinyCtx))
	g.AddKV(a+".embedding_length", uint32(tinyDim))
	g.AddKV(a+".feed_forward_length", uint32(tinyHidden))
	g.AddKV(a+".block_count", uint32(tinyLayers))
	g.AddKV(a+".attention.head_count", uint32(tinyHeads))
	g.AddKV(a+".attention.head_count_kv", uint32(tinyKV))
	g.AddKV(a+".rope.dimension_count", uint32(m.hd))
	if gemma {
		g.AddKV(a+".attention.key_length", uint32(m.hd))
		g.AddKV(a+".attention.value_length", uint32(m.hd))
		g.AddKV(a+".attention.sliding_window", uint32(m.window))
		g.AddKV(a+".attention.sliding_window_pattern", uint32(2))
	}
	g.AddKV(a+".rope.freq_base", m.base)
	g.AddKV(a+".attention.layer_norm_rms_epsilon", m.eps)
	tokens, scores, types, err := llama2c.Vocab(tinyVocab)
	if err != nil {
		t.Fatal(err)
	}
	g.AddKV("tokenizer.ggml.model", "llama")
	g.AddKV("tokenizer.ggml.tokens", tokens)
	g.AddKV("tokenizer.ggml.scores", scores)
	g.AddKV("tokenizer.ggml.token_type", types)
	g.AddKV("tokenizer.ggml.bos_token_id", uint32(1))
	g.AddKV("tokenizer.ggml.eos_token_id", uint32(2))
	g.AddKV("tokenizer.ggml.unknown_token_id", uint32(0))
	add := func(name string, x []float32, typ gguf.Type, shape ...int64) {
		if err := g.AddTensor(name, typ, shape, encode(x, typ)); err != nil {
			t.Fatal(err)
		}
	}
	m.emb = randn(tinyVocab*tinyDim, 1)
	if gemma {
		for i := range m.emb { // multiplied by sqrt(dim) = 8 on input
			m.emb[i] /= 8
		}
	}
	add("token_embd.weight", m.emb, spec.typ, tinyDim, tinyVocab)
	m.out = m.emb
	if a == "qwen2" {
		m.out = randn(tinyVocab*tinyDim, 2/math.Sqrt(tinyDim))
		add("output.weight", m.out, spec.typ, tinyDim, tinyVocab)
	}
	m.norm = ones(tinyDim)
	add("output_norm.weight", m.norm, gguf.F32, tinyDim)
	sd, sh := 1/math.Sqrt(tinyDim), 1/math.Sqrt(tinyHidden)
	for i := range tinyLayers {
		p := fmt.Sprintf("blk.%d.", i)
		l := tinyLayer{
			attnNorm: ones(tinyDim), ffnNorm: ones(tinyDim),
			wq: randn(m.qDim*tinyDim, 2*sd), wk: randn(m.kvDim*tinyDim, 2*sd), wv: randn(m.kvDim*tinyDim, sd),
			wo: randn(tinyDim*m.qDim, sd), gate: randn(tinyHidden*tinyDim, sd), up: randn(tinyHidden*tinyDim, sd),
			down: randn(tinyDim*tinyHidden, sh),
		}
		add(p+"attn_norm.weight", l.attnNorm, gguf.F32, tinyDim)
		add(p+"attn_q.weight", l.wq, spec.typ, tinyDim, int64(m.qDim))
		add(p+"attn_k.weight", l.wk, spec.typ, tinyDim, int64(m.kvDim))
		add(p+"attn_v.weight", l.wv, spec.typ, tinyDim, int64(m.kvDim))
		if gemma {
			// Near 1, as Gemma's norm weights with its converter's +1.
			l.qNorm, l.kNorm = ones(m.hd), ones(m.hd)
			l.postAttn, l.postFFN = ones(tinyDim), ones(tinyDim)
			add(p+"attn_q_norm.weight", l.qNorm, gguf.F32, int64(m.hd))
			add(p+"attn_k_norm.weight", l.kNorm, gguf.F32, int64(m.hd))
			add(p+"post_attention_norm.weight", l.postAttn, gguf.F32, tinyDim)
			add(p+"post_ffw_norm.weight", l.postFFN, gguf.F32, tinyDim)
		}
		if a == "qwen2" {
			l.bq, l.bk, l.bv = randn(tinyDim, 0.5), randn(tinyKVDim, 0.5), randn(tinyKVDim, 0.5)
			add(p+"attn_q.bias", l.bq, gguf.F32, tinyDim)
			add(p+"attn_k.bias", l.bk, gguf.F32, tinyKVDim)
			add(p+"attn_v.bias", l.bv, gguf.F32, tinyKVDim)
		}
		add(p+"attn_output.weight", l.wo, spec.typ, int64(m.qDim), tinyDim)
		add(p+"ffn_norm.weight", l.ffnNorm, gguf.F32, tinyDim)
		add(p+"ffn_gate.weight", l.gate, spec.typ, tinyDim, tinyHidden)
		add(p+"ffn_up.weight", l.up, spec.typ, tinyDim, tinyHidden)
		add(p+"ffn_down.weight", l.down, spec.typ, tinyHidden, tinyDim)
		m.layers = append(m.layers, l)
	}
	path := filepath.Join(dir, "tiny-"+spec.String()+".gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	if _, err := g.WriteTo(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return m, path
}

// forward is a plain float64 reference of both architectures on the
// dequantized weights: it returns the logits at every position of tokens.
// With kv16 it rounds as llama.cpp does with its default f16 KV cache and
// no flash attention: keys and values are stored as f16, the query is
// rounded to f16 for the K*Q product (f16 is the dot type of an f16
// matrix) and so are the softmax weights for the V product.
func (m *tiny) forward(tokens []int32, kv16 bool) [][]float32 {
	r16 := func(x []float64) {
		if kv16 {
			for i, v := range x {
				x[i] = float64(f16ToF32(f32ToF16(float32(v))))
			}
		}
	}
	// matvec multiplies by a weight matrix of the model's type. Like
	// llama.cpp on the CPU, it first rounds the activations to the type
	// the dot product works in: f16 for f16 weights, q8_0 blocks for q8_0
	// weights (ggml's quantize_row_q8_0 on x86: scale 127/amax, rounding
	// half to even).
	matvec := func(w []float32, x []float64, bias []float32) []float64 {
		x = roundActivations(x, m.spec.typ)
		out := make([]float64, len(w)/len(x))
		for i := range out {
			var s float64
			for j, xv := range x {
				s += float64(w[i*len(x)+j]) * xv
			}
			if bias != nil {
				s += float64(bias[i])
			}
			out[i] = s
		}
		return out
	}
	rmsnorm := func(x []float64, w []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		sc := 1 / math.Sqrt(ss/float64(len(x))+float64(m.eps))
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = v * sc * float64(w[i])
		}
		return out
	}
	gemma := m.spec.arch == "gemma3"
	hd := m.hd
	rope := func(x []float64, pos int, base float32) {
		for h := 0; h < len(x); h += hd {
			v := x[h : h+hd]
			for i := range hd / 2 {
				theta := float64(pos) * math.Pow(float64(base), -2*float64(i)/float64(hd))
				c, s := math.Cos(theta), math.Sin(theta)
				a, b := 2*i, 2*i+1 // llama: interleaved pairs
				if m.spec.arch != "llama" {
					a, b = i, i+hd/2 // NEOX: halves
				}
				v[a], v[b] = v[a]*c-v[b]*s, v[a]*s+v[b]*c
			}
		}
	}
	keys := make([][][]float64, tinyLayers)
	vals := make([][][]float64, tinyLayers)
	logits := make([][]float32, len(tokens))
	for pos, tok := range tokens {
		x := make([]float64, tinyDim)
		for i := range x {
			x[i] = float64(m.emb[int(tok)*tinyDim+i])
			if gemma {
				x[i] *= math.Sqrt(tinyDim)
			}
		}
		for li, l := range m.layers {
			h := rmsnorm(x, l.attnNorm)
			q, k, v := matvec(l.wq, h, l.bq), matvec(l.wk, h, l.bk), matvec(l.wv, h, l.bv)
			base, first := m.base, 0
			if gemma {
				for j := 0; j < len(q); j += hd {
					copy(q[j:j+hd], rmsnorm(q[j:j+hd], l.qNorm))
				}
				for j := 0; j < len(k); j += hd {
					copy(k[j:j+hd], rmsnorm(k[j:j+hd], l.kNorm))
				}
				if li == 0 { // the windowed layer
					base, first = m.baseSWA, max(0, pos-m.window+1)
				}
			}
			rope(q, pos, base)
			rope(k, pos, base)
			if gemma {
				for j := range q {
					q[j] *= float64(m.qScale)
				}
			}
			r16(k)
			r16(v)
			keys[li] = append(keys[li], k)
			vals[li] = append(vals[li], v)
			att := make([]float64, m.qDim)
			for head := range tinyHeads {
				kvh := head / (tinyHeads / tinyKV)
				qh := slices.Clone(q[head*hd : (head+1)*hd])
				r16(qh)
				sc := make([]float64, pos+1)
				mx := math.Inf(-1)
				for t := range sc {
					if t < first {
						sc[t] = math.Inf(-1)
						continue
					}
					kt := keys[li][t][kvh*hd:]
					for i, qv := range qh {
						sc[t] += qv * kt[i]
					}
					if !gemma {
						sc[t] /= math.Sqrt(float64(hd))
					}
					mx = math.Max(mx, sc[t])
				}
				var sum float64
				for t := range sc {
					sc[t] = math.Exp(sc[t] - mx)
					sum += sc[t]
				}
				for t := range sc {
					sc[t] /= sum
				}
				r16(sc)
				for t, p := range sc {
					vt := vals[li][t][kvh*hd:]
					for i := range hd {
						att[head*hd+i] += p * vt[i]
					}
				}
			}
			o := matvec(l.wo, att, nil)
			if gemma {
				o = rmsnorm(o, l.postAttn)
			}
			for i := range x {
				x[i] += o[i]
			}
			h = rmsnorm(x, l.ffnNorm)
			g, u := matvec(l.gate, h, nil), matvec(l.up, h, nil)
			for i := range g {
				if gemma {
					g[i] = geluRef(g[i]) * u[i]
				} else {
					g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
				}
			}
			d := matvec(l.down, g, nil)
			if gemma {
				d = rmsnorm(d, l.postFFN)
			}
			for i := range x {
				x[i] += d[i]
			}
		}
		lg := matvec(m.out, rmsnorm(x, m.norm), nil)
		logits[pos] = make([]float32, len(lg))
		for i, v := range lg {
			logits[pos][i] = float32(v)
		}
	}
	return logits
}

// geluRef is the tanh GELU as llama.cpp's CPU backend evaluates it: from a
// binary16 table, so the input and the result are rounded to binary16
// (inputs outside (-10, 10) give 0 or x).
func geluRef(x float64) float64 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	x = float64(f16ToF32(f32ToF16(float32(x))))
	y := 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*x*(1+0.044715*x*x)))
	return float64(f16ToF32(f32ToF16(float32(y))))
}

func roundActivations(x []float64, typ gguf.Type) []float64 {
	y := make([]float64, len(x))
	switch typ {
	case gguf.F32:
		for i, v := range x {
			y[i] = float64(float32(v))
		}
	case gguf.F16:
		for i, v := range x {
			y[i] = float64(f16ToF32(f32ToF16(float32(v))))
		}
	case gguf.Q8_0:
		for b := 0; b < len(x); b += 32 {
			var amax float32
			for _, v := range x[b : b+32] {
				amax = max(amax, float32(math.Abs(v)))
			}
			d := f16ToF32(f32ToF16(amax / 127))
			var id float32
			if amax != 0 {
				id = 127 / amax
			}
			for i, v := range x[b : b+32] {
				y[b+i] = math.RoundToEven(float64(float32(v)*id)) * float64(d)
			}
		}
	}
	return y
}

// tinyTokens is BOS then random non-special ids.
func tinyTokens(n int, seed uint64) []int32 {
	r := rand.New(rand.NewPCG(seed, 4))
	toks := []int32{1}
	for len(toks) < n {
		toks = append(toks, 3+r.Int32N(tinyVocab-3))
	}
	return toks
}

var tinySpecs = []tinySpec{
	{"llama", gguf.F32}, {"llama", gguf.F16}, {"llama", gguf.Q8_0},
	{"qwen2", gguf.F32}, {"qwen2", gguf.F16}, {"qwen2", gguf.Q8_0},
	{"gemma3", gguf.F32}, {"gemma3", gguf.F16}, {"gemma3", gguf.Q8_0},
}

func TestF16Helpers(t *testing.T) {
	for _, tc := range []struct {
		f float32
		h uint16
	}{
		{0, 0}, {float32(math.Copysign(0, -1)), 0x8000}, {1, 0x3c00}, {-2, 0xc000}, {0.1, 0x2e66},
		{65504, 0x7bff}, {65519, 0x7bff}, {65520, 0x7c00}, {float32(math.Inf(1)), 0x7c00},
		{float32(math.Ldexp(1, -24)), 0x0001}, {float32(math.Ldexp(1, -25)), 0}, // tie to even: 0
		{float32(math.Ldexp(3, -25)), 0x0002}, {float32(math.Ldexp(1, -14)), 0x0400}, // 1.5 ulp rounds to 2
		{1 + float32(math.Ldexp(1, -11)), 0x3c00}, {1 + float32(math.Ldexp(3, -11)), 0x3c02}, // ties to even
	} {
		if got := f32ToF16(tc.f); got != tc.h {
			t.Errorf("f32ToF16(%g) = %#04x, want %#04x", tc.f, got, tc.h)
		}
	}
	for h := range 1 << 16 {
		f := f16ToF32(uint16(h))
		if f != f { // NaN
			continue
		}
		if back := f32ToF16(f); back != uint16(h) {
			t.Fatalf("f16 %#04x -> %g -> %#04x", h, f, back)
		}
	}
}
