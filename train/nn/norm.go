package nn

import "math"

// GroupNorm normalises each (image, group) over its channels and pixels,
// then applies a per-channel affine transform (PyTorch nn.GroupNorm).
type GroupNorm struct {
	Groups, C    int
	Eps          float32
	Weight, Bias *Param

	xhat  []float32
	rstd  []float32 // [N*Groups]
	shape []int
	y, dx *Tensor
}

// NewGroupNorm returns GroupNorm with weight 1 and bias 0 (eps 1e-5).
func NewGroupNorm(name string, groups, c int) *GroupNorm {
	g := &GroupNorm{Groups: groups, C: c, Eps: 1e-5}
	g.Weight = newParam(name+".weight", c)
	g.Bias = newParam(name+".bias", c)
	for i := range g.Weight.W {
		g.Weight.W[i] = 1
	}
	return g
}

// Params implements Layer.
func (g *GroupNorm) Params() []*Param { return []*Param{g.Weight, g.Bias} }

func spatial(shape []int) int {
	s := 1
	for _, d := range shape[2:] {
		s *= d
	}
	return s
}

// normalize computes mean and 1/std of v (float64 sums in index order)
// and writes the normalised values to out. It returns 1/std.
func normalize(v, out []float32, eps float32) float32 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	mean := s / float64(len(v))
	var q float64
	for _, x := range v {
		d := float64(x) - mean
		q += float64(d * d)
	}
	rstd := 1 / math.Sqrt(q/float64(len(v))+float64(eps))
	for i, x := range v {
		out[i] = float32((float64(x) - mean) * rstd)
	}
	return float32(rstd)
}

// normBackward returns dx for x̂ = (x-μ)·rstd over one normalisation set,
// given dx̂: dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
func normBackward(dxhat, xhat, dx []float32, rstd float32) {
	var s, sx float64
	for i, d := range dxhat {
		s += float64(d)
		sx += float64(float64(d) * float64(xhat[i]))
	}
	m := float64(len(dxhat))
	ms, msx := s/m, sx/m
	for i, d := range dxhat {
		dx[i] = float32(float64(rstd) * (float64(d) - ms - float64(float64(xhat[i])*msx)))
	}
}

// Forward implements Layer.
func (g *GroupNorm) Forward(c *Ctx, x *Tensor) *Tensor {
	n, hw := x.Shape[0], spatial(x.Shape)
	cg := g.C / g.Groups
	g.shape = x.Shape
	reuseF32(&g.xhat, len(x.Data))
	reuseF32(&g.rstd, n*g.Groups)
	y := reuse(&g.y, x.Shape...)
	parallel(n*g.Groups, c.threads(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			a, b := i*cg*hw, (i+1)*cg*hw
			g.rstd[i] = normalize(x.Data[a:b], g.xhat[a:b], g.Eps)
			grp := i % g.Groups
			for j := 0; j < cg; j++ {
				ch := grp*cg + j
				wv, bv := g.Weight.W[ch], g.Bias.W[ch]
				o := a + j*hw
				for p := 0; p < hw; p++ {
					y.Data[o+p] = float32(g.xhat[o+p]*wv) + bv
				}
			}
		}
	})
	return y
}

// Backward implements Layer.
func (g *GroupNorm) Backward(c *Ctx, dy *Tensor) *Tensor {
	n, hw := g.shape[0], spatial(g.shape)
	cg := g.C / g.Groups
	affineBackward(c, dy.Data, g.xhat, n, g.C, hw, g.Weight.G, g.Bias.G)
	dx := reuse(&g.dx, g.shape...)
	parallel(n*g.Groups, c.threads(), func(lo, hi int) {
		dxhat := make([]float32, cg*hw)
		for i := lo; i < hi; i++ {
			a := i * cg * hw
			grp := i % g.Groups
			for j := 0; j < cg; j++ {
				wv := g.Weight.W[grp*cg+j]
				for p := 0; p < hw; p++ {
					dxhat[j*hw+p] = dy.Data[a+j*hw+p] * wv
				}
			}
			normBackward(dxhat, g.xhat[a:a+cg*hw], dx.Data[a:a+cg*hw], g.rstd[i])
		}
	})
	return dx
}

// affineBackward adds Σ dy·x̂ and Σ dy per channel (images then pixels,
// in order) into dw and db.
func affineBackward(c *Ctx, dy, xhat []float32, n, ch, hw int, dw, db []float32) {
	parallel(ch, c.threads(), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			var sw, sb float64
			for b := 0; b < n; b++ {
				o := (b*ch + k) * hw
				for p := 0; p < hw; p++ {
					sw += float64(float64(dy[o+p]) * float64(xhat[o+p]))
					sb += float64(dy[o+p])
				}
			}
			dw[k] += float32(sw)
			db[k] += float32(sb)
		}
	})
}

