package kernels

import (
	"math"
	"sync"
)

// GELU with the tanh approximation, as llama.cpp's CPU backend computes it
// (ggml-cpu's GGML_GELU_FP16 path): the input is rounded to binary16 and
// looked up in a table of 65536 binary16 results, computed once:
//
//	gelu(x) = 0.5*x*(1 + tanh(sqrt(2/pi)*x*(1 + 0.044715*x*x)))
//
// in float32 operations as ggml writes them, with this package's
// deterministic tanh (float64, rounded to float32) in place of the C
// library's tanhf. Inputs at or below -10 give 0 and inputs at or above 10
// give x itself, without the table.

// The constants of ggml's ggml_gelu_f32, as float32.
const (
	geluCoefA     float32 = 0.044715
	geluSqrt2OvPi float32 = 0.79788456080286535587989211986876
)

var (
	geluOnce  sync.Once
	geluTable *[1 << 16]uint16
)

// geluF32 is ggml_gelu_f32 in float32 steps (no fused multiply-add):
// (0.5*x) * (1 + tanh((sqrt(2/pi)*x) * (1 + (0.044715*x)*x))).
func geluF32(x float32) float32 {
	inner := float32(geluSqrt2OvPi*x) * (1 + float32(float32(geluCoefA*x)*x))
	return float32(0.5*x) * (1 + Tanh(inner))
}

func geluTab() *[1 << 16]uint16 {
	geluOnce.Do(func() {
		t := new([1 << 16]uint16)
		for i := range t {
			t[i] = F32ToF16(geluF32(F16ToF32(uint16(i))))
		}
		geluTable = t
	})
	return geluTable
}

// GELU returns llama.cpp's tanh-approximated GELU of x: 0 for x <= -10,
// x for x >= 10, otherwise the table entry of x rounded to binary16 (ties
// to even), widened to float32. NaN gives the table's NaN.
func GELU(x float32) float32 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	return F16ToF32(geluTab()[F32ToF16(x)])
}

// GeGLU writes dst[i] = float32(GELU(gate[i]) * up[i]), except that
// gate[i] >= 10 gives float32(gate[i] * up[i]) (ggml_vec_geglu_f32). dst
// may alias either input.
func GeGLU(dst, gate, up []float32) {
	n := len(dst)
	gate, up = gate[:n], up[:n]
	tab := geluTab()
	for i, x := range gate {
		switch {
		case x <= -10:
			dst[i] = 0
		case x >= 10:
			dst[i] = x * up[i]
		default:
			dst[i] = F16ToF32(tab[F32ToF16(x)]) * up[i]
		}
	}
}

// Tanh returns tanh x rounded to float32, computed in float64 with this
// package's deterministic exponential (the same bits on every machine;
// within a float32 ulp of the exact value). NaN gives NaN.
func Tanh(x float32) float32 {
	if x != x {
		return x
	}
	return float32(detTanh(float64(x)))
}

// detTanh returns tanh x for any float64 x but NaN: an odd series for
// |x| < 1/16, 1 - 2/(e^(2|x|)+1) up to |x| = 20, and +-1 beyond (where
// tanh rounds to 1 even in float64).
func detTanh(x float64) float64 {
	a := math.Abs(x)
	var t float64
	switch {
	case a < 1.0/16:
		// tanh a = a - a^3/3 + 2a^5/15 - 17a^7/315 + 62a^9/2835 - ...;
		// the next term, 1382a^11/155925, is below 1e-14 a.
		a2 := float64(a * a)
		p := float64(62.0/2835*a2) - 17.0/315
		p = float64(p*a2) + 2.0/15
		p = float64(p*a2) - 1.0/3
		t = a + float64(float64(a*a2)*p)
	case a < 20:
		t = 1 - 2/(detExp(2*a)+1)
	default:
		t = 1
	}
	if x < 0 {
		return -t
	}
	return t
}
