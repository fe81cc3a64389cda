package nn

import (
	"math"
	"testing"
)

// gradCheck compares a layer's analytic gradients (input and every
// parameter) with central finite differences of L = Σ y·r for a random r.
// The comparison is on the whole gradient vector: ‖g − fd‖ ≤ tol·‖fd‖.
func gradCheck(t *testing.T, name string, l Layer, x *Tensor, train bool, eps float32) {
	t.Helper()
	r := NewRNG(99)
	c := &Ctx{Threads: 2, Train: train}
	y := l.Forward(c, x)
	w := randSlice(r, len(y.Data))
	loss := func() float64 {
		y := l.Forward(c, x)
		var s float64
		for i, v := range y.Data {
			s += float64(v) * float64(w[i])
		}
		return s
	}
	ZeroGrad(l.Params())
	l.Forward(c, x)
	dx := l.Backward(c, &Tensor{Shape: y.Shape, Data: w})
	check := func(what string, v, g []float32) {
		var num, den float64
		for i := range v {
			old := v[i]
			v[i] = old + eps
			lp := loss()
			v[i] = old - eps
			lm := loss()
			v[i] = old
			fd := (lp - lm) / (2 * float64(eps))
			d := float64(g[i]) - fd
			num += d * d
			den += fd * fd
		}
		// Relative error, with an absolute floor for gradients that are
		// zero in exact arithmetic (a conv bias in front of a norm).
		if e, f := math.Sqrt(num), math.Sqrt(den); !(e <= 2e-2*f+1e-3*math.Sqrt(float64(len(v)))) {
			t.Errorf("%s: %s gradient error %.3g (norm %.3g)", name, what, e, f)
		}
	}
	grads := make([][]float32, 0)
	for _, p := range l.Params() {
		grads = append(grads, append([]float32(nil), p.G...))
	}
	if dx != nil {
		check("input", x.Data, dx.Data)
	}
	for i, p := range l.Params() {
		check(p.Name, p.W, grads[i])
	}
}

func randTensor(r *RNG, shape ...int) *Tensor {
	t := NewTensor(shape...)
	for i := range t.Data {
		t.Data[i] = r.Float32()*2 - 1
	}
	return t
}

