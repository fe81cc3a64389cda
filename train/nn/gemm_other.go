//go:build !amd64 || purego

package nn

const hasKernel = false

func kern4x16(k int, a *float32, lda int, bp *float32, c *float32, ldc int, load bool) {
	panic("nn: no assembly kernel")
}
