package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestF16SlicesMatchScalar checks the installed RoundF16 and F32ToF16s
// (AVX-512 where available) against F32ToF16 element by element, bit for
// bit: every sign, exponent and top 10 significand bits with low bits at,
// around and away from the rounding points, NaNs with payloads, and random
// patterns, at lengths that leave tails.
func TestF16SlicesMatchScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var x []float32
	for top := uint32(0); top < 1<<19; top++ {
		for _, low := range []uint32{0, 1, 0xfff, 0x1000, 0x1001, 0x1fff, r.Uint32() & 0x1fff} {
			x = append(x, math.Float32frombits(top<<13|low))
		}
	}
	for range 1 << 20 {
		x = append(x, math.Float32frombits(r.Uint32()))
	}
	for _, n := range []int{len(x), len(x) - 7, 15, 1} {
		src := x[len(x)-n:]
		h := make([]uint16, n)
		F32ToF16s(h, src)
		rounded := append([]float32(nil), src...)
		RoundF16(rounded)
		for i, v := range src {
			want := F32ToF16(v)
			if h[i] != want {
				t.Fatalf("F32ToF16s(%#x) = %#x, want %#x", math.Float32bits(v), h[i], want)
			}
			if got, w := math.Float32bits(rounded[i]), math.Float32bits(F16ToF32(want)); got != w {
				t.Fatalf("RoundF16(%#x) = %#x, want %#x", math.Float32bits(v), got, w)
			}
		}
	}
}
