package nn

import (
	"fmt"
	"math"
)

// The reference's ViT (hui-po-wang/LM-GC utils/models/vit.py, after
// juliusruseckas.github.io/ml/cifar10-vit.html): a convolutional "RelViT"
// on NCHW maps, with gamma-scaled residuals, LayerNorm over the channels at
// every pixel and 1×1-conv self-attention with a relative position bias.
// scripts/torchref/torchref.py's relvit is the same model in PyTorch;
// docs/TRAINING.md has the verified spec.

// RelViTConfig sizes a RelViT. The reference's ViT(num_classes, 32) is
// DefaultRelViT.
type RelViTConfig struct {
	Channels     int     // 256
	HeadChannels int     // 32 (8 heads)
	Blocks       int     // 8
	Patch        int     // 2
	Hidden       int     // 32: the channels of ToPatches' first conv
	HeadDrop     float32 // 0.3: dropout before the classifier in training (0 disables it)
}

// DefaultRelViT is the reference's configuration.
var DefaultRelViT = RelViTConfig{Channels: 256, HeadChannels: 32, Blocks: 8, Patch: 2, Hidden: 32, HeadDrop: 0.3}

// kaimingNormal fills w with N(0, 2/fanIn) (PyTorch's kaiming_normal_,
// mode fan_in, gain √2).
func kaimingNormal(r *RNG, w []float32, fanIn int) {
	std := math.Sqrt(2 / float64(fanIn))
	for i := range w {
		w[i] = float32(std * float64(r.Normal()))
	}
}

// newRelConv is a Conv2d with the RelViT's initialisation: kaiming-normal
// weight (weight decay), zero bias (no weight decay).
func newRelConv(name string, inC, outC, k, stride, pad int, r *RNG) *Conv2d {
	c := &Conv2d{InC: inC, OutC: outC, K: k, Stride: stride, Pad: pad}
	c.Weight = newParam(name+".weight", outC, inC, k, k)
	kaimingNormal(r, c.Weight.W, inC*k*k)
	c.Bias = newParam(name+".bias", outC)
	c.Bias.Decay = false
	return c
}

// NewRelViT builds the reference's RelViT for inC×size×size images, with
// PyTorch's parameter names and order (nn.Sequential indices):
//
//	0.0.0 conv3×3 inC→Hidden (pad 1), GELU, 0.0.2 conv Patch×Patch/Patch Hidden→C;
//	0.1.pos_embedding (C, size/Patch, size/Patch) added;
//	1.i.0 = x + gamma·SelfAttention2d(LayerNormChannels(x)),
//	1.i.1 = x + gamma·conv1×1(C→4C)·GELU·conv1×1(4C→C)(LayerNormChannels(x)), i < Blocks;
//	2.0 LayerNormChannels, GELU, global average pool, Dropout(HeadDrop), 2.5 Linear(C, classes).
//
// Initialisation as the reference's reset_parameters: kaiming-normal conv
// and linear weights, zero biases, LayerNorm 1/0, both position tables
// N(0, 0.02²), gammas 0. Param.Decay is set on the conv/linear weights only
// (the reference's separate_parameters).
func NewRelViT(inC, size, classes int, cfg RelViTConfig, r *RNG) (*Sequential, error) {
	if cfg.Channels <= 0 || cfg.HeadChannels <= 0 || cfg.Channels%cfg.HeadChannels != 0 || cfg.Blocks < 0 || cfg.Patch <= 0 || cfg.Hidden <= 0 {
		return nil, fmt.Errorf("relvit: bad configuration %+v", cfg)
	}
	if size%cfg.Patch != 0 {
		return nil, fmt.Errorf("relvit: image size %d is not a multiple of the patch size %d", size, cfg.Patch)
	}
	if cfg.HeadDrop < 0 || cfg.HeadDrop >= 1 {
		return nil, fmt.Errorf("relvit: head dropout %v is not in [0, 1)", cfg.HeadDrop)
	}
	c, g := cfg.Channels, size/cfg.Patch
	stem := newRelConv("0.0.0", inC, cfg.Hidden, 3, 1, 1, r)
	stem.NoInputGrad = true
	s := &Sequential{Layers: []Layer{stem, &GELU{}, newRelConv("0.0.2", cfg.Hidden, c, cfg.Patch, cfg.Patch, 0, r), NewPosAdd("0.1.pos_embedding", c, g, g, r)}}
	for i := 0; i < cfg.Blocks; i++ {
		p := name("1", i)
		s.Layers = append(s.Layers,
			NewGammaResidual(p+".0", &Sequential{Layers: []Layer{
				NewLayerNormChannels(p+".0.residual.0.norm", c),
				NewSelfAttention2d(p+".0.residual.1", c, cfg.HeadChannels, g, g, r)}}),
			NewGammaResidual(p+".1", &Sequential{Layers: []Layer{
				NewLayerNormChannels(p+".1.residual.0.norm", c),
				newRelConv(p+".1.residual.1.0", c, 4*c, 1, 1, 0, r), &GELU{InPlace: true},
				newRelConv(p+".1.residual.1.2", 4*c, c, 1, 1, 0, r)}}))
	}
	head := &Linear{In: c, Out: classes, Weight: newParam("2.5.weight", classes, c), Bias: newParam("2.5.bias", classes)}
	kaimingNormal(r, head.Weight.W, c)
	head.Bias.Decay = false
	// The dropout stream comes last, so it does not shift the initialisation.
	s.Layers = append(s.Layers, NewLayerNormChannels("2.0.norm", c), &GELU{}, &GlobalAvgPool{},
		&Dropout{P: cfg.HeadDrop, R: NewRNG(r.Uint64())}, head)
	return s, nil
}