func TestGradients(t *testing.T) {
	r := NewRNG(7)
	tests := []struct {
		name  string
		layer Layer
		shape []int
		train bool
		eps   float32
	}{
		{"conv3x3", NewConv2d("c", 3, 4, 3, 1, 1, true, r), []int{2, 3, 5, 5}, true, 1e-2},
		{"conv3x3-pad3", NewConv2d("c", 1, 2, 3, 1, 3, true, r), []int{2, 1, 4, 4}, true, 1e-2},
		{"conv3x3-stride2", NewConv2d("c", 2, 3, 3, 2, 1, false, r), []int{2, 2, 6, 6}, true, 1e-2},
		{"conv1x1-stride2", NewConv2d("c", 2, 3, 1, 2, 0, false, r), []int{2, 2, 4, 4}, true, 1e-2},
		{"conv-noinputgrad", &Conv2d{InC: 2, OutC: 3, K: 3, Stride: 1, Pad: 1, NoInputGrad: true, Weight: NewConv2d("c", 2, 3, 3, 1, 1, false, r).Weight}, []int{2, 2, 4, 4}, true, 1e-2},
		{"conv2x2-stride2", NewConv2d("c", 3, 4, 2, 2, 0, true, r), []int{2, 3, 4, 4}, true, 1e-2},
		{"groupnorm", NewGroupNorm("g", 2, 4), []int{2, 4, 3, 3}, true, 1e-2},
		{"groupnorm-instance", NewGroupNorm("g", 3, 3), []int{2, 3, 2, 2}, true, 1e-2},
		{"batchnorm", NewBatchNorm2d("b", 3), []int{4, 3, 2, 2}, true, 1e-2},
		{"relu", &ReLU{}, []int{2, 3, 4, 4}, true, 1e-2},
		{"avgpool", &AvgPool2d{}, []int{2, 3, 4, 4}, true, 1e-2},
		{"maxpool", &MaxPool2d{}, []int{2, 3, 4, 4}, true, 1e-2},
		{"linear", NewLinear("l", 6, 4, r), []int{3, 6}, true, 1e-2},
		{"linear-3d", NewLinear("l", 5, 3, r), []int{2, 3, 5}, true, 1e-2},
		{"globalavgpool", &GlobalAvgPool{}, []int{2, 3, 2, 3}, true, 1e-2},
		{"basicblock-identity", NewBasicBlock("b", 2, 2, 1, r), []int{2, 2, 4, 4}, true, 1e-4},
		{"basicblock-shortcut", NewBasicBlock("b", 2, 3, 2, r), []int{2, 2, 4, 4}, true, 1e-4},
		{"layernorm", NewLayerNorm("n", 5), []int{2, 3, 5}, true, 1e-2},
		{"gelu", &GELU{}, []int{2, 7}, true, 1e-2},
		{"attention", NewAttention("a", 4, 2, r), []int{2, 3, 4}, true, 1e-2},
		{"tokens", NewTokens(3, 5, r), []int{2, 3, 2, 2}, true, 1e-2},
		{"clsselect", &ClsSelect{}, []int{2, 3, 4}, true, 1e-2},
		{"residual", &Residual{F: NewLinear("l", 4, 4, r)}, []int{3, 4}, true, 1e-2},
		{"vit", NewViT(3, 4, 3, ViTConfig{Dim: 8, Depth: 2, Heads: 2, MLP: 12, Patch: 2}, r), []int{2, 3, 4, 4}, true, 1e-3},
		{"convnet", NewConvNet(1, 8, 3, 4, 2, r), []int{2, 1, 8, 8}, true, 1e-4},
		{"gammaresidual", NewGammaResidual("g", NewConv2d("c", 3, 3, 1, 1, 0, true, r)), []int{2, 3, 2, 2}, true, 1e-2},
		{"posadd", NewPosAdd("p", 3, 2, 2, r), []int{2, 3, 2, 2}, true, 1e-2},
		{"layernormchannels", NewLayerNormChannels("n", 5), []int{2, 5, 2, 3}, true, 1e-2},
		{"selfattention2d", NewSelfAttention2d("a", 4, 2, 2, 3, r), []int{2, 4, 2, 3}, true, 1e-2},
		{"relvit", mustRelViT(NewRelViT(3, 4, 3, RelViTConfig{Channels: 8, HeadChannels: 4, Blocks: 1, Patch: 2, Hidden: 4}, r)), []int{2, 3, 4, 4}, true, 1e-3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Affine norm parameters start at 1/0; perturb them so the
			// check is not at a special point.
			for _, p := range tc.layer.Params() {
				for i := range p.W {
					p.W[i] += (r.Float32() - 0.5) * 0.4
				}
			}
			x := randTensor(r, tc.shape...)
			// Keep inputs away from the kinks of ReLU and max pooling.
			for i, v := range x.Data {
				if v > -0.1 && v < 0.1 {
					x.Data[i] += 0.2
				}
			}
			if tc.name == "maxpool" {
				// Distinct values 0.05 apart, so no perturbation changes
				// which element of a window is the maximum.
				for i, p := range r.Perm(len(x.Data)) {
					x.Data[i] = float32(p-len(x.Data)/2) * 0.05
				}
			}
			gradCheck(t, tc.name, tc.layer, x, tc.train, tc.eps)
		})
	}
}

func TestCrossEntropyGradient(t *testing.T) {
	r := NewRNG(3)
	x := randTensor(r, 4, 5)
	labels := []int{0, 4, 2, 2}
	_, g, _ := CrossEntropy(x, labels)
	for i := range x.Data {
		old := x.Data[i]
		const eps = 1e-2
		x.Data[i] = old + eps
		lp, _, _ := CrossEntropy(x, labels)
		x.Data[i] = old - eps
		lm, _, _ := CrossEntropy(x, labels)
		x.Data[i] = old
		fd := (lp - lm) / (2 * eps)
		if math.Abs(fd-float64(g.Data[i])) > 1e-3 {
			t.Errorf("logit %d: grad %v, finite difference %v", i, g.Data[i], fd)
		}
	}
}

// TestThreadsDeterministic checks that a ConvNet and a RelViT
// forward/backward give the same bits with 1 and 3 goroutines.
func TestThreadsDeterministic(t *testing.T) {
	for _, arch := range []string{"convnet", "relvit"} {
		t.Run(arch, func(t *testing.T) { threadsDeterministic(t, arch) })
	}
}

