package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxes checks Softmaxes against Softmax of each slice bit for
// bit: 1 to 9 slices (the groups of four, two and one), lengths 1 to 300,
// some -Inf elements.
func TestSoftmaxes(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for k := 1; k <= 9; k++ {
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