// GammaResidual computes x + gamma·f(x) with one learned scalar gamma
// (parameter PREFIX.gamma, shape [1], initialised to 0, no weight decay).
// Its parameters come in PyTorch's order: gamma, then f's.
type GammaResidual struct {
	F     Layer
	Gamma *Param
	f     *Tensor
	y     *Tensor
	df    *Tensor // gamma·dy, then dx
}

// NewGammaResidual returns x + gamma·f(x) named prefix.
func NewGammaResidual(prefix string, f Layer) *GammaResidual {
	g := newParam(prefix+".gamma", 1)
	g.Decay = false
	return &GammaResidual{F: f, Gamma: g}
}

// Params implements Layer.
func (r *GammaResidual) Params() []*Param { return append([]*Param{r.Gamma}, r.F.Params()...) }

// Forward implements Layer.
func (r *GammaResidual) Forward(c *Ctx, x *Tensor) *Tensor {
	f := r.F.Forward(c, x)
	r.f = f
	g := r.Gamma.W[0]
	y := reuse(&r.y, x.Shape...)
	for i := range y.Data {
		y.Data[i] = x.Data[i] + float32(g*f.Data[i])
	}
	return y
}

// Backward implements Layer: dgamma = Σ dy·f (float64, in order),
// df = gamma·dy, dx = dy + f'ᵀ·df. With gamma 0 every gradient inside f is
// exactly 0, as in PyTorch.
func (r *GammaResidual) Backward(c *Ctx, dy *Tensor) *Tensor {
	g := r.Gamma.W[0]
	var s float64
	df := reuse(&r.df, dy.Shape...)
	for i, d := range dy.Data {
		s += float64(float64(d) * float64(r.f.Data[i]))
		df.Data[i] = g * d
	}
	r.Gamma.G[0] += float32(s)
	dfx := r.F.Backward(c, df)
	// df is no longer needed: dx goes into its buffer.
	for i := range df.Data {
		df.Data[i] = dy.Data[i] + dfx.Data[i]
	}
	return df
}

// PosAdd adds a learned (C, H, W) table to every image of [N, C, H, W]
// (the reference's AddPositionEmbedding; N(0, 0.02²), no weight decay).
type PosAdd struct {
	Pos   *Param
	y, dx *Tensor
}

// NewPosAdd returns the position table named name.
func NewPosAdd(name string, c, h, w int, r *RNG) *PosAdd {
	p := newParam(name, c, h, w)
	p.Decay = false
	for i := range p.W {
		p.W[i] = 0.02 * r.Normal()
	}
	return &PosAdd{Pos: p}
}

// Params implements Layer.
func (a *PosAdd) Params() []*Param { return []*Param{a.Pos} }

// Forward implements Layer.
func (a *PosAdd) Forward(c *Ctx, x *Tensor) *Tensor {
	m := len(a.Pos.W)
	if len(x.Data)%m != 0 || x.Shape[1]*spatial(x.Shape) != m {
		panic(fmt.Sprintf("nn: PosAdd table %v does not fit input %v", a.Pos.Shape, x.Shape))
	}
	y := reuse(&a.y, x.Shape...)
	for b := 0; b < x.Shape[0]; b++ {
		for i, p := range a.Pos.W {
			y.Data[b*m+i] = x.Data[b*m+i] + p
		}
	}
	return y
}

