package nn

import "sync"

// Matrix multiply C = C0 + A·B in float32.
//
// Accumulation order (the contract every kernel keeps, bit for bit): each
// output element starts from 0 (or from the old C value when accumulating)
// and adds float32(A[i][k]*B[k][j]) for k = 0, 1, ..., K-1 in that order,
// rounding to float32 after every product and every sum. No fused
// multiply-add anywhere. Work is split between goroutines by output
// columns, never along K, so the thread count does not change any bit.
//
// Blocking (it changes which tile is computed when, never the order of
// one element's sum): A is packed once into strips of gemmMR rows stored
// k-major; each goroutine takes a range of 16-column panels, packs them
// gemmKC rows of B at a time (K blocks pass the partial sums through C,
// which keeps the order), and runs the gemmMR×16 micro-kernel over blocks
// of gemmMB strips so that a packed B panel stays in L1 and the A block
// in L2.

// Mat describes a read-only float32 matrix view with arbitrary strides:
// element (r, c) is Data[Off + r*RS + c*CS].
type Mat struct {
	Data   []float32
	Off    int
	RS, CS int
}

const (
	gemmMR = 6   // rows of the micro-kernel
	gemmNR = 16  // columns of the micro-kernel (one packed B panel)
	gemmKC = 256 // K block
	gemmMB = 48  // strips per A block (48·6 rows × 256 × 4 B = 288 KiB)
	gemmNG = 16  // panels packed together (16 × 256 × 16 × 4 B = 256 KiB)
)

// Gemm computes C[m×n] (+)= A[m×k]·B[k×n]. A is row-major with row stride
// lda; B is any strided view; C is row-major with row stride ldc. If acc is
// false C is overwritten. threads ≥ 1 goroutines split the columns of C.
func Gemm(m, n, k int, a []float32, lda int, b Mat, c []float32, ldc int, acc bool, threads int) {
	GemmM(m, n, k, Mat{Data: a, RS: lda, CS: 1}, b, c, ldc, acc, threads)
}

// GemmM is Gemm with A given as a strided view too (a transposed matrix is
// Mat{RS: 1, CS: ld}); packing A reads it in place, with no transposed copy.
func GemmM(m, n, k int, a Mat, b Mat, c []float32, ldc int, acc bool, threads int) {
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
	strips := (m + gemmMR - 1) / gemmMR
	apBuf := getBuf(strips * gemmMR * k)
	defer putBuf(apBuf)
	ap := *apBuf
	packA(ap, m, k, a, threads)
	panels := (n + gemmNR - 1) / gemmNR
	parallel(panels, threads, func(lo, hi int) {
		bpBuf := getBuf(gemmNG * gemmKC * gemmNR)
		defer putBuf(bpBuf)
		bp := *bpBuf
		var tmp [gemmMR * gemmNR]float32
		for g0 := lo; g0 < hi; g0 += gemmNG {
			g1 := min(g0+gemmNG, hi)
			for k0 := 0; k0 < k; k0 += gemmKC {
				kc := min(gemmKC, k-k0)
				packB(bp, b, k0, kc, g0, g1, n)
				load := acc || k0 > 0
				for s0 := 0; s0 < strips; s0 += gemmMB {
					s1 := min(s0+gemmMB, strips)
					for p := g0; p < g1; p++ {
						j0 := p * gemmNR
						nc := min(gemmNR, n-j0)
						bpp := bp[(p-g0)*kc*gemmNR:]
						for s := s0; s < s1; s++ {
							i0 := s * gemmMR
							as := ap[s*gemmMR*k+k0*gemmMR:]
							mr := min(gemmMR, m-i0)
							if mr == gemmMR && nc == gemmNR {
								kern6x16(kc, as, bpp, c[i0*ldc+j0:], ldc, load)
								continue
							}
							// Edge tile: compute into tmp, copy the valid part.
							if load {
								for r := 0; r < mr; r++ {
									copy(tmp[r*gemmNR:r*gemmNR+nc], c[(i0+r)*ldc+j0:])
								}
							}
							kern6x16(kc, as, bpp, tmp[:], gemmNR, load)
							for r := 0; r < mr; r++ {
								copy(c[(i0+r)*ldc+j0:(i0+r)*ldc+j0+nc], tmp[r*gemmNR:r*gemmNR+nc])
							}
						}
					}
				}
			}
		}
	})
}

