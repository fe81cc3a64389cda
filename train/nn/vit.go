package nn

import "math"

// ViTConfig sizes a vision transformer.
type ViTConfig struct {
	Dim, Depth, Heads, MLP, Patch int
}

// LayerNorm normalises over the last dimension with a per-feature affine
// transform (PyTorch nn.LayerNorm, eps 1e-5).
type LayerNorm struct {
	D            int
	Eps          float32
	Weight, Bias *Param

	xhat, rstd []float32
	shape      []int
	y, dx      *Tensor
}

// NewLayerNorm returns LayerNorm(d) with weight 1, bias 0.
func NewLayerNorm(name string, d int) *LayerNorm {
	l := &LayerNorm{D: d, Eps: 1e-5, Weight: newParam(name+".weight", d), Bias: newParam(name+".bias", d)}
	for i := range l.Weight.W {
		l.Weight.W[i] = 1
	}
	return l
}

// Params implements Layer.
func (l *LayerNorm) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// Forward implements Layer.
func (l *LayerNorm) Forward(c *Ctx, x *Tensor) *Tensor {
	rows := len(x.Data) / l.D
	l.shape = x.Shape
	reuseF32(&l.xhat, len(x.Data))
	reuseF32(&l.rstd, rows)
	y := reuse(&l.y, x.Shape...)
	parallel(rows, c.threads(), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			a := r * l.D
			l.rstd[r] = normalize(x.Data[a:a+l.D], l.xhat[a:a+l.D], l.Eps)
			for j := 0; j < l.D; j++ {
				y.Data[a+j] = float32(l.xhat[a+j]*l.Weight.W[j]) + l.Bias.W[j]
			}
		}
	})
	return y
}

// Backward implements Layer.
func (l *LayerNorm) Backward(c *Ctx, dy *Tensor) *Tensor {
	rows := len(dy.Data) / l.D
	parallel(l.D, c.threads(), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			var sw, sb float64
			for r := 0; r < rows; r++ {
				g := float64(dy.Data[r*l.D+j])
				sw += float64(g * float64(l.xhat[r*l.D+j]))
				sb += g
			}
			l.Weight.G[j] += float32(sw)
			l.Bias.G[j] += float32(sb)
		}
	})
	dx := reuse(&l.dx, l.shape...)
	parallel(rows, c.threads(), func(lo, hi int) {
		dxh := make([]float32, l.D)
		for r := lo; r < hi; r++ {
			a := r * l.D
			for j := 0; j < l.D; j++ {
				dxh[j] = dy.Data[a+j] * l.Weight.W[j]
			}
			normBackward(dxh, l.xhat[a:a+l.D], dx.Data[a:a+l.D], l.rstd[r])
		}
	})
	return dx
}

// GELU is the exact (erf) GELU: x·Φ(x). With InPlace, Backward writes dx
// over dy (for a dy that nothing reads afterwards, e.g. a convolution's
// input gradient in the RelViT's MLP: it saves one activation-sized buffer).
type GELU struct {
	InPlace  bool
	x, y, dx *Tensor
}

// Params implements Layer.
func (*GELU) Params() []*Param { return nil }

