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
	yc     []float32 // [OutC][N*OH*OW]: the output (forward) or dy (backward), channel-major
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
	if c.pointwise() {
		return c.forward1x1(ctx, x)
	}
	ckk := c.InC * c.K * c.K
	cols := n * oh * ow
	if cap(c.cols) < ckk*cols {
		c.cols = make([]float32, ckk*cols)
	}
	c.cols = c.cols[:ckk*cols]
	c.im2col(ctx, x)
	// One product for the whole batch, [OutC][N·OH·OW], then scattered
	// into NCHW order with the bias added. Each output element is the same
	// k-ordered sum as with one product per image.
	y := reuse(&c.y, n, c.OutC, oh, ow)
	hw := oh * ow
	yc := reuseF32(&c.yc, c.OutC*cols)
	Gemm(c.OutC, cols, ckk, c.Weight.W, ckk, Mat{Data: c.cols, RS: cols, CS: 1}, yc, cols, false, ctx.threads())
	parallel(n*c.OutC, ctx.threads(), func(lo, hi int) {
		for bo := lo; bo < hi; bo++ {
			b, o := bo/c.OutC, bo%c.OutC
			out := y.Data[bo*hw : (bo+1)*hw]
			copy(out, yc[o*cols+b*hw:o*cols+(b+1)*hw])
			if c.Bias != nil {
				bv := c.Bias.W[o]
				for i := range out {
					out[i] += bv
				}
			}
		}
	})
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
			x0, x1 := c.taps(kx, w)
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
					clear(line[:x0])
					clear(line[x1:])
					base := iy*w + x0*c.Stride - c.Pad + kx
					if c.Stride == 1 {
						copy(line[x0:x1], src[base:])
						continue
					}
					for i := range line[x0:x1] {
						line[x0+i] = src[base+i*c.Stride]
					}
				}
			}
		}
	})
}

// taps returns the output columns [x0, x1) whose kernel column kx lands
// inside an input row of width w (ix = ox·Stride − Pad + kx in [0, w));
// the columns outside it read the zero padding.
func (c *Conv2d) taps(kx, w int) (x0, x1 int) {
	ceilDiv := func(a int) int { return (max(a, 0) + c.Stride - 1) / c.Stride }
	x0 = min(ceilDiv(c.Pad-kx), c.ow)
	x1 = min(max(ceilDiv(w+c.Pad-kx), x0), c.ow)
	return x0, x1
}

// Backward implements Layer.
func (c *Conv2d) Backward(ctx *Ctx, dy *Tensor) *Tensor {
	x := c.x
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	hw := c.oh * c.ow
	cols := n * hw
	ckk := c.InC * c.K * c.K
	th := ctx.threads()
	if c.pointwise() {
		return c.backward1x1(ctx, dy)
	}
	// dy in channel-major order, [OutC][N·OH·OW]; each channel's row is
	// also its bias gradient's sum, over (image, pixel) in order.
	dyc := reuseF32(&c.yc, c.OutC*cols)
	parallel(c.OutC, th, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			row := dyc[o*cols : (o+1)*cols]
			for b := 0; b < n; b++ {
				copy(row[b*hw:(b+1)*hw], dy.Data[(b*c.OutC+o)*hw:(b*c.OutC+o+1)*hw])
			}
			if c.Bias != nil {
				var s float32
				for _, v := range row {
					s += v
				}
				c.Bias.G[o] += s
			}
		}
	})
	// dW += dy · colsᵀ (each dW element sums over (image, pixel) in order),
	// then dcols = Wᵀ · dy, written over the cols buffer.
	Gemm(c.OutC, ckk, cols, dyc, cols, Mat{Data: c.cols, RS: 1, CS: cols}, c.Weight.G, ckk, true, th)
	if c.NoInputGrad {
		return nil
	}
	GemmM(ckk, cols, c.OutC, Mat{Data: c.Weight.W, RS: 1, CS: ckk}, Mat{Data: dyc, RS: cols, CS: 1}, c.cols, cols, false, th)
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
					x0, x1 := c.taps(kx, w)
					for oy := 0; oy < c.oh; oy++ {
						iy := oy*c.Stride - c.Pad + ky
						if iy < 0 || iy >= h {
							continue
						}
						base := iy*w + x0*c.Stride - c.Pad + kx
						for i, v := range src[oy*c.ow+x0 : oy*c.ow+x1] {
							dst[base+i*c.Stride] += v
						}
					}
				}
			}
		}
	})
	return dx
}

// pointwise reports a 1×1 convolution with stride 1 and no padding, whose
// im2col matrix of one image is the image itself ([InC][H·W]).
func (c *Conv2d) pointwise() bool { return c.K == 1 && c.Stride == 1 && c.Pad == 0 }

// forward1x1 is Forward for pointwise convolutions without the im2col and
// channel-major copies: one product per image, y_b = W·x_b (+ bias). Each
// output element is the same k-ordered sum as the batched product.
func (c *Conv2d) forward1x1(ctx *Ctx, x *Tensor) *Tensor {
	n, hw := x.Shape[0], c.oh*c.ow
	y := reuse(&c.y, n, c.OutC, c.oh, c.ow)
	th := ctx.threads()
	for b := 0; b < n; b++ {
		Gemm(c.OutC, hw, c.InC, c.Weight.W, c.InC, Mat{Data: x.Data, Off: b * c.InC * hw, RS: hw, CS: 1}, y.Data[b*c.OutC*hw:], hw, false, th)
	}
	if c.Bias != nil {
		parallel(n*c.OutC, th, func(lo, hi int) {
			for bo := lo; bo < hi; bo++ {
				bv := c.Bias.W[bo%c.OutC]
				out := y.Data[bo*hw : (bo+1)*hw]
				for i := range out {
					out[i] += bv
				}
			}
		})
	}
	return y
}

// backward1x1 is Backward for pointwise convolutions: the bias gradient
// sums dy over (image, pixel) in order, dW += dy_b·x_bᵀ image after image
// (the same order as the batched product over (image, pixel)), and
// dx_b = Wᵀ·dy_b.
func (c *Conv2d) backward1x1(ctx *Ctx, dy *Tensor) *Tensor {
	x := c.x
	n, hw := x.Shape[0], c.oh*c.ow
	th := ctx.threads()
	if c.Bias != nil {
		parallel(c.OutC, th, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				var s float32
				for b := 0; b < n; b++ {
					for _, v := range dy.Data[(b*c.OutC+o)*hw : (b*c.OutC+o+1)*hw] {
						s += v
					}
				}
				c.Bias.G[o] += s
			}
		})
	}
	for b := 0; b < n; b++ {
		Gemm(c.OutC, c.InC, hw, dy.Data[b*c.OutC*hw:], hw, Mat{Data: x.Data, Off: b * c.InC * hw, RS: 1, CS: hw}, c.Weight.G, c.InC, true, th)
	}
	if c.NoInputGrad {
		return nil
	}
	dx := reuse(&c.dx, x.Shape...)
	for b := 0; b < n; b++ {
		GemmM(c.InC, hw, c.OutC, Mat{Data: c.Weight.W, RS: 1, CS: c.InC}, Mat{Data: dy.Data, Off: b * c.OutC * hw, RS: hw, CS: 1}, dx.Data[b*c.InC*hw:], hw, false, th)
	}
	return dx
}