// BatchNorm2d normalises each channel over the batch and pixels in
// training (updating running statistics with momentum 0.1, unbiased
// variance, as PyTorch) and with the running statistics in evaluation.
type BatchNorm2d struct {
	C               int
	Eps, Momentum   float32
	Weight, Bias    *Param
	RunMean, RunVar []float32

	xhat  []float32
	rstd  []float32
	shape []int
}

// NewBatchNorm2d returns batch norm with weight 1, bias 0, eps 1e-5.
func NewBatchNorm2d(name string, c int) *BatchNorm2d {
	b := &BatchNorm2d{C: c, Eps: 1e-5, Momentum: 0.1}
	b.Weight = newParam(name+".weight", c)
	b.Bias = newParam(name+".bias", c)
	b.RunMean = make([]float32, c)
	b.RunVar = make([]float32, c)
	for i := 0; i < c; i++ {
		b.Weight.W[i] = 1
		b.RunVar[i] = 1
	}
	return b
}

// Params implements Layer.
func (b *BatchNorm2d) Params() []*Param { return []*Param{b.Weight, b.Bias} }

// Forward implements Layer.
func (b *BatchNorm2d) Forward(c *Ctx, x *Tensor) *Tensor {
	n, hw := x.Shape[0], spatial(x.Shape)
	b.shape = x.Shape
	y := NewTensor(x.Shape...)
	b.xhat = make([]float32, len(x.Data))
	b.rstd = make([]float32, b.C)
	parallel(b.C, c.threads(), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			var mean, rstd float64
			if c.Train {
				var s float64
				for i := 0; i < n; i++ {
					for _, v := range x.Data[(i*b.C+k)*hw : (i*b.C+k+1)*hw] {
						s += float64(v)
					}
				}
				cnt := float64(n * hw)
				mean = s / cnt
				var q float64
				for i := 0; i < n; i++ {
					for _, v := range x.Data[(i*b.C+k)*hw : (i*b.C+k+1)*hw] {
						d := float64(v) - mean
						q += float64(d * d)
					}
				}
				rstd = 1 / math.Sqrt(q/cnt+float64(b.Eps))
				unbiased := q / math.Max(cnt-1, 1)
				m := float64(b.Momentum)
				b.RunMean[k] = float32(float64((1-m)*float64(b.RunMean[k])) + float64(m*mean))
				b.RunVar[k] = float32(float64((1-m)*float64(b.RunVar[k])) + float64(m*unbiased))
			} else {
				mean = float64(b.RunMean[k])
				rstd = 1 / math.Sqrt(float64(b.RunVar[k])+float64(b.Eps))
			}
			b.rstd[k] = float32(rstd)
			wv, bv := b.Weight.W[k], b.Bias.W[k]
			for i := 0; i < n; i++ {
				o := (i*b.C + k) * hw
				for p := 0; p < hw; p++ {
					xh := float32((float64(x.Data[o+p]) - mean) * rstd)
					b.xhat[o+p] = xh
					y.Data[o+p] = float32(xh*wv) + bv
				}
			}
		}
	})
	return y
}

// Backward implements Layer (training-mode statistics).
func (b *BatchNorm2d) Backward(c *Ctx, dy *Tensor) *Tensor {
	n, hw := b.shape[0], spatial(b.shape)
	affineBackward(c, dy.Data, b.xhat, n, b.C, hw, b.Weight.G, b.Bias.G)
	dx := NewTensor(b.shape...)
	parallel(b.C, c.threads(), func(lo, hi int) {
		dxh := make([]float32, n*hw)
		xh := make([]float32, n*hw)
		dxc := make([]float32, n*hw)
		for k := lo; k < hi; k++ {
			wv := b.Weight.W[k]
			for i := 0; i < n; i++ {
				o := (i*b.C + k) * hw
				for p := 0; p < hw; p++ {
					dxh[i*hw+p] = dy.Data[o+p] * wv
					xh[i*hw+p] = b.xhat[o+p]
				}
			}
			normBackward(dxh, xh, dxc, b.rstd[k])
			for i := 0; i < n; i++ {
				copy(dx.Data[(i*b.C+k)*hw:(i*b.C+k+1)*hw], dxc[i*hw:(i+1)*hw])
			}
		}
	})
	return dx
}
