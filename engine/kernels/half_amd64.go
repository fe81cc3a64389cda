//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func f32ToF16AVX512(dst *uint16, src *float32, n int)

//go:noescape
func roundF16AVX512(x *float32, n int)

func init() {
	if cpu.X86.HasAVX512F {
		f32ToF16s = func(dst []uint16, src []float32) {
			n := len(src) - len(src)%16
			if n > 0 {
				_ = dst[n-1]
				f32ToF16AVX512(&dst[0], &src[0], n)
			}
			f32ToF16sGeneric(dst[n:], src[n:])
		}
		roundF16s = func(x []float32) {
			n := len(x) - len(x)%16
			if n > 0 {
				roundF16AVX512(&x[0], n)
			}
			roundF16Generic(x[n:])
		}
	}
}
