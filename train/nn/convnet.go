package nn

// NewConvNet builds the paper's ConvNet (the dataset-condensation
// ConvNet): depth blocks of conv3×3(+bias) → GroupNorm(width groups,
// affine) → ReLU → 2×2 average pooling, then a linear classifier.
// Parameter names follow the PyTorch module (features.0.weight, ...,
// classifier.bias). For 28×28 single-channel input the first conv pads
// by 3, turning 28×28 into 32×32 as the reference does.
func NewConvNet(inC, imgSize, classes, width, depth int, r *RNG) *Sequential {
	s := &Sequential{}
	c, hw := inC, imgSize
	for d := 0; d < depth; d++ {
		pad := 1
		if d == 0 && imgSize == 28 {
			pad, hw = 3, 32
		}
		s.Layers = append(s.Layers,
			NewConv2d(name("features", 4*d), c, width, 3, 1, pad, true, r),
			NewGroupNorm(name("features", 4*d+1), width, width),
			&ReLU{}, &AvgPool2d{})
		c, hw = width, hw/2
	}
	s.Layers[0].(*Conv2d).NoInputGrad = true
	s.Layers = append(s.Layers, &Flatten{}, NewLinear("classifier", c*hw*hw, classes, r))
	return s
}

func name(prefix string, i int) string {
	return prefix + "." + itoa(i)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
