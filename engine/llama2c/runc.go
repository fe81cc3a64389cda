package llama2c

import "math"

// Runner is a plain port of llama2.c's run.c forward pass (float32, one
// token at a time, a key/value cache of SeqLen positions). It is a reference
// for tests: it shows what a checkpoint computes under llama2.c's own
// semantics, so that a converted GGUF file can be checked against it. It
// uses the math package's transcendental functions and makes no promise of
// bit-exact results across platforms; it is not part of lmgc's
// deterministic probability path.
type Runner struct {
	c                   *Checkpoint
	x, xb, xb2, hb, hb2 []float32
	q, att, logits      []float32
	keys, values        [][]float32 // [layer][pos*kv_dim]
}

// NewRunner returns a Runner with an empty cache.
func (c *Checkpoint) NewRunner() *Runner {
	kv := c.KVDim()
	r := &Runner{
		c: c, x: make([]float32, c.Dim), xb: make([]float32, c.Dim), xb2: make([]float32, c.Dim),
		hb: make([]float32, c.HiddenDim), hb2: make([]float32, c.HiddenDim),
		q: make([]float32, c.Dim), att: make([]float32, c.SeqLen), logits: make([]float32, c.VocabSize),
		keys: make([][]float32, c.NLayers), values: make([][]float32, c.NLayers),
	}
	for l := range r.keys {
		r.keys[l] = make([]float32, c.SeqLen*kv)
		r.values[l] = make([]float32, c.SeqLen*kv)
	}
	return r
}

func rmsnorm(o, x, w []float32) {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	ss /= float32(len(x))
	ss += RMSNormEps
	ss = 1 / float32(math.Sqrt(float64(ss)))
	for j := range o {
		o[j] = w[j] * (ss * x[j])
	}
}

func softmax(x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		m = max(m, v)
	}
	var sum float32
	for i, v := range x {
		x[i] = float32(math.Exp(float64(v - m)))
		sum += x[i]
	}
	for i := range x {
		x[i] /= sum
	}
}

// matmul sets out[i] = sum_j w[i*n+j] * x[j] for i < len(out), n = len(x).
func matmul(out, x, w []float32) {
	n := len(x)
	for i := range out {
		var v float32
		row := w[i*n : (i+1)*n]
		for j, xv := range x {
			v += row[j] * xv
		}
		out[i] = v
	}
}

// Forward runs token at position pos (positions must be fed in order
// 0, 1, 2, ...) and returns the logits, valid until the next call.
func (r *Runner) Forward(token int32, pos int) []float32 {
	c := r.c
	dim, hs, kvDim := c.Dim, c.HeadSize(), c.KVDim()
	kvMul := c.NHeads / c.NKVHeads
	copy(r.x, c.TokenEmbedding[int(token)*dim:(int(token)+1)*dim])
	for l, w := range c.Layers {
		rmsnorm(r.xb, r.x, w.RMSAtt)
		k := r.keys[l][pos*kvDim : (pos+1)*kvDim]
		v := r.values[l][pos*kvDim : (pos+1)*kvDim]
		matmul(r.q, r.xb, w.WQ)
		matmul(k, r.xb, w.WK)
		matmul(v, r.xb, w.WV)
		for i := 0; i < dim; i += 2 {
			headDim := i % hs
			freq := 1 / float32(math.Pow(10000, float64(float32(headDim)/float32(hs))))
			val := float32(pos) * freq
			fcr, fci := float32(math.Cos(float64(val))), float32(math.Sin(float64(val)))
			vecs := [][]float32{r.q, k}
			if i >= kvDim {
				vecs = vecs[:1]
			}
			for _, vec := range vecs {
				v0, v1 := vec[i], vec[i+1]
				vec[i] = v0*fcr - v1*fci
				vec[i+1] = v0*fci + v1*fcr
			}
		}
		scale := float32(math.Sqrt(float64(hs)))
		for h := range c.NHeads {
			q := r.q[h*hs : (h+1)*hs]
			att := r.att[:pos+1]
			off := (h / kvMul) * hs
			for t := range att {
				kt := r.keys[l][t*kvDim+off : t*kvDim+off+hs]
				var s float32
				for i := range q {
					s += q[i] * kt[i]
				}
				att[t] = s / scale
			}
			softmax(att)
			xb := r.xb[h*hs : (h+1)*hs]
			clear(xb)
			for t, a := range att {
				vt := r.values[l][t*kvDim+off : t*kvDim+off+hs]
				for i := range xb {
					xb[i] += a * vt[i]
				}
			}
		}
		matmul(r.xb2, r.xb, w.WO)
		for i := range r.x {
			r.x[i] += r.xb2[i]
		}
		rmsnorm(r.xb, r.x, w.RMSFFN)
		matmul(r.hb, r.xb, w.W1)
		matmul(r.hb2, r.xb, w.W3)
		for i, g := range r.hb {
			g *= 1 / (1 + float32(math.Exp(float64(-g))))
			r.hb[i] = g * r.hb2[i]
		}
		matmul(r.xb, r.hb, w.W2)
		for i := range r.x {
			r.x[i] += r.xb[i]
		}
	}
	rmsnorm(r.x, r.x, c.RMSFinal)
	matmul(r.logits, r.x, c.Classifier())
	return r.logits
}

// Greedy feeds prompt from position 0 and then appends n tokens, each the
// argmax of the logits (the lowest id on ties), as run.c does at
// temperature 0, and returns the n generated tokens (fewer if the context
// of SeqLen positions runs out). Earlier cache contents are overwritten.
func (r *Runner) Greedy(prompt []int32, n int) []int32 {
	var out []int32
	var logits []float32
	pos := 0
	for _, t := range prompt {
		logits = r.Forward(t, pos)
		pos++
	}
	for len(out) < n && pos < r.c.SeqLen {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		out = append(out, int32(best))
		if len(out) == n {
			break
		}
		logits = r.Forward(int32(best), pos)
		pos++
	}
	return out
}
