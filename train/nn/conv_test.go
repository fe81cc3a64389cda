package nn

import (
	"math"
	"testing"
)

// directConv is the plain-loop reference for Conv2d with the accumulation
// orders Conv2d documents: y[b,o,oy,ox] sums w·x over (ch, ky, kx) in
// order (padding taps included, as zeros) and then adds the bias; dW sums
// dy·x over (b, oy, ox) in order, starting from the old gradient; dx is
// col2im of dcols = Wᵀ·dy (summed over o in order), added in (ky, kx, oy,
// ox) order.
func directConv(c *Conv2d, x, dy *Tensor) (y []float32, dw, dbias, dx []float32) {
	n, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	oh := (h+2*c.Pad-c.K)/c.Stride + 1
	ow := (w+2*c.Pad-c.K)/c.Stride + 1
	k := c.K
	xat := func(b, ch, iy, ix int) float32 {
		if iy < 0 || iy >= h || ix < 0 || ix >= w {
			return 0
		}
		return x.Data[((b*c.InC+ch)*h+iy)*w+ix]
	}
	wat := func(o, ch, ky, kx int) float32 { return c.Weight.W[((o*c.InC+ch)*k+ky)*k+kx] }
	y = make([]float32, n*c.OutC*oh*ow)
	for b := 0; b < n; b++ {
		for o := 0; o < c.OutC; o++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float32
					for ch := 0; ch < c.InC; ch++ {
						for ky := 0; ky < k; ky++ {
							for kx := 0; kx < k; kx++ {
								s += float32(wat(o, ch, ky, kx) * xat(b, ch, oy*c.Stride-c.Pad+ky, ox*c.Stride-c.Pad+kx))
							}
						}
					}
					if c.Bias != nil {
						s += c.Bias.W[o]
					}
					y[((b*c.OutC+o)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	dyat := func(b, o, oy, ox int) float32 { return dy.Data[((b*c.OutC+o)*oh+oy)*ow+ox] }
	dw = append([]float32(nil), c.Weight.G...)
	for o := 0; o < c.OutC; o++ {
		for ch := 0; ch < c.InC; ch++ {
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					i := ((o*c.InC+ch)*k+ky)*k + kx
					s := dw[i]
					for b := 0; b < n; b++ {
						for oy := 0; oy < oh; oy++ {
							for ox := 0; ox < ow; ox++ {
								s += float32(dyat(b, o, oy, ox) * xat(b, ch, oy*c.Stride-c.Pad+ky, ox*c.Stride-c.Pad+kx))
							}
						}
					}
					dw[i] = s
				}
			}
		}
	}
	if c.Bias != nil {
		dbias = append([]float32(nil), c.Bias.G...)
		for o := range dbias {
			var s float32
			for b := 0; b < n; b++ {
				for i := 0; i < oh*ow; i++ {
					s += dy.Data[(b*c.OutC+o)*oh*ow+i]
				}
			}
			dbias[o] += s
		}
	}
	dx = make([]float32, len(x.Data))
	for b := 0; b < n; b++ {
		for ch := 0; ch < c.InC; ch++ {
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					for oy := 0; oy < oh; oy++ {
						for ox := 0; ox < ow; ox++ {
							iy, ix := oy*c.Stride-c.Pad+ky, ox*c.Stride-c.Pad+kx
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							var s float32
							for o := 0; o < c.OutC; o++ {
								s += float32(wat(o, ch, ky, kx) * dyat(b, o, oy, ox))
							}
							dx[((b*c.InC+ch)*h+iy)*w+ix] += s
						}
					}
				}
			}
		}
	}
	return y, dw, dbias, dx
}

// TestConvMatchesDirect checks Conv2d's im2col + batched GEMM forward and
// backward against directConv bit for bit, over strides, paddings, kernel
// sizes and thread counts.
func TestConvMatchesDirect(t *testing.T) {
	cases := []struct{ inC, outC, k, stride, pad, n, size int }{
		{3, 8, 3, 1, 1, 3, 9},
		{5, 7, 3, 1, 3, 2, 7}, // the MNIST ConvNet's pad 3
		{4, 13, 3, 2, 1, 2, 8},
		{6, 5, 1, 2, 0, 3, 6}, // ResNet shortcut
		{6, 5, 1, 1, 0, 3, 6}, // pointwise (RelViT), with bias
		{40, 7, 1, 1, 0, 2, 3},
		{2, 6, 2, 2, 0, 2, 8}, // ViT patch embedding
		{3, 4, 3, 1, 0, 1, 5},
		{8, 17, 3, 1, 1, 4, 2}, // 2×2 maps, as VGG's last block
	}
	for _, tc := range cases {
		for _, threads := range []int{1, 3} {
			r := NewRNG(uint64(tc.inC*100 + tc.k))
			c := NewConv2d("c", tc.inC, tc.outC, tc.k, tc.stride, tc.pad, tc.k != 1 || tc.stride == 1, r)
			uniform(r, c.Weight.G, 0.5) // start from a non-zero gradient: dW accumulates
			if c.Bias != nil {
				uniform(r, c.Bias.G, 0.5)
			}
			x := randTensor(r, tc.n, tc.inC, tc.size, tc.size)
			ctx := &Ctx{Threads: threads, Train: true}
			y := c.Forward(ctx, x)
			dy := randTensor(r, y.Shape...)
			wantY, wantDW, wantDB, wantDX := directConv(c, x, dy)
			dx := c.Backward(ctx, dy)
			same := func(what string, got, want []float32) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%+v threads %d: %s has %d values, want %d", tc, threads, what, len(got), len(want))
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%+v threads %d: %s[%d] = %v, direct loop gives %v", tc, threads, what, i, got[i], want[i])
					}
				}
			}
			same("output", y.Data, wantY)
			same("weight gradient", c.Weight.G, wantDW)
			if c.Bias != nil {
				same("bias gradient", c.Bias.G, wantDB)
			}
			same("input gradient", dx.Data, wantDX)
		}
	}
}
