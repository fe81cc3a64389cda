package kernels

import (
	"math"
	"sync"
)

// RMSNorm writes dst[i] = float32(float32(x[i]*scale) * w[i]) where, as in
// llama.cpp,
//
//	sum   = sum over i in order of float64(float32(x[i]*x[i]))  (float64)
//	mean  = float32(sum / float64(n))
//	scale = 1 / float32(sqrt(mean + eps))   (float32 ops; sqrt is exact IEEE)
//
// dst may alias x.
func RMSNorm(dst, x, w []float32, eps float32) {
	n := len(x)
	dst, w = dst[:n], w[:n]
	var sum float64
	for _, v := range x {
		sum += float64(float32(v * v))
	}
	mean := float32(sum / float64(n))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		dst[i] = float32(v*scale) * w[i]
	}
}

// Softmax replaces x by its softmax, as llama.cpp's soft_max does:
//
//	m = max x[i]; e[i] = Exp(x[i] - m)
//	sum = sum over i in order of float64(e[i])   (float64)
//	x[i] = e[i] * float32(1/sum)
//
// Elements equal to -Inf get probability 0. x must not be empty and must
// hold at least one finite value.
func Softmax(x []float32) {
	softmaxExp(x)
	var sum float64
	for _, e := range x {
		sum += float64(e)
	}
	softmaxScale(x, sum)
}

// Softmaxes is Softmax of each of xs[0..len(xs)-1], all of one length:
// the same bits, with up to six of the in-order float64 sums (a chain of
// dependent additions, the slow part) interleaved: six at a time, then
// three, four, two or one.
func Softmaxes(xs [][]float32) {
	for _, x := range xs {
		softmaxExp(x)
	}
	for len(xs) > 0 {
		var s0, s1, s2, s3, s4, s5 float64
		switch {
		case len(xs) >= 6:
			n := len(xs[0])
			a, b, c, d, e, f := xs[0][:n], xs[1][:n], xs[2][:n], xs[3][:n], xs[4][:n], xs[5][:n]
			for i := range a {
				s0 += float64(a[i])
				s1 += float64(b[i])
				s2 += float64(c[i])
				s3 += float64(d[i])
				s4 += float64(e[i])
				s5 += float64(f[i])
			}
			softmaxScale(a, s0)
			softmaxScale(b, s1)
			softmaxScale(c, s2)
			softmaxScale(d, s3)
			softmaxScale(e, s4)
			softmaxScale(f, s5)
			xs = xs[6:]
		case len(xs) == 3:
			n := len(xs[0])
			a, b, c := xs[0][:n], xs[1][:n], xs[2][:n]
			for i := range a {
				s0 += float64(a[i])
				s1 += float64(b[i])
				s2 += float64(c[i])
			}
			softmaxScale(a, s0)
			softmaxScale(b, s1)
			softmaxScale(c, s2)
			xs = xs[3:]
		case len(xs) >= 4:
			n := len(xs[0])
			a, b, c, d := xs[0][:n], xs[1][:n], xs[2][:n], xs[3][:n]
			for i := range a {
				s0 += float64(a[i])
				s1 += float64(b[i])
				s2 += float64(c[i])
				s3 += float64(d[i])
			}
			softmaxScale(a, s0)
			softmaxScale(b, s1)
			softmaxScale(c, s2)
			softmaxScale(d, s3)
			xs = xs[4:]
		case len(xs) >= 2:
			n := len(xs[0])
			a, b := xs[0][:n], xs[1][:n]
			for i := range a {
				s0 += float64(a[i])
				s1 += float64(b[i])
			}
			softmaxScale(a, s0)
			softmaxScale(b, s1)
			xs = xs[2:]
		default:
			for _, e := range xs[0] {
				s0 += float64(e)
			}
			softmaxScale(xs[0], s0)
			xs = xs[1:]
		}
	}
}

// softmaxExp is Softmax's first step: x[i] = Exp(x[i] - max x), with
// the maximum as the loop of softmaxMaxGo finds it (the first of equal
// values), the subtraction one float32 operation. Fast versions of the two
// steps are installed per CPU (softmax_amd64.go) and must give the same
// bits (TestSoftmaxSteps).
func softmaxExp(x []float32) {
	expSub(x, softmaxMax(x))
}

