package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpSlice checks the installed expSlice against Exp bit for bit: on
// values spread over Exp's whole domain and past it (so that the fast
// path's out-of-range fallback runs), on the fast range mixed with values
// below expMin, on the specials, and on every length
// up to 70 (partial blocks, in place).
func TestExpSlice(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.5, -0.5,
		-87, 88, -87.00001, 88.00001, expMax, expMin, 100, -200,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32}
	var src []float32
	for i := 0; i < 200000; i++ {
		switch i % 4 {
		case 0:
			src = append(src, float32(rng.Float64()*176-88)) // the fast range
		case 1:
			src = append(src, float32(rng.NormFloat64()*3))
		case 2:
			src = append(src, math.Float32frombits(rng.Uint32())) // any bits
		default:
			// halves of ln 2 multiples: the rounding of n at ties
			src = append(src, float32(float64(rng.IntN(400)-200)*0.5/log2e))
		}
		if i%997 == 0 {
			src = append(src, specials[rng.IntN(len(specials))])
		}
	}
	check := func(name string, in []float32) {
		got := make([]float32, len(in))
		expSlice(got, in)
		for i, x := range in {
			if w := Exp(x); math.Float32bits(got[i]) != math.Float32bits(w) && !(w != w && got[i] != got[i]) {
				t.Fatalf("%s: expSlice(%v) = %v (%#x), Exp = %v (%#x)", name, x, got[i], math.Float32bits(got[i]), w, math.Float32bits(w))
			}
		}
	}
	check("mixed", src)
	check("specials", specials)
	// The fast range mixed with values below expMin (0 in the fast path
	// too) and some of Exp's subnormal range, as a softmax's x - max gives.
	var low []float32
	for i := 0; i < 20000; i++ {
		x := float32(rng.Float64()*400 - 312)
		if i%16 == 0 && rng.IntN(8) != 0 {
			x = -x - 120 // a block of lanes all below expMin or in range
		}
		low = append(low, x)
	}
	check("low", low)
	for n := 0; n <= 70; n++ {
		in := make([]float32, n)
		for i := range in {
			in[i] = float32(rng.NormFloat64() * 10)
		}
		if n > 20 {
			in[n/2] = -1000 // one block takes the fallback
		}
		check("short", in)
		want := make([]float32, n)
		expSliceGeneric(want, in)
		expSlice(in, in) // in place
		for i := range in {
			if math.Float32bits(in[i]) != math.Float32bits(want[i]) {
				t.Fatalf("in place, n=%d: element %d differs", n, i)
			}
		}
	}
}
