//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func maxBlocksAVX512(x []float32) float32

//go:noescape
func scaleBlocksAVX512(x []float32, s float32)

func init() {
	if cpu.X86.HasAVX512F {
		softmaxMax = softmaxMaxAVX512
		expSub = expSubAVX512
		scaleBy = scaleByAVX512
	}
}

// softmaxMaxAVX512 is softmaxMaxGo with the blocks of 16 in AVX-512. The
// maximum of non-NaN values is one value whatever the order, except for
// the sign of a zero (and softmaxMaxGo keeps x[0] when it is NaN): those
// cases, rare in a softmax, go through softmaxMaxGo itself.
func softmaxMaxAVX512(x []float32) float32 {
	n16 := len(x) - len(x)%16
	if n16 == 0 || x[0] != x[0] {
		return softmaxMaxGo(x)
	}
	m := maxBlocksAVX512(x)
	for _, v := range x[n16:] {
		if v > m {
			m = v
		}
	}
	if m == 0 {
		return softmaxMaxGo(x)
	}
	return m
}

// expSubAVX512 is expSubGo with blocks of 16 in AVX-512; the blocks the
// assembly hands back (a lane where Exp leaves its fast range) are done
// here with Exp, the same operations.
func expSubAVX512(x []float32, m float32) {
	n := len(x)
	for i := 0; i < n; {
		i += expSubBlocksAVX512(x[i:], x[i:], m)
		end := min(n, i+16)
		for ; i < end; i++ {
			x[i] = Exp(x[i] - m)
		}
	}
}

// scaleByAVX512 is scaleByGo with blocks of 16 in AVX-512.
func scaleByAVX512(x []float32, s float32) {
	n16 := len(x) - len(x)%16
	scaleBlocksAVX512(x, s)
	for i := n16; i < len(x); i++ {
		x[i] = x[i] * s
	}
}
