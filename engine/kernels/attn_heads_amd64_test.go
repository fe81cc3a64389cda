//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// headsAsmImpls are the assembly forms of the fused kernels that this CPU
// runs, called directly (whatever is installed).
var headsAsmImpls = func() []headsImpl {
	if !(cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX2 && cpu.X86.HasF16C) {
		return nil
	}
	return []headsImpl{{"avx512", maxFusedHeads, scoresF16HeadsAsm512, weightedF16HeadsAsm512}}
}()