// Backward implements Layer.
func (a *PosAdd) Backward(c *Ctx, dy *Tensor) *Tensor {
	m, n := len(a.Pos.W), dy.Shape[0]
	for i := range a.Pos.G {
		var s float64
		for b := 0; b < n; b++ {
			s += float64(dy.Data[b*m+i])
		}
		a.Pos.G[i] += float32(s)
	}
	dx := reuse(&a.dx, dy.Shape...)
	copy(dx.Data, dy.Data)
	return dx
}

// LayerNormChannels is nn.LayerNorm(C) (eps 1e-5) over the channel axis of
// [N, C, H, W] at every pixel (the reference's transpose(1, −1), norm,
// transpose back), with per-channel weight and bias (no weight decay).
type LayerNormChannels struct {
	C            int
	Eps          float32
	Weight, Bias *Param

	xhat  []float32 // NCHW
	rstd  []float32 // [N·H·W]
	shape []int
	y, dx *Tensor
}

// NewLayerNormChannels returns the norm with weight 1, bias 0; name is the
// LayerNorm's (e.g. "2.0.norm").
func NewLayerNormChannels(name string, c int) *LayerNormChannels {
	l := &LayerNormChannels{C: c, Eps: 1e-5, Weight: newParam(name+".weight", c), Bias: newParam(name+".bias", c)}
	l.Weight.Decay, l.Bias.Decay = false, false
	for i := range l.Weight.W {
		l.Weight.W[i] = 1
	}
	return l
}

// Params implements Layer.
func (l *LayerNormChannels) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// Forward implements Layer.
func (l *LayerNormChannels) Forward(c *Ctx, x *Tensor) *Tensor {
	n, hw := x.Shape[0], spatial(x.Shape)
	l.shape = x.Shape
	reuseF32(&l.xhat, len(x.Data))
	reuseF32(&l.rstd, n*hw)
	y := reuse(&l.y, x.Shape...)
	parallel(n, c.threads(), func(lo, hi int) {
		v := make([]float32, l.C)
		o := make([]float32, l.C)
		for b := lo; b < hi; b++ {
			base := b * l.C * hw
			for p := 0; p < hw; p++ {
				for j := 0; j < l.C; j++ {
					v[j] = x.Data[base+j*hw+p]
				}
				l.rstd[b*hw+p] = normalize(v, o, l.Eps)
				for j := 0; j < l.C; j++ {
					l.xhat[base+j*hw+p] = o[j]
					y.Data[base+j*hw+p] = float32(o[j]*l.Weight.W[j]) + l.Bias.W[j]
				}
			}
		}
	})
	return y
}

// Backward implements Layer.
func (l *LayerNormChannels) Backward(c *Ctx, dy *Tensor) *Tensor {
	n, hw := l.shape[0], spatial(l.shape)
	affineBackward(c, dy.Data, l.xhat, n, l.C, hw, l.Weight.G, l.Bias.G)
	dx := reuse(&l.dx, l.shape...)
	parallel(n, c.threads(), func(lo, hi int) {
		dxh := make([]float32, l.C)
		xh := make([]float32, l.C)
		o := make([]float32, l.C)
		for b := lo; b < hi; b++ {
			base := b * l.C * hw
			for p := 0; p < hw; p++ {
				for j := 0; j < l.C; j++ {
					dxh[j] = dy.Data[base+j*hw+p] * l.Weight.W[j]
					xh[j] = l.xhat[base+j*hw+p]
				}
				normBackward(dxh, xh, o, l.rstd[b*hw+p])
				for j := 0; j < l.C; j++ {
					dx.Data[base+j*hw+p] = o[j]
				}
			}
		}
	})
	return dx
}

// SelfAttention2d is the reference's attention over the H·W pixels of
// [N, C, H, W]: keys, queries, values and unifyheads are 1×1 convolutions
// with bias; per head (C/HeadChannels heads of HeadChannels channels),
// att[i][j] = keys[:,i]·queries[:,j]·HeadChannels^−½ + rel[i][j] for key
// pixel i and query pixel j, softmax over the keys i (PyTorch dim −2),
// out[:,j] = Σ_i values[:,i]·att[i][j], then unifyheads. rel[i][j] =
// pos_enc[head][(y_i−y_j+H−1)·(2W−1) + x_i−x_j+W−1] (parameter PREFIX.pos_enc,
// heads × (2H−1)(2W−1), N(0, 0.02²), no weight decay).
//
// Parameter order as PyTorch's: pos_enc, to_keys, to_queries, to_values,
// unifyheads. The probabilities are kept query-major, prob[j][i], so the
// softmax runs along contiguous rows; Backward overwrites them with the
// gradient of the scores, so each Backward needs its own Forward.
type SelfAttention2d struct {
	C, HeadChannels, H, W int
	Keys, Queries, Values *Conv2d
	Unify                 *Conv2d
	PosEnc                *Param

	rel        []int32   // [T·T]: rel index of (query j, key i) at j·T+i
	prob       []float32 // [N, heads, T(query), T(key)]
	k, q, v    *Tensor
	o          *Tensor
	dx         *Tensor
	dk, dq, dv *Tensor
}