// packA copies A into ap as strips of gemmMR rows, each stored k-major
// (ap[s*gemmMR*k + kk*gemmMR + r] = A[s*gemmMR+r][kk]), with zero rows
// past m.
func packA(ap []float32, m, k int, a Mat, threads int) {
	strips := (m + gemmMR - 1) / gemmMR
	parallel(strips, threads, func(lo, hi int) {
		for s := lo; s < hi; s++ {
			dst := ap[s*gemmMR*k : (s+1)*gemmMR*k]
			mr := min(gemmMR, m-s*gemmMR)
			if mr < gemmMR {
				for kk := 0; kk < k; kk++ {
					clear(dst[kk*gemmMR+mr : (kk+1)*gemmMR])
				}
			}
			switch {
			case a.CS == 1: // row-major: one row at a time
				for r := 0; r < mr; r++ {
					base := a.Off + (s*gemmMR+r)*a.RS
					for kk, v := range a.Data[base : base+k] {
						dst[kk*gemmMR+r] = v
					}
				}
			case a.RS == 1: // transposed: the strip's rows are adjacent
				for kk := 0; kk < k; kk++ {
					base := a.Off + kk*a.CS + s*gemmMR
					copy(dst[kk*gemmMR:kk*gemmMR+mr], a.Data[base:base+mr])
				}
			default:
				for r := 0; r < mr; r++ {
					for kk := 0; kk < k; kk++ {
						dst[kk*gemmMR+r] = a.Data[a.Off+(s*gemmMR+r)*a.RS+kk*a.CS]
					}
				}
			}
		}
	})
}

// bufPool recycles the packing buffers (their contents are always fully
// written before use, so a recycled buffer needs no clearing).
var bufPool sync.Pool

func getBuf(n int) *[]float32 {
	if p, ok := bufPool.Get().(*[]float32); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]float32, n)
	return &b
}

func putBuf(p *[]float32) { bufPool.Put(p) }

// packB packs B[k0:k0+kc, panels g0..g1-1] (columns p*16.. of n) into
// bp: panel p-g0 at bp[(p-g0)*kc*16:], kc rows of 16, zero padded past n.
func packB(bp []float32, b Mat, k0, kc, g0, g1, n int) {
	if b.CS == 1 {
		// Row by row across all the panels, so B is read sequentially.
		j0, j1 := g0*gemmNR, min(g1*gemmNR, n)
		for kk := 0; kk < kc; kk++ {
			base := b.Off + (k0+kk)*b.RS
			src := b.Data[base+j0 : base+j1]
			for p := g0; p < g1; p++ {
				dst := bp[((p-g0)*kc+kk)*gemmNR : ((p-g0)*kc+kk+1)*gemmNR]
				off := (p - g0) * gemmNR
				if off+gemmNR <= len(src) {
					*(*[gemmNR]float32)(dst) = *(*[gemmNR]float32)(src[off:])
					continue
				}
				nc := copy(dst, src[off:])
				clear(dst[nc:])
			}
		}
		return
	}
	// Column by column: each column of a panel is a strided walk of B
	// (contiguous when B is a transposed row-major matrix).
	for p := g0; p < g1; p++ {
		panel := bp[(p-g0)*kc*gemmNR : (p-g0+1)*kc*gemmNR]
		for j := 0; j < gemmNR; j++ {
			col := p*gemmNR + j
			if col >= n {
				for kk := 0; kk < kc; kk++ {
					panel[kk*gemmNR+j] = 0
				}
				continue
			}
			base := b.Off + k0*b.RS + col*b.CS
			if b.RS == 1 {
				for kk, v := range b.Data[base : base+kc] {
					panel[kk*gemmNR+j] = v
				}
				continue
			}
			for kk := 0; kk < kc; kk++ {
				panel[kk*gemmNR+j] = b.Data[base+kk*b.RS]
			}
		}
	}
}

// kern6x16Go is the pure-Go micro-kernel and the reference for the
// assembly one: for r < 6, j < 16, c[r*ldc+j] = (load ? c[r*ldc+j] : 0)
// + Σ_{kk<kc} ap[kk*6+r]*bp[kk*16+j], one rounding after every product
// and every sum, kk in order.
func kern6x16Go(kc int, ap, bp, c []float32, ldc int, load bool) {
	var acc [gemmMR][gemmNR]float32
	if load {
		for r := range acc {
			copy(acc[r][:], c[r*ldc:r*ldc+gemmNR])
		}
	}
	for kk := 0; kk < kc; kk++ {
		brow := bp[kk*gemmNR : kk*gemmNR+gemmNR]
		for r := range acc {
			av := ap[kk*gemmMR+r]
			for j, bv := range brow {
				acc[r][j] += float32(av * bv)
			}
		}
	}
	for r := range acc {
		copy(c[r*ldc:r*ldc+gemmNR], acc[r][:])
	}
}

// GemmMRef is GemmRef with A as a strided view.
func GemmMRef(m, n, k int, a Mat, b Mat, c []float32, ldc int, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			if acc {
				s = c[i*ldc+j]
			}
			for kk := 0; kk < k; kk++ {
				s += float32(a.Data[a.Off+i*a.RS+kk*a.CS] * b.Data[b.Off+kk*b.RS+j*b.CS])
			}
			c[i*ldc+j] = s
		}
	}
}

// GemmRef is the plain triple-loop reference with the same accumulation
// order as Gemm (used by tests).
func GemmRef(m, n, k int, a []float32, lda int, b Mat, c []float32, ldc int, acc bool) {
	GemmMRef(m, n, k, Mat{Data: a, RS: lda, CS: 1}, b, c, ldc, acc)
}