var (
	softmaxMax = softmaxMaxGo
	expSub     = expSubGo
	scaleBy    = scaleByGo
)

func softmaxMaxGo(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

// expSubGo sets x[i] = Exp(x[i] - m).
func expSubGo(x []float32, m float32) {
	for i, v := range x {
		x[i] = v - m
	}
	expSlice(x, x)
}

// scaleByGo sets x[i] = x[i] * s.
func scaleByGo(x []float32, s float32) {
	for i, v := range x {
		x[i] = v * s
	}
}

// softmaxScale is Softmax's last step, with sum the in-order float64 sum
// of x.
func softmaxScale(x []float32, sum float64) {
	scaleBy(x, float32(1/sum))
}

// SiLU returns x / (1 + Exp(-x)).
func SiLU(x float32) float32 { return x / (1 + Exp(-x)) }

// SwiGLU writes dst[i] = float32(SiLU(gate[i]) * up[i]). dst may alias
// either input.
func SwiGLU(dst, gate, up []float32) {
	n := len(dst)
	gate, up = gate[:n], up[:n]
	// Pooled, not a local array: expSlice is a func value, through which
	// the array would escape to the heap at every call.
	ep := swigluPool.Get().(*[swigluChunk]float32)
	defer swigluPool.Put(ep)
	e := ep[:]
	for lo := 0; lo < n; lo += swigluChunk {
		hi := min(n, lo+swigluChunk)
		c := e[:hi-lo]
		for j := range c {
			c[j] = -gate[lo+j]
		}
		expSlice(c, c)
		for j, ej := range c {
			g := gate[lo+j]
			s := g / (1 + ej) // SiLU(g), its operations in its order
			dst[lo+j] = s * up[lo+j]
		}
	}
}

// swigluChunk is the number of elements whose Exp SwiGLU takes at once.
const swigluChunk = 256

var swigluPool = sync.Pool{New: func() any { return new([swigluChunk]float32) }}

// Add writes dst[i] = x[i] + y[i]. dst may alias either input.
func Add(dst, x, y []float32) {
	n := len(dst)
	x, y = x[:n], y[:n]
	for i := range dst {
		dst[i] = x[i] + y[i]
	}
}

// RopeAngles writes the rotation of position pos for the dims/2 pairs of a
// head into cos and sin, as llama.cpp computes them:
//
//	thetaScale = float32(base^(-2/dims))   (deterministic float64 pow)
//	theta_0 = float32(pos); theta_{i+1} = float32(theta_i * thetaScale)
//	cos[i], sin[i] = float32 of the float64 cos/sin of theta_i
//
// The cos/sin and pow are this package's own float64 routines (detmath.go),
// the same on every machine.
func RopeAngles(cos, sin []float32, pos, dims int, base float32) {
	half := dims / 2
	cos, sin = cos[:half], sin[:half]
	scale := float32(detPow(float64(base), -2/float64(dims)))
	theta := float32(pos)
	for i := 0; i < half; i++ {
		s, c := detSinCos(float64(theta))
		cos[i], sin[i] = float32(c), float32(s)
		theta = theta * scale
	}
}

// Rope rotates the pairs of one head x by the angles from RopeAngles.
// Normal (llama) style pairs x[2i] with x[2i+1]; NEOX style (qwen2) pairs
// x[i] with x[i+dims/2], where dims = 2*len(cos) <= len(x); elements past
// dims are left alone. Each pair (a, b) becomes
//
//	(float32(a*c) - float32(b*s), float32(a*s) + float32(b*c)).
func Rope(x, cos, sin []float32, neox bool) {
	half := len(cos)
	sin = sin[:half]
	if neox {
		x = x[:2*half]
		for i := 0; i < half; i++ {
			a, b, c, s := x[i], x[i+half], cos[i], sin[i]
			x[i] = float32(a*c) - float32(b*s)
			x[i+half] = float32(a*s) + float32(b*c)
		}
		return
	}
	x = x[:2*half]
	for i := 0; i < half; i++ {
		a, b, c, s := x[2*i], x[2*i+1], cos[i], sin[i]
		x[2*i] = float32(a*c) - float32(b*s)
		x[2*i+1] = float32(a*s) + float32(b*c)
	}
}
