package nn

// NewVGG16 builds VGG16 with batch norm as in the dataset-condensation
// model zoo: 13 conv3×3(+bias) → BatchNorm → ReLU layers in the
// configuration 64,64,M,128,128,M,256×3,M,512×3,M,512×3,M (M = 2×2 max
// pooling), then a linear classifier on the 512 features. For 28×28
// single-channel input the first conv pads by 3 (28 → 32).
func NewVGG16(inC, imgSize, classes int, r *RNG) *Sequential {
	cfg := []int{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}
	s := &Sequential{}
	c, idx := inC, 0
	for i, v := range cfg {
		if v == 0 {
			s.Layers = append(s.Layers, &MaxPool2d{})
			idx++
			continue
		}
		pad := 1
		if i == 0 && imgSize == 28 {
			pad = 3
		}
		s.Layers = append(s.Layers,
			NewConv2d(name("features", idx), c, v, 3, 1, pad, true, r),
			NewBatchNorm2d(name("features", idx+1), v),
			&ReLU{})
		idx += 3
		c = v
	}
	s.Layers[0].(*Conv2d).NoInputGrad = true
	s.Layers = append(s.Layers, &Flatten{}, NewLinear("classifier", 512, classes, r))
	return s
}

// BasicBlock is ResNet's two-conv residual block:
// relu(norm2(conv2(relu(norm1(conv1(x))))) + shortcut(x)), where the
// shortcut is identity or conv1×1(stride) → norm when the shape changes.
type BasicBlock struct {
	Main     *Sequential // conv1, norm1, relu, conv2, norm2
	Shortcut *Sequential // nil for identity
	relu     ReLU
}

// NewBasicBlock returns a block named prefix (e.g. "layer1.0") using
// GroupNorm with one group per channel (instance norm), as the
// dataset-condensation ResNet18 with norm "instancenorm".
func NewBasicBlock(prefix string, in, out, stride int, r *RNG) *BasicBlock {
	b := &BasicBlock{Main: &Sequential{Layers: []Layer{
		NewConv2d(prefix+".conv1", in, out, 3, stride, 1, false, r),
		NewGroupNorm(prefix+".bn1", out, out),
		&ReLU{},
		NewConv2d(prefix+".conv2", out, out, 3, 1, 1, false, r),
		NewGroupNorm(prefix+".bn2", out, out),
	}}}
	if stride != 1 || in != out {
		b.Shortcut = &Sequential{Layers: []Layer{
			NewConv2d(prefix+".shortcut.0", in, out, 1, stride, 0, false, r),
			NewGroupNorm(prefix+".shortcut.1", out, out),
		}}
	}
	return b
}

// Params implements Layer.
func (b *BasicBlock) Params() []*Param {
	ps := b.Main.Params()
	if b.Shortcut != nil {
		ps = append(ps, b.Shortcut.Params()...)
	}
	return ps
}

// Forward implements Layer.
func (b *BasicBlock) Forward(c *Ctx, x *Tensor) *Tensor {
	y := b.Main.Forward(c, x)
	s := x
	if b.Shortcut != nil {
		s = b.Shortcut.Forward(c, x)
	}
	sum := NewTensor(y.Shape...)
	for i := range sum.Data {
		sum.Data[i] = y.Data[i] + s.Data[i]
	}
	return b.relu.Forward(c, sum)
}

// Backward implements Layer.
func (b *BasicBlock) Backward(c *Ctx, dy *Tensor) *Tensor {
	d := b.relu.Backward(c, dy)
	dx := b.Main.Backward(c, d)
	ds := d
	if b.Shortcut != nil {
		ds = b.Shortcut.Backward(c, d)
	}
	for i := range dx.Data {
		dx.Data[i] += ds.Data[i]
	}
	return dx
}

// GlobalAvgPool averages each channel's pixels: [N,C,H,W] → [N,C].
type GlobalAvgPool struct{ shape []int }

// Params implements Layer.
func (*GlobalAvgPool) Params() []*Param { return nil }

// Forward implements Layer.
func (g *GlobalAvgPool) Forward(c *Ctx, x *Tensor) *Tensor {
	g.shape = x.Shape
	n, ch, hw := x.Shape[0], x.Shape[1], spatial(x.Shape)
	y := NewTensor(n, ch)
	for i := 0; i < n*ch; i++ {
		var s float32
		for _, v := range x.Data[i*hw : (i+1)*hw] {
			s += v
		}
		y.Data[i] = s / float32(hw)
	}
	return y
}

// Backward implements Layer.
func (g *GlobalAvgPool) Backward(c *Ctx, dy *Tensor) *Tensor {
	hw := spatial(g.shape)
	dx := NewTensor(g.shape...)
	for i, d := range dy.Data {
		v := d / float32(hw)
		for p := 0; p < hw; p++ {
			dx.Data[i*hw+p] = v
		}
	}
	return dx
}

// NewResNet18 builds ResNet18 for small images (CIFAR style: conv3×3 stem,
// no stem pooling), with instance-style GroupNorm, four stages of two
// BasicBlocks (64, 128, 256, 512 channels; strides 1, 2, 2, 2), global
// average pooling and a linear classifier.
func NewResNet18(inC, imgSize, classes int, r *RNG) *Sequential {
	stem := NewConv2d("conv1", inC, 64, 3, 1, 1, false, r)
	stem.NoInputGrad = true
	s := &Sequential{Layers: []Layer{stem, NewGroupNorm("bn1", 64, 64), &ReLU{}}}
	in := 64
	for i, out := range []int{64, 128, 256, 512} {
		stride := 2
		if i == 0 {
			stride = 1
		}
		s.Layers = append(s.Layers,
			NewBasicBlock("layer"+itoa(i+1)+".0", in, out, stride, r),
			NewBasicBlock("layer"+itoa(i+1)+".1", out, out, 1, r))
		in = out
	}
	s.Layers = append(s.Layers, &GlobalAvgPool{}, NewLinear("classifier", 512, classes, r))
	return s
}
