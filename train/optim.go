package train

import (
	"math"

	"github.com/lmgc/lmgc/train/nn"
)

type optimizer interface {
	step(lr float32)
}

// sgd is PyTorch's SGD with momentum and (coupled) weight decay:
// d = g + wd·w; buf = m·buf + d (buf = d on the first step); w -= lr·buf.
type sgd struct {
	params       []*nn.Param
	buf          [][]float32
	momentum, wd float32
	started      bool
}

func newSGD(params []*nn.Param, momentum, wd float64) *sgd {
	s := &sgd{params: params, momentum: float32(momentum), wd: float32(wd)}
	for _, p := range params {
		s.buf = append(s.buf, make([]float32, len(p.W)))
	}
	return s
}

func (s *sgd) step(lr float32) {
	for i, p := range s.params {
		buf := s.buf[i]
		for j, g := range p.G {
			d := g + float32(s.wd*p.W[j])
			if s.started {
				d += float32(s.momentum * buf[j])
			}
			buf[j] = d
			p.W[j] -= float32(lr * d)
		}
	}
	s.started = true
}

// adamW is PyTorch's AdamW (betas beta1/0.999, beta1 0.9 unless a schedule
// sets it, eps 1e-8, decoupled weight decay). Without groups every parameter
// decays (lmgc's ViT); with groups only those with Param.Decay set, the
// others are PyTorch's second parameter group with weight decay 0 (the
// reference's RelViT). The bias correction uses the current beta1, as
// PyTorch does when OneCycleLR cycles it: 1 − beta1^t.
type adamW struct {
	params []*nn.Param
	m, v   [][]float32
	wd     float64
	beta1  float64
	groups bool
	t      int
}

func newAdamW(params []*nn.Param, wd float64) *adamW {
	a := &adamW{params: params, wd: wd, beta1: 0.9}
	for _, p := range params {
		a.m = append(a.m, make([]float32, len(p.W)))
		a.v = append(a.v, make([]float32, len(p.W)))
	}
	return a
}

func (a *adamW) step(lr float32) {
	const b2, eps = 0.999, 1e-8
	b1 := a.beta1
	a.t++
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	for i, p := range a.params {
		m, v := a.m[i], a.v[i]
		decay := 1.0
		if p.Decay || !a.groups {
			decay = 1 - float64(float64(lr)*a.wd)
		}
		for j, g := range p.G {
			m[j] = float32(float64(b1*float64(m[j])) + float64((1-b1)*float64(g)))
			v[j] = float32(float64(b2*float64(v[j])) + float64((1-b2)*float64(g)*float64(g)))
			w := float64(p.W[j]) * decay
			w -= float64(float64(lr) * (float64(m[j]) / c1) / (math.Sqrt(float64(v[j])/c2) + eps))
			p.W[j] = float32(w)
		}
	}
}