// NewSelfAttention2d returns the attention named prefix (e.g. "1.0.0.residual.1")
// for c channels on h×w maps.
func NewSelfAttention2d(prefix string, c, headChannels, h, w int, r *RNG) *SelfAttention2d {
	heads := c / headChannels
	a := &SelfAttention2d{C: c, HeadChannels: headChannels, H: h, W: w}
	// pos_enc first, in PyTorch's parameter order (the fixture test copies
	// PyTorch's initial values, so the draw order need not be PyTorch's).
	a.PosEnc = newParam(prefix+".pos_enc", heads, (2*h-1)*(2*w-1))
	a.PosEnc.Decay = false
	for i := range a.PosEnc.W {
		a.PosEnc.W[i] = 0.02 * r.Normal()
	}
	a.Keys = newRelConv(prefix+".to_keys", c, c, 1, 1, 0, r)
	a.Queries = newRelConv(prefix+".to_queries", c, c, 1, 1, 0, r)
	a.Values = newRelConv(prefix+".to_values", c, c, 1, 1, 0, r)
	a.Unify = newRelConv(prefix+".unifyheads", c, c, 1, 1, 0, r)
	t := h * w
	a.rel = make([]int32, t*t)
	for j := 0; j < t; j++ {
		yj, xj := j/w, j%w
		for i := 0; i < t; i++ {
			yi, xi := i/w, i%w
			a.rel[j*t+i] = int32((yi-yj+h-1)*(2*w-1) + xi - xj + w - 1)
		}
	}
	return a
}

// Params implements Layer.
func (a *SelfAttention2d) Params() []*Param {
	ps := []*Param{a.PosEnc}
	for _, c := range []*Conv2d{a.Keys, a.Queries, a.Values, a.Unify} {
		ps = append(ps, c.Params()...)
	}
	return ps
}

func (a *SelfAttention2d) scale() float32 {
	return float32(math.Pow(float64(a.HeadChannels), -0.5))
}

// Forward implements Layer.
func (a *SelfAttention2d) Forward(c *Ctx, x *Tensor) *Tensor {
	n, t := x.Shape[0], a.H*a.W
	if x.Shape[1] != a.C || spatial(x.Shape) != t {
		panic(fmt.Sprintf("nn: SelfAttention2d for %d×%d×%d got input %v", a.C, a.H, a.W, x.Shape))
	}
	heads, hc := a.C/a.HeadChannels, a.HeadChannels
	a.k = a.Keys.Forward(c, x)
	a.q = a.Queries.Forward(c, x)
	a.v = a.Values.Forward(c, x)
	o := reuse(&a.o, x.Shape...)
	reuseF32(&a.prob, n*heads*t*t)
	scale := a.scale()
	k, q, v := a.k.Data, a.q.Data, a.v.Data
	parallel(n*heads, c.threads(), func(lo, hi int) {
		for nh := lo; nh < hi; nh++ {
			h := nh % heads
			base := nh * hc * t // (b·C + h·hc)·T
			p := a.prob[nh*t*t : (nh+1)*t*t]
			// scores[j][i] = Σ_c q[c][j]·k[c][i]: qᵀ·k.
			GemmM(t, t, hc, Mat{Data: q, Off: base, RS: 1, CS: t}, Mat{Data: k, Off: base, RS: t, CS: 1}, p, t, false, 1)
			pe := a.PosEnc.W[h*len(a.PosEnc.W)/heads:]
			for j := 0; j < t; j++ {
				row := p[j*t : (j+1)*t]
				rel := a.rel[j*t : (j+1)*t]
				for i, s := range row {
					row[i] = float32(s*scale) + pe[rel[i]]
				}
				softmaxRow(row, 1)
			}
			// o[c][j] = Σ_i v[c][i]·p[j][i]: v·pᵀ.
			Gemm(hc, t, t, v[base:], t, Mat{Data: p, RS: 1, CS: t}, o.Data[base:], t, false, 1)
		}
	})
	return a.Unify.Forward(c, o)
}

