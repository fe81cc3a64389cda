package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxes checks Softmaxes against Softmax of each slice bit for
// bit: 1 to 13 slices (the groups of six, four, three, two and one), lengths 1 to 300,
// some -Inf elements.
func TestSoftmaxes(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for k := 1; k <= 13; k++ {
		for _, n := range []int{1, 2, 15, 16, 17, 100, 300} {
			xs := make([][]float32, k)
			want := make([][]float32, k)
			for j := range xs {
				xs[j] = randVec(r, n, 8)
				if n > 1 && r.IntN(3) == 0 {
					xs[j][r.IntN(n)] = float32(math.Inf(-1))
				}
				want[j] = append([]float32(nil), xs[j]...)
				Softmax(want[j])
			}
			Softmaxes(xs)
			for j := range xs {
				for i := range xs[j] {
					if math.Float32bits(xs[j][i]) != math.Float32bits(want[j][i]) {
						t.Fatalf("%d slices of %d: slice %d [%d] = %g, Softmax %g", k, n, j, i, xs[j][i], want[j][i])
					}
				}
			}
		}
	}
}

// TestSoftmaxSteps checks the installed softmax steps (softmaxMax,
// expSub, scaleBy: AVX-512 where available) and Softmax itself against
// scalar references (the first of equal maxima, Exp of the float32
// difference, the float32 product) bit for bit: lengths around the blocks
// of 16, NaNs (first or elsewhere), signed zeros as the maximum, +-Inf,
// and differences below expMin, in Exp's subnormal range and in range.
func TestSoftmaxSteps(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	nan := float32(math.NaN())
	for _, n := range []int{1, 2, 15, 16, 17, 31, 32, 33, 100, 300, 1025} {
		for trial := 0; trial < 40; trial++ {
			x := make([]float32, n)
			spread := []float32{1, 30, 120, 300}[trial%4]
			for i := range x {
				x[i] = float32(r.NormFloat64()) * spread
				switch r.IntN(60) {
				case 0:
					x[i] = float32(math.Inf(-1))
				case 1:
					x[i] = float32(math.Copysign(0, -1))
				case 2:
					x[i] = 0
				case 3:
					if trial%5 == 0 {
						x[i] = nan
					}
				case 4:
					if trial%7 == 0 {
						x[i] = float32(math.Inf(1))
					}
				}
			}
			switch trial % 6 {
			case 1: // a zero is the maximum, with the other sign elsewhere
				for i := range x {
					x[i] = -float32(math.Abs(float64(x[i])))
				}
				x[r.IntN(n)] = 0
				x[r.IntN(n)] = float32(math.Copysign(0, -1))
			case 2:
				x[0] = nan
			}
			// References.
			wantM := x[0]
			for _, v := range x[1:] {
				if v > wantM {
					wantM = v
				}
			}
			gotM := softmaxMax(x)
			if math.Float32bits(gotM) != math.Float32bits(wantM) && !(gotM != gotM && wantM != wantM) {
				t.Fatalf("n %d trial %d: max %g (%#x), want %g (%#x)", n, trial, gotM, math.Float32bits(gotM), wantM, math.Float32bits(wantM))
			}
			for _, m := range []float32{wantM, x[r.IntN(n)], 50, -50} {
				want := make([]float32, n)
				for i, v := range x {
					want[i] = Exp(v - m)
				}
				got := append([]float32(nil), x...)
				expSub(got, m)
				if i := sameF32(want, got); i >= 0 {
					t.Fatalf("n %d trial %d m %g: Exp(%g - m) = %g, want %g", n, trial, m, x[i], got[i], want[i])
				}
			}
			s := float32(r.NormFloat64())
			want := make([]float32, n)
			for i, v := range x {
				want[i] = v * s
			}
			got := append([]float32(nil), x...)
			scaleBy(got, s)
			if i := sameF32(want, got); i >= 0 {
				t.Fatalf("n %d trial %d: %g * %g = %g, want %g", n, trial, x[i], s, got[i], want[i])
			}
			// Softmax as documented, in scalar steps.
			want = append(want[:0], x...)
			for i, v := range want {
				want[i] = Exp(v - wantM)
			}
			var sum float64
			for _, e := range want {
				sum += float64(e)
			}
			inv := float32(1 / sum)
			for i, e := range want {
				want[i] = e * inv
			}
			got = append(got[:0], x...)
			Softmax(got)
			if i := sameF32(want, got); i >= 0 {
				t.Fatalf("n %d trial %d: Softmax [%d] = %g, want %g", n, trial, i, got[i], want[i])
			}
		}
	}
}
