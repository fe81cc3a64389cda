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
	// Edge strips (m not a multiple of 6), edge panels, several panel
	// groups (n > 256), K blocks with odd remainders.
	shapes := [][3]int{{1, 1, 1}, {4, 16, 3}, {5, 17, 300}, {8, 33, 513}, {13, 64, 257}, {3, 5, 7}, {16, 48, 1},
		{6, 16, 256}, {12, 32, 511}, {7, 300, 259}, {299, 20, 33}, {20, 530, 70}}
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

// TestGemmStridedA checks GemmM with a transposed and a general strided A
// against the reference, bit for bit.
func TestGemmStridedA(t *testing.T) {
	r := NewRNG(2)
	for _, sh := range [][3]int{{7, 21, 300}, {13, 40, 5}, {6, 16, 257}} {
		m, n, k := sh[0], sh[1], sh[2]
		data := randSlice(r, 3*m*k+5)
		b := Mat{Data: randSlice(r, k*n), RS: n, CS: 1}
		for _, a := range []Mat{
			{Data: data, Off: 5, RS: k, CS: 1},     // row-major
			{Data: data, Off: 5, RS: 1, CS: m},     // transposed
			{Data: data, Off: 1, RS: 3 * k, CS: 3}, // general
		} {
			want := make([]float32, m*n)
			GemmMRef(m, n, k, a, b, want, n, false)
			for _, th := range []int{1, 2} {
				got := make([]float32, m*n)
				GemmM(m, n, k, a, b, got, n, false, th)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("m=%d n=%d k=%d A %+v threads %d: c[%d]=%v want %v", m, n, k, [3]int{a.Off, a.RS, a.CS}, th, i, got[i], want[i])
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

// TestKernelMatchesGo checks the assembly micro-kernel against the Go one
// bit for bit, for even and odd k, with and without loading C.
func TestKernelMatchesGo(t *testing.T) {
	if !hasKernel {
		t.Skip("no assembly kernel on this build/CPU (the Go kernel is the one in use)")
	}
	r := NewRNG(3)
	for _, kc := range []int{1, 2, 3, 17, 256} {
		ap := randSlice(r, kc*gemmMR)
		bp := randSlice(r, kc*gemmNR)
		for _, load := range []bool{false, true} {
			const ldc = 21
			c0 := randSlice(r, gemmMR*ldc)
			want := append([]float32(nil), c0...)
			kern6x16Go(kc, ap, bp, want, ldc, load)
			got := append([]float32(nil), c0...)
			kern6x16(kc, ap, bp, got, ldc, load)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("kc=%d load=%v: c[%d] = %v, Go kernel gives %v", kc, load, i, got[i], want[i])
				}
			}
		}
	}
}
