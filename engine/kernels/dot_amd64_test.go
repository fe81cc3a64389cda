//go:build amd64 && !noasm

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

func TestDotAVX2(t *testing.T) {
	if !cpu.X86.HasAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	r := rand.New(rand.NewPCG(31, 32))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -3e-39, 1e-30, 3e38, -1}
	for _, n := range []int{0, 16, 17, 48, 127, 1024, 4099} {
		for rep := 0; rep < 20; rep++ {
			a, b := randVec(r, n, 1), randVec(r, n, 1)
			if rep%2 == 1 { // sprinkle signed zeros, subnormals and huge values
				for i := range a {
					if r.IntN(4) == 0 {
						a[i] = special[r.IntN(len(special))]
						b[i] = special[r.IntN(len(special))]
					}
				}
			}
			got, want := dotAVX2(a, b), dotRef(a, b)
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Fatalf("n=%d: dotAVX2 = %g (%#x), reference %g (%#x)", n, got, math.Float32bits(got), want, math.Float32bits(want))
			}
		}
	}
}

func TestDotQ8AVX2(t *testing.T) {
	if !cpu.X86.HasAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	r := rand.New(rand.NewPCG(33, 34))
	for _, blocks := range []int{0, 1, 2, 7, 64} {
		for rep := 0; rep < 20; rep++ {
			w, x := make([]byte, blocks*34), make([]byte, blocks*34)
			for i := range w {
				w[i], x[i] = byte(r.Uint32()), byte(r.Uint32())
				if rep%3 == 0 && i%34 >= 2 { // extremes: -128, 127
					w[i], x[i] = 0x80, byte(0x7f+r.IntN(2))
				}
			}
			for b := 0; b < blocks; b++ { // finite scales
				w[b*34+1] &= 0x7b
				x[b*34+1] &= 0x7b
			}
			got, want := dotQ8Asm(w, x), dotQ8Ref(w, x)
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("%d blocks: dotQ8Asm = %g, reference %g", blocks, got, want)
			}
		}
	}
}

func TestRowConversionAsm(t *testing.T) {
	if !cpu.X86.HasAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	src := make([]uint16, 1<<16+5)
	for i := range src {
		src[i] = uint16(i)
	}
	want, got := make([]float32, len(src)), make([]float32, len(src))
	f16RowGeneric(want, src)
	if cpu.X86.HasF16C {
		f16RowAsm(got, src)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("f16 %#04x: asm %#08x, generic %#08x", src[i], math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
	bf16RowGeneric(want, src)
	bf16RowAsm(got, src)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("bf16 %#04x: asm %#08x, generic %#08x", src[i], math.Float32bits(got[i]), math.Float32bits(want[i]))
		}
	}
}
