package nn

import "math"

// ReLU is max(x, 0); its gradient at 0 is 0.
type ReLU struct{ y, dx *Tensor }

// Params implements Layer.
func (*ReLU) Params() []*Param { return nil }

// Forward implements Layer.
func (r *ReLU) Forward(c *Ctx, x *Tensor) *Tensor {
	y := reuse(&r.y, x.Shape...)
	for i, v := range x.Data {
		y.Data[i] = max(v, 0)
	}
	return y
}

// Backward implements Layer.
func (r *ReLU) Backward(c *Ctx, dy *Tensor) *Tensor {
	dx := reuse(&r.dx, dy.Shape...)
	for i, v := range r.y.Data {
		g := dy.Data[i]
		if v <= 0 {
			g = 0
		}
		dx.Data[i] = g
	}
	return dx
}

// AvgPool2d averages non-overlapping 2×2 windows (odd edges dropped).
type AvgPool2d struct {
	shape []int
	y, dx *Tensor
}

// Params implements Layer.
func (*AvgPool2d) Params() []*Param { return nil }

// Forward implements Layer.
func (a *AvgPool2d) Forward(c *Ctx, x *Tensor) *Tensor {
	a.shape = x.Shape
	n, ch, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := h/2, w/2
	y := reuse(&a.y, n, ch, oh, ow)
	for p := 0; p < n*ch; p++ {
		src := x.Data[p*h*w:]
		dst := y.Data[p*oh*ow:]
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				s := src[2*i*w+2*j] + src[2*i*w+2*j+1] + src[(2*i+1)*w+2*j] + src[(2*i+1)*w+2*j+1]
				dst[i*ow+j] = s * 0.25
			}
		}
	}
	return y
}

// Backward implements Layer.
func (a *AvgPool2d) Backward(c *Ctx, dy *Tensor) *Tensor {
	n, ch, h, w := a.shape[0], a.shape[1], a.shape[2], a.shape[3]
	oh, ow := h/2, w/2
	dx := reuse(&a.dx, a.shape...)
	if h%2 != 0 || w%2 != 0 {
		clear(dx.Data)
	}
	for p := 0; p < n*ch; p++ {
		src := dy.Data[p*oh*ow:]
		dst := dx.Data[p*h*w:]
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				g := src[i*ow+j] * 0.25
				dst[2*i*w+2*j] = g
				dst[2*i*w+2*j+1] = g
				dst[(2*i+1)*w+2*j] = g
				dst[(2*i+1)*w+2*j+1] = g
			}
		}
	}
	return dx
}

// MaxPool2d takes the maximum of non-overlapping 2×2 windows (the first
// maximum in row-major order receives the gradient).
type MaxPool2d struct {
	shape []int
	arg   []int32
}

// Params implements Layer.
func (*MaxPool2d) Params() []*Param { return nil }

// Forward implements Layer.
func (m *MaxPool2d) Forward(c *Ctx, x *Tensor) *Tensor {
	m.shape = x.Shape
	n, ch, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := h/2, w/2
	y := NewTensor(n, ch, oh, ow)
	m.arg = make([]int32, len(y.Data))
	for p := 0; p < n*ch; p++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				best := p*h*w + 2*i*w + 2*j
				for _, o := range [3]int{1, w, w + 1} {
					if x.Data[p*h*w+2*i*w+2*j+o] > x.Data[best] {
						best = p*h*w + 2*i*w + 2*j + o
					}
				}
				y.Data[p*oh*ow+i*ow+j] = x.Data[best]
				m.arg[p*oh*ow+i*ow+j] = int32(best)
			}
		}
	}
	return y
}

// Backward implements Layer.
func (m *MaxPool2d) Backward(c *Ctx, dy *Tensor) *Tensor {
	dx := NewTensor(m.shape...)
	for i, a := range m.arg {
		dx.Data[a] += dy.Data[i]
	}
	return dx
}

// Flatten reshapes [N, ...] to [N, rest].
type Flatten struct{ shape []int }

// Params implements Layer.
func (*Flatten) Params() []*Param { return nil }

// Forward implements Layer.
func (f *Flatten) Forward(c *Ctx, x *Tensor) *Tensor {
	f.shape = x.Shape
	return &Tensor{Shape: []int{x.Shape[0], len(x.Data) / x.Shape[0]}, Data: x.Data}
}

// Backward implements Layer.
func (f *Flatten) Backward(c *Ctx, dy *Tensor) *Tensor {
	return &Tensor{Shape: f.shape, Data: dy.Data}
}

// Linear is y = x·Wᵀ + b over the last dimension (any leading shape).
type Linear struct {
	In, Out      int
	Weight, Bias *Param
	x            *Tensor
}

// NewLinear returns a linear layer with PyTorch's default initialisation.
func NewLinear(name string, in, out int, r *RNG) *Linear {
	l := &Linear{In: in, Out: out}
	l.Weight = newParam(name+".weight", out, in)
	l.Bias = newParam(name+".bias", out)
	bound := float32(1 / math.Sqrt(float64(in)))
	uniform(r, l.Weight.W, bound)
	uniform(r, l.Bias.W, bound)
	return l
}

// Params implements Layer.
func (l *Linear) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// Forward implements Layer.
func (l *Linear) Forward(c *Ctx, x *Tensor) *Tensor {
	l.x = x
	rows := len(x.Data) / l.In
	shape := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), l.Out)
	y := NewTensor(shape...)
	Gemm(rows, l.Out, l.In, x.Data, l.In, Mat{Data: l.Weight.W, RS: 1, CS: l.In}, y.Data, l.Out, false, c.threads())
	for r := 0; r < rows; r++ {
		row := y.Data[r*l.Out : (r+1)*l.Out]
		for j := range row {
			row[j] += l.Bias.W[j]
		}
	}
	return y
}

// Backward implements Layer.
func (l *Linear) Backward(c *Ctx, dy *Tensor) *Tensor {
	rows := len(dy.Data) / l.Out
	for j := 0; j < l.Out; j++ {
		var s float32
		for r := 0; r < rows; r++ {
			s += dy.Data[r*l.Out+j]
		}
		l.Bias.G[j] += s
	}
	// dW += dyᵀ·x, with dyᵀ read in place.
	GemmM(l.Out, l.In, rows, Mat{Data: dy.Data, RS: 1, CS: l.Out}, Mat{Data: l.x.Data, RS: l.In, CS: 1}, l.Weight.G, l.In, true, c.threads())
	dx := NewTensor(l.x.Shape...)
	Gemm(rows, l.In, l.Out, dy.Data, l.Out, Mat{Data: l.Weight.W, RS: l.In, CS: 1}, dx.Data, l.In, false, c.threads())
	return dx
}

// CrossEntropy returns the mean softmax cross-entropy of logits [N, K]
// against labels, the gradient with respect to the logits, and the
// number of correct arg-max predictions.
func CrossEntropy(logits *Tensor, labels []int) (loss float64, grad *Tensor, correct int) {
	n, k := logits.Shape[0], logits.Shape[1]
	grad = NewTensor(n, k)
	for i := 0; i < n; i++ {
		row := logits.Data[i*k : (i+1)*k]
		mx, arg := row[0], 0
		for j, v := range row {
			if v > mx {
				mx, arg = v, j
			}
		}
		if arg == labels[i] {
			correct++
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v - mx))
		}
		loss += math.Log(s) - float64(row[labels[i]]-mx)
		for j, v := range row {
			p := math.Exp(float64(v-mx)) / s
			if j == labels[i] {
				p--
			}
			grad.Data[i*k+j] = float32(p / float64(n))
		}
	}
	return loss / float64(n), grad, correct
}