// Forward implements Layer.
func (g *GELU) Forward(c *Ctx, x *Tensor) *Tensor {
	g.x = x
	y := reuse(&g.y, x.Shape...)
	for i, v := range x.Data {
		f := float64(v)
		y.Data[i] = float32(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
	}
	return y
}

// Backward implements Layer.
func (g *GELU) Backward(c *Ctx, dy *Tensor) *Tensor {
	dx := dy
	if !g.InPlace {
		dx = reuse(&g.dx, dy.Shape...)
	}
	for i, v := range g.x.Data {
		f := float64(v)
		d := float64(0.5*(1+math.Erf(f/math.Sqrt2))) + float64(f*math.Exp(float64(-0.5*f*f))/math.Sqrt(2*math.Pi))
		dx.Data[i] = float32(float64(dy.Data[i]) * d)
	}
	return dx
}

// Attention is multi-head self-attention over [N, T, D] tokens:
// qkv = Linear(D, 3D), softmax(q·kᵀ/√d_head)·v per head, then Linear(D, D).
type Attention struct {
	D, Heads  int
	QKV, Proj *Linear

	qkv  *Tensor   // [N, T, 3D]
	prob []float32 // [N, Heads, T, T]
	o    *Tensor   // [N, T, D] before the projection
}

// NewAttention returns attention named prefix ("blocks.0.attn").
func NewAttention(prefix string, d, heads int, r *RNG) *Attention {
	return &Attention{D: d, Heads: heads, QKV: NewLinear(prefix+".qkv", d, 3*d, r), Proj: NewLinear(prefix+".proj", d, d, r)}
}

// Params implements Layer.
func (a *Attention) Params() []*Param { return append(a.QKV.Params(), a.Proj.Params()...) }

// Forward implements Layer.
func (a *Attention) Forward(c *Ctx, x *Tensor) *Tensor {
	n, t, d := x.Shape[0], x.Shape[1], a.D
	dh := d / a.Heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	a.qkv = a.QKV.Forward(c, x)
	reuseF32(&a.prob, n*a.Heads*t*t)
	o := reuse(&a.o, n, t, d)
	q3 := a.qkv.Data
	parallel(n*a.Heads, c.threads(), func(lo, hi int) {
		for nh := lo; nh < hi; nh++ {
			b, h := nh/a.Heads, nh%a.Heads
			base := b * t * 3 * d
			p := a.prob[nh*t*t : (nh+1)*t*t]
			// scores = q·kᵀ (q rows: stride 3D; k as B with RS 1, CS 3D).
			GemmM(t, t, dh, Mat{Data: q3, Off: base + h*dh, RS: 3 * d, CS: 1}, Mat{Data: q3, Off: base + d + h*dh, RS: 1, CS: 3 * d}, p, t, false, 1)
			for i := 0; i < t; i++ {
				softmaxRow(p[i*t:(i+1)*t], scale)
			}
			// o = p·v, written into o[b, :, h*dh:(h+1)*dh].
			Gemm(t, dh, t, p, t, Mat{Data: q3, Off: base + 2*d + h*dh, RS: 3 * d, CS: 1}, o.Data[b*t*d+h*dh:], d, false, 1)
		}
	})
	return a.Proj.Forward(c, o)
}

// softmaxRow replaces row by softmax(row·scale) (float64 sums in order).
func softmaxRow(row []float32, scale float32) {
	mx := row[0] * scale
	for _, v := range row {
		mx = max(mx, v*scale)
	}
	var s float64
	for i, v := range row {
		e := math.Exp(float64(float32(v*scale) - mx))
		row[i] = float32(e)
		s += e
	}
	for i := range row {
		row[i] = float32(float64(row[i]) / s)
	}
}

// Backward implements Layer.
func (a *Attention) Backward(c *Ctx, dy *Tensor) *Tensor {
	do := a.Proj.Backward(c, dy)
	n, t, d := do.Shape[0], do.Shape[1], a.D
	dh := d / a.Heads
	scale := float32(1 / math.Sqrt(float64(dh)))
	dqkv := NewTensor(n, t, 3*d)
	q3 := a.qkv.Data
	parallel(n*a.Heads, c.threads(), func(lo, hi int) {
		dp := make([]float32, t*t)
		for nh := lo; nh < hi; nh++ {
			b, h := nh/a.Heads, nh%a.Heads
			base := b * t * 3 * d
			p := a.prob[nh*t*t : (nh+1)*t*t]
			dob := Mat{Data: do.Data, Off: b*t*d + h*dh, RS: d, CS: 1} // this head's do, [t × dh]
			// dp = do·vᵀ; dv = pᵀ·do.
			GemmM(t, t, dh, dob, Mat{Data: q3, Off: base + 2*d + h*dh, RS: 1, CS: 3 * d}, dp, t, false, 1)
			GemmM(t, dh, t, Mat{Data: p, RS: 1, CS: t}, dob, dqkv.Data[base+2*d+h*dh:], 3*d, false, 1)
			// ds = p ⊙ (dp − Σ_j dp·p), then scaled: d(q·kᵀ) = ds·scale.
			for i := 0; i < t; i++ {
				pr, dr := p[i*t:(i+1)*t], dp[i*t:(i+1)*t]
				var s float64
				for j := range pr {
					s += float64(float64(pr[j]) * float64(dr[j]))
				}
				for j := range pr {
					dr[j] = float32(float64(pr[j])*(float64(dr[j])-s)) * scale
				}
			}
			// dq = ds·k; dk = dsᵀ·q.
			Gemm(t, dh, t, dp, t, Mat{Data: q3, Off: base + d + h*dh, RS: 3 * d, CS: 1}, dqkv.Data[base+h*dh:], 3*d, false, 1)
			GemmM(t, dh, t, Mat{Data: dp, RS: 1, CS: t}, Mat{Data: q3, Off: base + h*dh, RS: 3 * d, CS: 1}, dqkv.Data[base+d+h*dh:], 3*d, false, 1)
		}
	})
	return a.QKV.Backward(c, dqkv)
}

// Residual computes x + f(x).
type Residual struct {
	F  Layer
	y  *Tensor
	dx *Tensor
}

// Params implements Layer.
func (r *Residual) Params() []*Param { return r.F.Params() }

// Forward implements Layer.
func (r *Residual) Forward(c *Ctx, x *Tensor) *Tensor {
	f := r.F.Forward(c, x)
	y := reuse(&r.y, x.Shape...)
	for i := range y.Data {
		y.Data[i] = x.Data[i] + f.Data[i]
	}
	return y
}

// Backward implements Layer.
func (r *Residual) Backward(c *Ctx, dy *Tensor) *Tensor {
	df := r.F.Backward(c, dy)
	dx := reuse(&r.dx, dy.Shape...)
	for i := range dx.Data {
		dx.Data[i] = dy.Data[i] + df.Data[i]
	}
	return dx
}

// Tokens turns patch-embedding maps [N, D, H, W] into tokens [N, 1+H·W, D]
// with a learned class token in front and a learned position embedding
// added (parameters cls_token [1,1,D] and pos_embed [1,1+H·W,D], both
// initialised N(0, 0.02²)).
type Tokens struct {
	D, T     int // T = 1 + patches
	Cls, Pos *Param
	shape    []int
	y, dx    *Tensor
}

// NewTokens returns the token layer for d channels and t-1 patches.
func NewTokens(d, t int, r *RNG) *Tokens {
	k := &Tokens{D: d, T: t, Cls: newParam("cls_token", 1, 1, d), Pos: newParam("pos_embed", 1, t, d)}
	for i := range k.Cls.W {
		k.Cls.W[i] = 0.02 * r.Normal()
	}
	for i := range k.Pos.W {
		k.Pos.W[i] = 0.02 * r.Normal()
	}
	return k
}

// Params implements Layer.
func (k *Tokens) Params() []*Param { return []*Param{k.Cls, k.Pos} }

// Forward implements Layer.
func (k *Tokens) Forward(c *Ctx, x *Tensor) *Tensor {
	k.shape = x.Shape
	n, d, hw := x.Shape[0], x.Shape[1], spatial(x.Shape)
	y := reuse(&k.y, n, k.T, d)
	for b := 0; b < n; b++ {
		for j := 0; j < d; j++ {
			y.Data[b*k.T*d+j] = k.Cls.W[j] + k.Pos.W[j]
		}
		for p := 0; p < hw; p++ {
			for j := 0; j < d; j++ {
				y.Data[b*k.T*d+(1+p)*d+j] = x.Data[(b*d+j)*hw+p] + k.Pos.W[(1+p)*d+j]
			}
		}
	}
	return y
}

// Backward implements Layer.
func (k *Tokens) Backward(c *Ctx, dy *Tensor) *Tensor {
	n, d, hw := k.shape[0], k.shape[1], spatial(k.shape)
	for i := range k.Pos.G {
		var s float32
		for b := 0; b < n; b++ {
			s += dy.Data[b*k.T*d+i]
		}
		k.Pos.G[i] += s
	}
	for j := 0; j < d; j++ {
		var s float32
		for b := 0; b < n; b++ {
			s += dy.Data[b*k.T*d+j]
		}
		k.Cls.G[j] += s
	}
	dx := reuse(&k.dx, k.shape...)
	for b := 0; b < n; b++ {
		for p := 0; p < hw; p++ {
			for j := 0; j < d; j++ {
				dx.Data[(b*d+j)*hw+p] = dy.Data[b*k.T*d+(1+p)*d+j]
			}
		}
	}
	return dx
}

// ClsSelect takes token 0 of [N, T, D] → [N, D].
type ClsSelect struct{ shape []int }

// Params implements Layer.
func (*ClsSelect) Params() []*Param { return nil }

// Forward implements Layer.
func (s *ClsSelect) Forward(c *Ctx, x *Tensor) *Tensor {
	s.shape = x.Shape
	n, t, d := x.Shape[0], x.Shape[1], x.Shape[2]
	y := NewTensor(n, d)
	for b := 0; b < n; b++ {
		copy(y.Data[b*d:(b+1)*d], x.Data[b*t*d:b*t*d+d])
	}
	return y
}

// Backward implements Layer.
func (s *ClsSelect) Backward(c *Ctx, dy *Tensor) *Tensor {
	n, t, d := s.shape[0], s.shape[1], s.shape[2]
	dx := NewTensor(s.shape...)
	for b := 0; b < n; b++ {
		copy(dx.Data[b*t*d:b*t*d+d], dy.Data[b*d:(b+1)*d])
	}
	return dx
}

// NewViT builds a small pre-norm vision transformer (timm-style names):
// patch_embed.proj (conv Patch×Patch, stride Patch), cls_token,
// pos_embed, Depth blocks of x + attn(norm1(x)) and x + mlp(norm2(x))
// (mlp.fc1 → GELU → mlp.fc2), a final norm and a linear head on the
// class token. The image size must be a multiple of Patch.
func NewViT(inC, imgSize, classes int, cfg ViTConfig, r *RNG) *Sequential {
	pe := NewConv2d("patch_embed.proj", inC, cfg.Dim, cfg.Patch, cfg.Patch, 0, true, r)
	pe.NoInputGrad = true
	g := imgSize / cfg.Patch
	s := &Sequential{Layers: []Layer{pe, NewTokens(cfg.Dim, 1+g*g, r)}}
	for i := 0; i < cfg.Depth; i++ {
		p := name("blocks", i)
		s.Layers = append(s.Layers,
			&Residual{F: &Sequential{Layers: []Layer{NewLayerNorm(p+".norm1", cfg.Dim), NewAttention(p+".attn", cfg.Dim, cfg.Heads, r)}}},
			&Residual{F: &Sequential{Layers: []Layer{NewLayerNorm(p+".norm2", cfg.Dim),
				NewLinear(p+".mlp.fc1", cfg.Dim, cfg.MLP, r), &GELU{}, NewLinear(p+".mlp.fc2", cfg.MLP, cfg.Dim, r)}}})
	}
	s.Layers = append(s.Layers, NewLayerNorm("norm", cfg.Dim), &ClsSelect{}, NewLinear("head", cfg.Dim, classes, r))
	return s
}
