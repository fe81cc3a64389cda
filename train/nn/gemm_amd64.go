//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

var hasKernel = cpu.X86.HasAVX2

// kern6x16 runs the micro-kernel (see kern6x16Go for what it computes):
// the AVX2 assembly when the CPU has it, else the Go reference.
func kern6x16(kc int, ap, bp, c []float32, ldc int, load bool) {
	if hasKernel {
		_ = ap[kc*gemmMR-1]
		_ = bp[kc*gemmNR-1]
		_ = c[(gemmMR-1)*ldc+gemmNR-1]
		kern6x16AVX2(kc, &ap[0], &bp[0], &c[0], ldc, load)
		return
	}
	kern6x16Go(kc, ap, bp, c, ldc, load)
}

// kern6x16AVX2 is kern6x16Go in AVX2 with separate VMULPS and VADDPS (no
// FMA), bit for bit.
//
//go:noescape
func kern6x16AVX2(kc int, ap, bp, c *float32, ldc int, load bool)
