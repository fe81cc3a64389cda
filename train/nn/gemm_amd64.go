//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

var hasKernel = cpu.X86.HasAVX2

// kern4x16 computes a 4×16 block: c[r*ldc+j] = (load ? c : 0) + Σ_k
// a[r*lda+k]*bp[k*16+j] with separate multiply and add (no FMA), in k order.
//
//go:noescape
func kern4x16(k int, a *float32, lda int, bp *float32, c *float32, ldc int, load bool)
