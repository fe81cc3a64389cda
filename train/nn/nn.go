// Package nn is a small CPU neural-network library for producing real
// training gradients: NCHW float32 tensors, layers with hand-written
// backward passes, and a blocked matrix multiply (AVX2 on amd64) that
// matches its pure-Go reference bit for bit.
//
// Determinism: every reduction has one fixed sequential order, and
// goroutines only ever split outputs (rows, channels, images), so a
// forward/backward pass gives the same bits for any thread count. The
// matrix multiply avoids fused multiply-add so the assembly and pure-Go
// paths agree on every platform.
package nn

import "fmt"

// Tensor is a dense float32 array in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

func (t *Tensor) String() string { return fmt.Sprintf("Tensor%v", t.Shape) }

// Param is a trainable parameter with its gradient.
type Param struct {
	Name  string // PyTorch-style name, e.g. "features.0.weight"
	Shape []int
	W     []float32 // value
	G     []float32 // gradient of the loss (accumulated by Backward)
	Decay bool      // whether weight decay applies (false for the RelViT's biases, norms, gammas, position tables)
}

func newParam(name string, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Param{Name: name, Shape: shape, W: make([]float32, n), G: make([]float32, n), Decay: true}
}

// Ctx carries per-pass settings shared by all layers.
type Ctx struct {
	Threads int  // goroutines for the heavy loops (≥ 1)
	Train   bool // training mode (batch norm uses batch statistics)
}

func (c *Ctx) threads() int {
	if c == nil || c.Threads < 1 {
		return 1
	}
	return c.Threads
}

// Layer is one differentiable operation. Forward caches what Backward
// needs; Backward takes dLoss/dOutput, adds parameter gradients into
// Param.G and returns dLoss/dInput.
type Layer interface {
	Forward(c *Ctx, x *Tensor) *Tensor
	Backward(c *Ctx, dy *Tensor) *Tensor
	Params() []*Param
}

// Sequential runs layers in order.
type Sequential struct {
	Layers []Layer
}

// Forward implements Layer.
func (s *Sequential) Forward(c *Ctx, x *Tensor) *Tensor {
	for _, l := range s.Layers {
		x = l.Forward(c, x)
	}
	return x
}

// Backward implements Layer.
func (s *Sequential) Backward(c *Ctx, dy *Tensor) *Tensor {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		dy = s.Layers[i].Backward(c, dy)
	}
	return dy
}

// Params implements Layer.
func (s *Sequential) Params() []*Param {
	var ps []*Param
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// ZeroGrad clears the gradients of ps.
func ZeroGrad(ps []*Param) {
	for _, p := range ps {
		clear(p.G)
	}
}

// CountParams returns the total number of parameter values.
func CountParams(ps []*Param) int {
	n := 0
	for _, p := range ps {
		n += len(p.W)
	}
	return n
}

// reuse returns *t if it already has the given shape, else a new zero
// tensor stored in *t. Layers keep their outputs and input gradients in
// such buffers across steps; the contents are stale, so callers must
// overwrite (or clear) every element.
func reuse(t **Tensor, shape ...int) *Tensor {
	if *t != nil && sameShape((*t).Shape, shape) {
		return *t
	}
	*t = NewTensor(shape...)
	return *t
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func reuseF32(b *[]float32, n int) []float32 {
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	*b = (*b)[:n]
	return *b
}