// Backward implements Layer. The gradients of the keys, queries and values
// are written over the keys, queries and values themselves (each after its
// last read), and the input gradient over the keys convolution's, to save
// four activation-sized buffers per block.
func (a *SelfAttention2d) Backward(c *Ctx, dy *Tensor) *Tensor {
	do := a.Unify.Backward(c, dy)
	n, t := do.Shape[0], a.H*a.W
	heads, hc := a.C/a.HeadChannels, a.HeadChannels
	scale := a.scale()
	k, q, v := a.k.Data, a.q.Data, a.v.Data
	parallel(n*heads, c.threads(), func(lo, hi int) {
		dp := make([]float32, t*t)
		ds := make([]float32, t*t)
		dq := make([]float32, hc*t)
		for nh := lo; nh < hi; nh++ {
			base := nh * hc * t
			p := a.prob[nh*t*t : (nh+1)*t*t]
			// dp[j][i] = Σ_c do[c][j]·v[c][i]: doᵀ·v; then dv = do·p over v.
			GemmM(t, t, hc, Mat{Data: do.Data, Off: base, RS: 1, CS: t}, Mat{Data: v, Off: base, RS: t, CS: 1}, dp, t, false, 1)
			Gemm(hc, t, t, do.Data[base:], t, Mat{Data: p, RS: t, CS: 1}, v[base:], t, false, 1)
			// Softmax over each query's keys: dscore = p ⊙ (dp − Σ_i p·dp);
			// it goes to pos_enc as is (kept in p) and to the keys and
			// queries times scale.
			for j := 0; j < t; j++ {
				pr, dr := p[j*t:(j+1)*t], dp[j*t:(j+1)*t]
				var s float64
				for i := range pr {
					s += float64(float64(pr[i]) * float64(dr[i]))
				}
				sr := ds[j*t : (j+1)*t]
				for i := range pr {
					g := float32(float64(pr[i]) * (float64(dr[i]) - s))
					pr[i] = g
					sr[i] = g * scale
				}
			}
			// dq[c][j] = Σ_i k[c][i]·ds[j][i]: k·dsᵀ; dk[c][i] = Σ_j q[c][j]·ds[j][i]: q·ds,
			// written over k once dq has read it; then dq over q.
			Gemm(hc, t, t, k[base:], t, Mat{Data: ds, RS: 1, CS: t}, dq, t, false, 1)
			Gemm(hc, t, t, q[base:], t, Mat{Data: ds, RS: t, CS: 1}, k[base:], t, false, 1)
			copy(q[base:base+hc*t], dq)
		}
	})
	// pos_enc: per head, the score gradients summed over images, then
	// (query, key) pairs, in order (float64).
	m := len(a.PosEnc.W) / heads
	parallel(heads, c.threads(), func(lo, hi int) {
		acc := make([]float64, m)
		for h := lo; h < hi; h++ {
			clear(acc)
			for b := 0; b < n; b++ {
				p := a.prob[(b*heads+h)*t*t : (b*heads+h+1)*t*t]
				for e, g := range p {
					acc[a.rel[e]] += float64(g)
				}
			}
			for i, s := range acc {
				a.PosEnc.G[h*m+i] += float32(s)
			}
		}
	})
	dx := a.Keys.Backward(c, a.k)
	gq := a.Queries.Backward(c, a.q)
	gv := a.Values.Backward(c, a.v)
	for i := range dx.Data {
		dx.Data[i] = dx.Data[i] + gq.Data[i] + gv.Data[i]
	}
	return dx
}

// Dropout zeroes each value with probability P in training and scales the
// rest by 1/(1−P) (PyTorch nn.Dropout); in evaluation, or with P 0, it is
// the identity. The mask comes from R (lmgc's seeded stream, one Float32
// per value in order), so a run is reproducible, but it is not PyTorch's
// mask: comparisons against PyTorch run with P 0.
type Dropout struct {
	P    float32
	R    *RNG
	mask []float32
	on   bool
	y    *Tensor
	dx   *Tensor
}

// Params implements Layer.
func (*Dropout) Params() []*Param { return nil }

// Forward implements Layer.
func (d *Dropout) Forward(c *Ctx, x *Tensor) *Tensor {
	d.on = c.Train && d.P > 0
	if !d.on {
		return x
	}
	keep := float32(1 / (1 - float64(d.P)))
	m := reuseF32(&d.mask, len(x.Data))
	y := reuse(&d.y, x.Shape...)
	for i, v := range x.Data {
		m[i] = 0
		if d.R.Float32() >= d.P {
			m[i] = keep
		}
		y.Data[i] = v * m[i]
	}
	return y
}

// Backward implements Layer.
func (d *Dropout) Backward(c *Ctx, dy *Tensor) *Tensor {
	if !d.on {
		return dy
	}
	dx := reuse(&d.dx, dy.Shape...)
	for i, g := range dy.Data {
		dx.Data[i] = g * d.mask[i]
	}
	return dx
}
