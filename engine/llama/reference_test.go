package llama

import (
	"fmt"
	"math"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// refModel is a plain float64 implementation of the same network, written
// independently of the engine (no kernels, no rounding to F16/Q8_0, an
// F64 KV cache), to check the engine's accuracy.
type refModel struct {
	c       Config
	tensors map[string][]float64
}

func newRefModel(t testing.TB, f *gguf.File, c Config) *refModel {
	r := &refModel{c: c, tensors: map[string][]float64{}}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data, err := f.TensorData(ti)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]float32, ti.Elements())
		if err := gguf.Dequantize(ti.Type, data, ti.Elements(), v); err != nil {
			t.Fatal(err)
		}
		d := make([]float64, len(v))
		for j, x := range v {
			d[j] = float64(x)
		}
		r.tensors[ti.Name] = d
	}
	return r
}

func (r *refModel) w(name string) []float64 { return r.tensors[name] }

// matvec: w has rows of len(x).
func matvec(w, x []float64) []float64 {
	n := len(x)
	out := make([]float64, len(w)/n)
	for i := range out {
		var s float64
		for j, v := range x {
			s += w[i*n+j] * v
		}
		out[i] = s
	}
	return out
}

func rmsnorm(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	sc := 1 / math.Sqrt(ss/float64(len(x))+eps)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * sc * w[i]
	}
	return out
}

func (r *refModel) rope(x []float64, pos int) {
	c := r.c
	for h := 0; h < len(x)/c.HeadDim; h++ {
		v := x[h*c.HeadDim : (h+1)*c.HeadDim]
		for i := 0; i < c.RopeDims/2; i++ {
			theta := float64(pos) * math.Pow(float64(c.RopeBase), -2*float64(i)/float64(c.RopeDims))
			a, b := 2*i, 2*i+1
			if c.Arch == "qwen2" { // decided here, not from Config
				a, b = i, i+c.RopeDims/2
			}
			x0, x1 := v[a], v[b]
			v[a] = x0*math.Cos(theta) - x1*math.Sin(theta)
			v[b] = x0*math.Sin(theta) + x1*math.Cos(theta)
		}
	}
}

// forward returns the logits of every position of toks.
func (r *refModel) forward(toks []int32) [][]float64 {
	c := r.c
	hd := c.HeadDim
	eps := float64(c.NormEps)
	keys := make([][][]float64, c.Layers)
	vals := make([][][]float64, c.Layers)
	var out [][]float64
	for pos, tok := range toks {
		x := append([]float64(nil), r.w("token_embd.weight")[int(tok)*c.Dim:(int(tok)+1)*c.Dim]...)
		for l := 0; l < c.Layers; l++ {
			b := fmt.Sprintf("blk.%d.", l)
			h := rmsnorm(x, r.w(b+"attn_norm.weight"), eps)
			q, k, v := matvec(r.w(b+"attn_q.weight"), h), matvec(r.w(b+"attn_k.weight"), h), matvec(r.w(b+"attn_v.weight"), h)
			if r.w(b+"attn_q.bias") != nil {
				for i := range q {
					q[i] += r.w(b + "attn_q.bias")[i]
				}
				for i := range k {
					k[i] += r.w(b + "attn_k.bias")[i]
					v[i] += r.w(b + "attn_v.bias")[i]
				}
			}
			r.rope(q, pos)
			r.rope(k, pos)
			keys[l] = append(keys[l], k)
			vals[l] = append(vals[l], v)
			att := make([]float64, len(q))
			for hh := 0; hh < c.Heads; hh++ {
				kv := hh / (c.Heads / c.KVHeads)
				sc := make([]float64, pos+1)
				mx := math.Inf(-1)
				for t := 0; t <= pos; t++ {
					var s float64
					for d := 0; d < hd; d++ {
						s += q[hh*hd+d] * keys[l][t][kv*hd+d]
					}
					sc[t] = s / math.Sqrt(float64(hd))
					mx = math.Max(mx, sc[t])
				}
				var sum float64
				for t := range sc {
					sc[t] = math.Exp(sc[t] - mx)
					sum += sc[t]
				}
				for t := range sc {
					for d := 0; d < hd; d++ {
						att[hh*hd+d] += sc[t] / sum * vals[l][t][kv*hd+d]
					}
				}
			}
			o := matvec(r.w(b+"attn_output.weight"), att)
			for i := range x {
				x[i] += o[i]
			}
			h = rmsnorm(x, r.w(b+"ffn_norm.weight"), eps)
			g, u := matvec(r.w(b+"ffn_gate.weight"), h), matvec(r.w(b+"ffn_up.weight"), h)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := matvec(r.w(b+"ffn_down.weight"), g)
			for i := range x {
				x[i] += d[i]
			}
		}
		h := rmsnorm(x, r.w("output_norm.weight"), eps)
		wo := r.w("output.weight")
		if wo == nil {
			wo = r.w("token_embd.weight")
		}
		out = append(out, matvec(wo, h))
	}
	return out
}

// TestAgainstFloat64 compares the engine's logits with the float64
// reference. The engine's differences come from float32 arithmetic, the
// F16 KV cache and, for F16/BF16/Q8_0 weights, the rounding of activations
// to the weights' dot type, so the tolerance depends on the type.
func TestAgainstFloat64(t *testing.T) {
	tol := map[gguf.Type]float64{gguf.F32: 0.01, gguf.F16: 0.02, gguf.BF16: 0.1, gguf.Q8_0: 0.05, gguf.Q4_0: 0.05}
	for _, arch := range []string{"llama", "qwen2"} {
		for _, typ := range []gguf.Type{gguf.F32, gguf.F16, gguf.BF16, gguf.Q8_0, gguf.Q4_0} {
			for _, tied := range []bool{false, true} {
				spec := tiny(arch, typ)
				spec.tied = tied
				f := buildModel(t, spec)
				m, err := Load(f)
				if err != nil {
					t.Fatal(err)
				}
				if m.Config().TiedOutput != tied {
					t.Errorf("TiedOutput = %v, want %v", m.Config().TiedOutput, tied)
				}
				toks := tokenWindow(5, 16, spec.vocab)
				got := forwardAll(t, m, toks, []int{16})
				want := newRefModel(t, f, m.Config()).forward(toks)
				var worst, scale float64
				for p := range want {
					for i, w := range want[p] {
						worst = math.Max(worst, math.Abs(float64(got[p][i])-w))
						scale = math.Max(scale, math.Abs(w))
					}
				}
				t.Logf("%s %v tied=%v: max |logit| %.3g, max error %.3g", arch, typ, tied, scale, worst)
				if worst > tol[typ]*scale {
					t.Errorf("%s %v tied=%v: max error %.3g > %.3g x max |logit| %.3g", arch, typ, tied, worst, tol[typ], scale)
				}
			}
		}
	}
}
