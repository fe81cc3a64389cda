package nn

// Matrix multiply C = C0 + A·B in float32.
//
// Accumulation order (the contract every kernel keeps, bit for bit): each
// output element starts from 0 (or from the old C value when accumulating)
// and adds float32(A[i][k]*B[k][j]) for k = 0, 1, ..., K-1 in that order,
// rounding to float32 after every product and every sum. No fused
// multiply-add anywhere. Work is split between goroutines by output
// columns, never along K, so the thread count does not change any bit.

// Mat describes a read-only float32 matrix view with arbitrary strides:
// element (r, c) is Data[Off + r*RS + c*CS].
type Mat struct {
	Data   []float32
	Off    int
	RS, CS int
}

// gemmKC is the K block: partial sums go through C between blocks, which
// keeps the sequential order while the packed panel stays in L1/L2.
const gemmKC = 256

// Gemm computes C[m×n] (+)= A[m×k]·B[k×n]. A is row-major with row stride
// lda; B is any strided view; C is row-major with row stride ldc. If acc is
// false C is overwritten. threads ≥ 1 goroutines split the columns of C.
func Gemm(m, n, k int, a []float32, lda int, b Mat, c []float32, ldc int, acc bool, threads int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return
	}
	panels := (n + 15) / 16
	parallel(panels, threads, func(lo, hi int) {
		bp := make([]float32, gemmKC*16)
		var tmp [4 * 16]float32
		for p := lo; p < hi; p++ {
			j0 := p * 16
			nc := min(16, n-j0)
			for k0 := 0; k0 < k; k0 += gemmKC {
				kc := min(gemmKC, k-k0)
				packB(bp, b, k0, kc, j0, nc)
				load := acc || k0 > 0
				i := 0
				if hasKernel {
					for ; i+4 <= m; i += 4 {
						if nc == 16 {
							kern4x16(kc, &a[i*lda+k0], lda, &bp[0], &c[i*ldc+j0], ldc, load)
							continue
						}
						if load {
							for r := 0; r < 4; r++ {
								copy(tmp[r*16:r*16+nc], c[(i+r)*ldc+j0:(i+r)*ldc+j0+nc])
							}
						}
						kern4x16(kc, &a[i*lda+k0], lda, &bp[0], &tmp[0], 16, load)
						for r := 0; r < 4; r++ {
							copy(c[(i+r)*ldc+j0:(i+r)*ldc+j0+nc], tmp[r*16:r*16+nc])
						}
					}
				}
				for ; i < m; i++ {
					rowRef(kc, a[i*lda+k0:i*lda+k0+kc], bp, c[i*ldc+j0:i*ldc+j0+nc], load)
				}
			}
		}
	})
}

// packB copies B[k0:k0+kc, j0:j0+nc] into bp as kc rows of 16 (zero padded).
func packB(bp []float32, b Mat, k0, kc, j0, nc int) {
	if b.CS == 1 {
		for kk := 0; kk < kc; kk++ {
			row := bp[kk*16 : kk*16+16]
			base := b.Off + (k0+kk)*b.RS + j0
			copy(row, b.Data[base:base+nc])
			clear(row[nc:])
		}
		return
	}
	// Column by column: each column of the panel is a strided walk of B
	// (contiguous when B is a transposed row-major matrix).
	for j := 0; j < 16; j++ {
		if j >= nc {
			for kk := 0; kk < kc; kk++ {
				bp[kk*16+j] = 0
			}
			continue
		}
		base := b.Off + k0*b.RS + (j0+j)*b.CS
		if b.RS == 1 {
			src := b.Data[base : base+kc]
			for kk, v := range src {
				bp[kk*16+j] = v
			}
			continue
		}
		for kk := 0; kk < kc; kk++ {
			bp[kk*16+j] = b.Data[base+kk*b.RS]
		}
	}
}

// rowRef is the pure-Go reference for one output row against a packed
// panel: c[j] = (load ? c[j] : 0) + Σ_k a[k]*bp[k*16+j], in k order.
func rowRef(kc int, a, bp, c []float32, load bool) {
	for j := range c {
		var s float32
		if load {
			s = c[j]
		}
		for kk := 0; kk < kc; kk++ {
			s += float32(a[kk] * bp[kk*16+j])
		}
		c[j] = s
	}
}

// GemmRef is the plain triple-loop reference with the same accumulation
// order as Gemm (used by tests).
func GemmRef(m, n, k int, a []float32, lda int, b Mat, c []float32, ldc int, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			if acc {
				s = c[i*ldc+j]
			}
			for kk := 0; kk < k; kk++ {
				s += float32(a[i*lda+kk] * b.Data[b.Off+kk*b.RS+j*b.CS])
			}
			c[i*ldc+j] = s
		}
	}
}
