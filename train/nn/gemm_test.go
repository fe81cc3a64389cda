package nn

import (
	"math"
	"testing"
)

func randSlice(r *RNG, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// TestGemmMatchesRef checks the blocked (assembly where available) GEMM
// against the triple loop bit for bit, for odd shapes, strided B,
// accumulation and several thread counts.
func TestGemmMatchesRef(t *testing.T) {
	r := NewRNG(1)
	shapes := [][3]int{{1, 1, 1}, {4, 16, 3}, {5, 17, 300}, {8, 33, 513}, {13, 64, 257}, {3, 5, 7}, {16, 48, 1}}
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		a := randSlice(r, m*k)
		bData := randSlice(r, k*n)
		for _, trans := range []bool{false, true} {
			b := Mat{Data: bData, RS: n, CS: 1}
			if trans {
				b = Mat{Data: bData, RS: 1, CS: k}
			}
			for _, acc := range []bool{false, true} {
				c0 := randSlice(r, m*n)
				want := append([]float32(nil), c0...)
				GemmRef(m, n, k, a, k, b, want, n, acc)
				for _, th := range []int{1, 2, 3} {
					got := append([]float32(nil), c0...)
					Gemm(m, n, k, a, k, b, got, n, acc, th)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("m=%d n=%d k=%d trans=%v acc=%v threads=%d: c[%d]=%v want %v", m, n, k, trans, acc, th, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

func BenchmarkGemm128x1024x1152(b *testing.B) {
	r := NewRNG(1)
	m, n, k := 128, 1024, 1152
	a := randSlice(r, m*k)
	bm := Mat{Data: randSlice(r, k*n), RS: n, CS: 1}
	c := make([]float32, m*n)
	b.SetBytes(0)
	for b.Loop() {
		Gemm(m, n, k, a, k, bm, c, n, false, 1)
	}
	b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
