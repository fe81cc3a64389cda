//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func dotLanesAVX2(a, b []float32, lanes *[Lanes]float32)

//go:noescape
func dotQ8AVX2(w, x []byte, table *[1 << 16]float32) float32

//go:noescape
func dotQ4_1DAVX2(w, x []byte, nb int, table *[1 << 16]float32) float32

//go:noescape
func f16RowF16C(dst []float32, src []uint16)

//go:noescape
func bf16RowAVX2(dst []float32, src []uint16)

func init() {
	if cpu.X86.HasAVX2 {
		dotF32 = dotAVX2
		dotQ8 = dotQ8Asm
		dotQ4_1D = dotQ4_1DAsm
		bf16Row = bf16RowAsm
		if cpu.X86.HasF16C {
			f16Row = f16RowAsm
		}
	}
}

func f16RowAsm(dst []float32, src []uint16) {
	n := len(src) - len(src)%8
	f16RowF16C(dst[:n], src[:n])
	f16RowGeneric(dst[n:], src[n:])
}

func bf16RowAsm(dst []float32, src []uint16) {
	n := len(src) - len(src)%8
	bf16RowAVX2(dst[:n], src[:n])
	bf16RowGeneric(dst[n:], src[n:])
}

// dotQ8Asm is dotQ8Ref in AVX2 assembly.
func dotQ8Asm(w, x []byte) float32 {
	n := len(w) - len(w)%BlockQ8Size
	return dotQ8AVX2(w[:n], x[:n], f16Table)
}

// dotAVX2 is dotRef with the lane phase in AVX2 assembly; the lane tree
// and the tail are the same Go code as the reference.
func dotAVX2(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	n16 := n - n%Lanes
	var lane [Lanes]float32
	if n16 > 0 {
		dotLanesAVX2(a[:n16], b[:n16], &lane)
	}
	s := reduceLanes(&lane)
	for i := n16; i < n; i++ {
		s = s + float32(a[i]*b[i])
	}
	return s
}

// dotQ4_1DAsm is dotQ4_1DGeneric in AVX2 assembly.
func dotQ4_1DAsm(w, x []byte) float32 {
	nb := len(w) / BlockQ4_1Size
	_ = x[nb*BlockQ8Size-1]
	return dotQ4_1DAVX2(w, x, nb, f16Table)
}
