package train

import (
	"fmt"
	"math"
	"strings"

	"github.com/lmgc/lmgc/train/nn"
)

// The architectures `lmgc collect --arch` trains, and their recipes: the one
// place an architecture is registered (train.NewModel, train.Run's optimizer
// and schedule, and the CLI's --arch check and help all read this table).

// Optimizer kinds of a recipe.
const (
	optSGD         = iota // SGD, momentum 0.9, weight decay 5e-4 (coupled), lr 0.1, cosine
	optAdamW              // AdamW 1e-3, decoupled decay 0.1 on every parameter, cosine (lmgc's ViT)
	optAdamWGroups        // AdamW 1e-3 with decay 0.1 only where Param.Decay, OneCycle per epoch (the reference's ViT)
)

// Arch is one architecture with its recipe.
type Arch struct {
	Name  string
	About string
	opt   int
	build func(c, size, classes int, o ModelOptions, r *nn.RNG) (nn.Layer, error)
}

// ModelOptions change a model away from the paper's settings (tests,
// fixtures). The zero value is the paper's model.
type ModelOptions struct {
	Width   int      // ConvNet width (0: 128)
	Dropout *float64 // RelViT head dropout (nil: 0.3, the reference's)
}

var archs = []Arch{
	{Name: "convnet", About: "the paper's ConvNet: 3 × [conv3×3 128, GroupNorm(128), ReLU, avgpool], linear; SGD lr 0.1",
		opt: optSGD, build: func(c, size, classes int, o ModelOptions, r *nn.RNG) (nn.Layer, error) {
			w := o.Width
			if w <= 0 {
				w = 128
			}
			return nn.NewConvNet(c, size, classes, w, 3, r), nil
		}},
	{Name: "vgg16", About: "VGG16 with batch norm; SGD lr 0.1",
		opt: optSGD, build: func(c, size, classes int, o ModelOptions, r *nn.RNG) (nn.Layer, error) {
			return nn.NewVGG16(c, size, classes, r), nil
		}},
	{Name: "resnet18", About: "CIFAR ResNet18 with instance-style GroupNorm; SGD lr 0.1",
		opt: optSGD, build: func(c, size, classes int, o ModelOptions, r *nn.RNG) (nn.Layer, error) {
			return nn.NewResNet18(c, size, classes, r), nil
		}},
	{Name: "vit", About: "lmgc's timm-style ViT (patch 2, dim 256, 8 blocks); AdamW 1e-3, cosine",
		opt: optAdamW, build: func(c, size, classes int, o ModelOptions, r *nn.RNG) (nn.Layer, error) {
			if size%2 != 0 {
				return nil, fmt.Errorf("vit: image size %d is not a multiple of the patch size 2", size)
			}
			return nn.NewViT(c, size, classes, nn.ViTConfig{Dim: 256, Depth: 8, Heads: 8, MLP: 512, Patch: 2}, r), nil
		}},
	{Name: "relvit", About: "the reference's ViT (a convolutional RelViT, 6.48 M parameters); AdamW 1e-3 on two groups, OneCycle stepped per epoch",
		opt: optAdamWGroups, build: func(c, size, classes int, o ModelOptions, r *nn.RNG) (nn.Layer, error) {
			cfg := nn.DefaultRelViT
			if o.Dropout != nil {
				cfg.HeadDrop = float32(*o.Dropout)
			}
			return nn.NewRelViT(c, size, classes, cfg, r)
		}},
}

// ArchNames lists the registered architectures.
func ArchNames() []string {
	var s []string
	for _, a := range archs {
		s = append(s, a.Name)
	}
	return s
}

// LookupArch returns the registered architecture name.
func LookupArch(name string) (*Arch, error) {
	for i := range archs {
		if archs[i].Name == name {
			return &archs[i], nil
		}
	}
	return nil, fmt.Errorf("unknown architecture %q (want %s)", name, strings.Join(ArchNames(), ", "))
}

// NewModel builds arch for c×size×size images with the paper's settings.
func NewModel(arch string, c, size, classes int, r *nn.RNG) (nn.Layer, error) {
	return NewModelWith(arch, c, size, classes, ModelOptions{}, r)
}

// NewModelWith builds arch with options o.
func NewModelWith(arch string, c, size, classes int, o ModelOptions, r *nn.RNG) (nn.Layer, error) {
	a, err := LookupArch(arch)
	if err != nil {
		return nil, err
	}
	return a.build(c, size, classes, o, r)
}

// oneCycle is PyTorch's OneCycleLR (torch 1.13 defaults: pct_start 0.3,
// cosine annealing, div_factor 25, final_div_factor 1e4, cycle_momentum
// with beta1 between 0.85 and 0.95, two phases) over total scheduler steps:
// the learning rate and beta1 after k scheduler steps.
func oneCycle(maxLR float64, k, total int) (lr, beta1 float64) {
	const maxMom, baseMom = 0.95, 0.85
	initial := maxLR / 25
	minLR := initial / 1e4
	anneal := func(start, end, pct float64) float64 { return end + (start-end)/2.0*(math.Cos(math.Pi*pct)+1) }
	end1 := 0.3*float64(total) - 1
	end2 := float64(total - 1)
	s := float64(k)
	if s <= end1 {
		pct := s / end1
		return anneal(initial, maxLR, pct), anneal(maxMom, baseMom, pct)
	}
	pct := (s - end1) / (end2 - end1)
	return anneal(maxLR, minLR, pct), anneal(baseMom, maxMom, pct)
}

// OneCycleEpochs is the reference ViT's OneCycleLR length in epochs; its
// steps_per_epoch is len(train_loader), ⌈N/batch⌉ (391 for CIFAR-10), and
// train_and_collect_grad.py calls scheduler.step() once per epoch, so epoch
// e trains at oneCycle(max_lr, e, 200·⌈N/batch⌉): lr 4e-5 and beta1 0.95,
// nearly constant over the 200 epochs.
const OneCycleEpochs = 200
