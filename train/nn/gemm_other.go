//go:build !amd64 || purego

package nn

const hasKernel = false

func kern6x16(kc int, ap, bp, c []float32, ldc int, load bool) {
	kern6x16Go(kc, ap, bp, c, ldc, load)
}
