//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func expSubBlocksAVX512(dst, src []float32, m float32) int

func init() {
	if cpu.X86.HasAVX512F {
		expSlice = expSliceAVX512
	}
}

// expSliceAVX512 is expSliceGeneric with blocks of 16 in AVX-512: the
// assembly (expSubBlocksAVX512 with m = 0) does Exp's operations lane by
// lane and hands back blocks with a lane outside its range, which Exp
// does here.
func expSliceAVX512(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	for i := 0; i < n; {
		i += expSubBlocksAVX512(dst[i:], src[i:], 0)
		end := min(n, i+16)
		for ; i < end; i++ {
			dst[i] = Exp(src[i])
		}
	}
}
