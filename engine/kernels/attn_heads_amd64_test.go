//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// headsAsmImpls are the assembly forms of the fused kernels that this CPU
// runs, called directly (whatever is installed).
var headsAsmImpls = func() []headsImpl {
	var impls []headsImpl
	if cpu.X86.HasAVX2 && cpu.X86.HasF16C {
		impls = append(impls, headsImpl{"avx2", maxFusedHeads, scoresF16HeadsAVX2, weightedF16HeadsAVX2},
			headsImpl{"each-avx2", 0, scoresF16HeadsEachAVX2, weightedF16HeadsEachAVX2})
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX2 && cpu.X86.HasF16C {
		impls = append(impls, headsImpl{"avx512", maxFusedHeads, scoresF16HeadsAsm512, weightedF16HeadsAsm512})
	}
	return impls
}()

// scoresF16HeadsEachAVX2 and weightedF16HeadsEachAVX2 are the heads one
// by one in the single-head AVX2 kernels (what a machine without AVX-512
// ran before the fused kernels), for the benchmark.
func scoresF16HeadsEachAVX2(out []float32, ostride, n int, q []float32, heads int, k []uint16, stride int, scale float32, _ []uint16) {
	hd := len(q) / heads
	for j := 0; j < heads; j++ {
		scoreRowsF16Asm(out[j*ostride:j*ostride+n], q[j*hd:(j+1)*hd], k, stride, scale)
	}
}

func weightedF16HeadsEachAVX2(dst []float32, heads int, p []float32, pstride, n int, v []uint16, stride int, acc []float32) {
	hd := len(dst) / heads
	for j := 0; j < heads; j++ {
		weightedSumF16(dst[j*hd:(j+1)*hd], p[j*pstride:j*pstride+n], v, stride, acc, weightedLanesF16Asm)
	}
}