// threadsDeterministic runs a small arch (the RelViT with its head dropout
// on) forward and backward with 1 and 3 goroutines.
func threadsDeterministic(t *testing.T, arch string) {
	run := func(threads int) []float32 {
		r := NewRNG(5)
		var m Layer = NewConvNet(3, 16, 10, 8, 3, r)
		if arch == "relvit" {
			m = mustRelViT(NewRelViT(3, 16, 10, RelViTConfig{Channels: 16, HeadChannels: 8, Blocks: 2, Patch: 2, Hidden: 8, HeadDrop: 0.3}, r))
			for _, p := range m.Params() { // gammas away from 0, so the blocks carry gradients
				if p.Shape[0] == 1 {
					p.W[0] = 0.5
				}
			}
		}
		x := randTensor(r, 3, 3, 16, 16)
		c := &Ctx{Threads: threads, Train: true}
		y := m.Forward(c, x)
		_, g, _ := CrossEntropy(y, []int{1, 2, 3})
		m.Backward(c, g)
		var out []float32
		for _, p := range m.Params() {
			out = append(out, p.G...)
		}
		return out
	}
	a, b := run(1), run(3)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("gradient %d differs between 1 and 3 threads: %v vs %v", i, a[i], b[i])
		}
	}
}

func mustRelViT(s *Sequential, err error) *Sequential {
	if err != nil {
		panic(err)
	}
	return s
}

// TestDropout checks Dropout's training mask (a fraction P of zeros, the
// rest scaled by 1/(1−P), the same mask in Backward, reproducible from the
// seed) and that evaluation mode and P 0 are the identity.
func TestDropout(t *testing.T) {
	x := randTensor(NewRNG(1), 4, 2500)
	for i := range x.Data {
		x.Data[i] += 2 // no zeros in the input
	}
	d := &Dropout{P: 0.3, R: NewRNG(5)}
	c := &Ctx{Train: true}
	y := d.Forward(c, x)
	dy := randTensor(NewRNG(2), 4, 2500)
	dx := d.Backward(c, dy)
	zeros := 0
	for i, v := range y.Data {
		if v == 0 {
			zeros++
			if dx.Data[i] != 0 {
				t.Fatalf("value %d dropped in Forward but its gradient is %v", i, dx.Data[i])
			}
			continue
		}
		if want := x.Data[i] * float32(1/0.7); v != want {
			t.Fatalf("value %d: %v, want %v·1/0.7 = %v", i, v, x.Data[i], want)
		}
		if want := dy.Data[i] * float32(1/0.7); dx.Data[i] != want {
			t.Fatalf("gradient %d: %v, want %v", i, dx.Data[i], want)
		}
	}
	if f := float64(zeros) / float64(len(y.Data)); math.Abs(f-0.3) > 0.02 {
		t.Errorf("dropped %.3f of the values, want 0.3", f)
	}
	y2 := (&Dropout{P: 0.3, R: NewRNG(5)}).Forward(c, x)
	for i := range y.Data {
		if y.Data[i] != y2.Data[i] {
			t.Fatalf("the same seed gave a different mask at %d", i)
		}
	}
	for _, tc := range []struct {
		name string
		d    *Dropout
		c    *Ctx
	}{{"eval", &Dropout{P: 0.3, R: NewRNG(5)}, &Ctx{}}, {"p0", &Dropout{R: NewRNG(5)}, &Ctx{Train: true}}} {
		if y := tc.d.Forward(tc.c, x); y != x {
			t.Errorf("%s: Forward is not the identity", tc.name)
		}
		if g := tc.d.Backward(tc.c, dy); g != dy {
			t.Errorf("%s: Backward is not the identity", tc.name)
		}
	}
}

// TestGELUInPlace checks that GELU{InPlace: true} gives the same input
// gradient, bit for bit, written over dy.
func TestGELUInPlace(t *testing.T) {
	r := NewRNG(4)
	x := randTensor(r, 3, 50)
	dy := randTensor(r, 3, 50)
	c := &Ctx{}
	a, b := &GELU{}, &GELU{InPlace: true}
	a.Forward(c, x)
	b.Forward(c, x)
	want := a.Backward(c, &Tensor{Shape: dy.Shape, Data: append([]float32(nil), dy.Data...)})
	got := b.Backward(c, dy)
	if &got.Data[0] != &dy.Data[0] {
		t.Fatal("InPlace Backward did not write over dy")
	}
	for i := range want.Data {
		if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
			t.Fatalf("dx[%d] = %v in place, %v otherwise", i, got.Data[i], want.Data[i])
		}
	}
}
