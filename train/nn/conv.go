package nn

import "math"

// Conv2d is a 2-D convolution over NCHW input with square kernel, stride
// and zero padding, computed as im2col followed by one matrix multiply
// for the whole batch.
type Conv2d struct {
	InC, OutC, K, Stride, Pad int
	Weight, Bias              *Param // Bias is nil when disabled
	// NoInputGrad skips computing dLoss/dInput (Backward returns nil);
	// set on a network's first layer, whose input is the data.
	NoInputGrad bool

	x      *Tensor
	cols   []float32 // [InC*K*K][N*OH*OW]
	oh, ow int
	wt     []float32
	y, dx  *Tensor
}

// NewConv2d returns a convolution with PyTorch's default initialisation
// (kaiming-uniform with a=√5: U(±1/√fan_in) for weight and bias).
func NewConv2d(name string, inC, outC, k, stride, pad int, bias bool, r *RNG) *Conv2d {
	c := &Conv2d{InC: inC, OutC: outC, K: k, Stride: stride, Pad: pad}
	c.Weight = newParam(name+".weight", outC, inC, k, k)
	bound := float32(1 / math.Sqrt(float64(inC*k*k)))
	uniform(r, c.Weight.W, bound)
	if bias {
		c.Bias = newParam(name+".bias", outC)
		uniform(r, c.Bias.W, bound)
	}
	return c
}

func uniform(r *RNG, w []float32, bound float32) {
	for i := range w {
		w[i] = (float32(r.Float32()*2) - 1) * bound
	}
}

// Params implements Layer.
func (c *Conv2d) Params() []*Param {
	if c.Bias == nil {
		return []*Param{c.Weight}
	}
	return []*Param{c.Weight, c.Bias}
}

// Forward implements Layer.
func (c *Conv2d) Forward(ctx *Ctx, x *Tensor) *Tensor {
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	oh := (h+2*c.Pad-c.K)/c.Stride + 1
	ow := (w+2*c.Pad-c.K)/c.Stride + 1
	c.x, c.oh, c.ow = x, oh, ow
	ckk := c.InC * c.K * c.K
	cols := n * oh * ow
	if cap(c.cols) < ckk*cols {
		c.cols = make([]float32, ckk*cols)
	}
	c.cols = c.cols[:ckk*cols]
	c.im2col(ctx, x)
	// One product per image, written straight into NCHW order.
	y := reuse(&c.y, n, c.OutC, oh, ow)
	hw := oh * ow
	for b := 0; b < n; b++ {
		out := y.Data[b*c.OutC*hw : (b+1)*c.OutC*hw]
		Gemm(c.OutC, hw, ckk, c.Weight.W, ckk, Mat{Data: c.cols, Off: b * hw, RS: cols, CS: 1}, out, hw, false, ctx.threads())
		if c.Bias != nil {
			for o := 0; o < c.OutC; o++ {
				bv := c.Bias.W[o]
				row := out[o*hw : (o+1)*hw]
				for i := range row {
					row[i] += bv
				}
			}
		}
	}
	return y
}

func (c *Conv2d) im2col(ctx *Ctx, x *Tensor) {
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	oh, ow, k := c.oh, c.ow, c.K
	hw := oh * ow
	cols := n * hw
	parallel(c.InC*k*k, ctx.threads(), func(lo, hi int) {
		for row := lo; row < hi; row++ {
			ch, ky, kx := row/(k*k), row/k%k, row%k
			out := c.cols[row*cols : (row+1)*cols]
			for b := 0; b < n; b++ {
				src := x.Data[(b*c.InC+ch)*h*w : (b*c.InC+ch+1)*h*w]
				o := out[b*hw : (b+1)*hw]
				for oy := 0; oy < oh; oy++ {
					iy := oy*c.Stride - c.Pad + ky
					line := o[oy*ow : (oy+1)*ow]
					if iy < 0 || iy >= h {
						clear(line)
						continue
					}
					for ox := range line {
						ix := ox*c.Stride - c.Pad + kx
						if ix < 0 || ix >= w {
							line[ox] = 0
						} else {
							line[ox] = src[iy*w+ix]
						}
					}
				}
			}
		}
	})
}

// Backward implements Layer.
func (c *Conv2d) Backward(ctx *Ctx, dy *Tensor) *Tensor {
	x := c.x
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	hw := c.oh * c.ow
	cols := n * hw
	ckk := c.InC * c.K * c.K
	th := ctx.threads()
	if c.Bias != nil {
		for o := 0; o < c.OutC; o++ {
			var s float32
			for b := 0; b < n; b++ {
				for _, v := range dy.Data[(b*c.OutC+o)*hw : (b*c.OutC+o+1)*hw] {
					s += v
				}
			}
			c.Bias.G[o] += s
		}
	}
	// Per image b: dW += dy_b · cols_bᵀ (so each dW element sums over
	// (image, pixel) in order), and dcols_b = Wᵀ · dy_b, written over the
	// cols buffer.
	wt := reuseF32(&c.wt, len(c.Weight.W))
	for i := 0; i < c.OutC; i++ {
		for j := 0; j < ckk; j++ {
			wt[j*c.OutC+i] = c.Weight.W[i*ckk+j]
		}
	}
	for b := 0; b < n; b++ {
		dyb := dy.Data[b*c.OutC*hw : (b+1)*c.OutC*hw]
		Gemm(c.OutC, ckk, hw, dyb, hw, Mat{Data: c.cols, Off: b * hw, RS: 1, CS: cols}, c.Weight.G, ckk, true, th)
		if c.NoInputGrad {
			continue
		}
		Gemm(ckk, hw, c.OutC, wt, c.OutC, Mat{Data: dyb, RS: hw, CS: 1}, c.cols[b*hw:], cols, false, th)
	}
	if c.NoInputGrad {
		return nil
	}
	// col2im: each (image, channel) plane is owned by one goroutine; the
	// contributions are added in (ky, kx, oy, ox) order.
	dx := reuse(&c.dx, x.Shape...)
	k := c.K
	parallel(n*c.InC, th, func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			b, ch := bc/c.InC, bc%c.InC
			dst := dx.Data[bc*h*w : (bc+1)*h*w]
			clear(dst)
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					row := (ch*k+ky)*k + kx
					src := c.cols[row*cols+b*hw : row*cols+(b+1)*hw]
					for oy := 0; oy < c.oh; oy++ {
						iy := oy*c.Stride - c.Pad + ky
						if iy < 0 || iy >= h {
							continue
						}
						for ox := 0; ox < c.ow; ox++ {
							ix := ox*c.Stride - c.Pad + kx
							if ix >= 0 && ix < w {
								dst[iy*w+ix] += src[oy*c.ow+ox]
							}
						}
					}
				}
			}
		}
	})
	return dx
}
