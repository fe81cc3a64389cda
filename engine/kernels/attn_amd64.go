//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

//go:noescape
func scoreRowsAVX2(out, q, k *float32, rows, hd, stride int, scale float32)

//go:noescape
func weightedLanesAVX2(acc, p, v *float32, rows, hd, stride int)

//go:noescape
func scoreRowsF16AVX2(out, q *float32, k *uint16, rows, hd, stride int, scale float32)

//go:noescape
func weightedLanesF16AVX2(acc, p *float32, v *uint16, rows, hd, stride int)

//go:noescape
func scoreRows16AVX512(out, q, k *float32, blocks, hd, stride int, scale float32)

//go:noescape
func scoreRows16F16AVX512(out, q *float32, k *uint16, blocks, hd, stride int, scale float32)

//go:noescape
func weightedLanes16AVX512(acc, p, v *float32, blocks, hd, stride int)

//go:noescape
func weightedLanes16F16AVX512(acc, p *float32, v *uint16, blocks, hd, stride int)

//go:noescape
func weightedSum16AVX512(dst, p, v *float32, n, hd, stride int)

//go:noescape
func weightedSum16F16AVX512(dst, p *float32, v *uint16, n, hd, stride int)

func init() {
	if cpu.X86.HasAVX2 {
		scoreRows = scoreRowsAsm
		weightedLanes = weightedLanesAsm
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasF16C {
		scoreRowsF16 = scoreRowsF16Asm
		weightedLanesF16 = weightedLanesF16Asm
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasF16C {
		scoreRows = scoreRowsAsm512
		weightedLanes = weightedLanesAsm512
		scoreRowsF16 = scoreRowsF16Asm512
		weightedLanesF16 = weightedLanesF16Asm512
		weightedSumF32Whole = weightedSumAsm512
		weightedSumF16Whole = weightedSumF16Asm512
		directF16 = true
	}
}

// cacheElem is the element type of a K or V cache row: float32 or
// binary16 bits.
type cacheElem interface{ float32 | uint16 }

// scoreRowsWith is the one wrapper of the score kernels: widths that are
// not a multiple of Lanes go to generic; otherwise the rows go in blocks
// of 16 to k16 (AVX-512; nil: none) and the remaining rows to k8 (AVX2).
func scoreRowsWith[T cacheElem](out, q []float32, k []T, stride int, scale float32,
	generic func(out, q []float32, k []T, stride int, scale float32),
	k8, k16 func(out, q *float32, k *T, rows, hd, stride int, scale float32)) {
	hd := len(q)
	if hd%Lanes != 0 || hd == 0 {
		generic(out, q, k, stride, scale)
		return
	}
	_ = k[(len(out)-1)*stride+hd-1]
	n16 := 0
	if k16 != nil {
		if n16 = len(out) - len(out)%16; n16 > 0 {
			k16(&out[0], &q[0], &k[0], n16/16, hd, stride, scale)
		}
	}
	if n16 < len(out) {
		k8(&out[n16], &q[0], &k[n16*stride], len(out)-n16, hd, stride, scale)
	}
}

// weightedLanesWith is the one wrapper of the weighted-lane kernels: head
// widths that are a multiple of width go to kern with len(p)/per rows (or
// blocks), the others to fallback.
func weightedLanesWith[T cacheElem](acc, p []float32, v []T, stride, width, per int,
	fallback func(acc, p []float32, v []T, stride int),
	kern func(acc, p *float32, v *T, rows, hd, stride int)) {
	hd := len(acc) / Lanes
	if hd%width != 0 || hd == 0 || len(p) == 0 {
		fallback(acc, p, v, stride)
		return
	}
	_ = v[(len(p)-1)*stride+hd-1]
	kern(&acc[0], &p[0], &v[0], len(p)/per, hd, stride)
}

// scoreRowsAsm is scoreRowsGeneric in AVX2 for widths that are a multiple
// of Lanes (the lanes of Dot in two registers, the same tree, no tail).
func scoreRowsAsm(out, q, k []float32, stride int, scale float32) {
	scoreRowsWith(out, q, k, stride, scale, scoreRowsGeneric, scoreRowsAVX2, nil)
}

// scoreRowsF16Asm is scoreRowsF16Generic in AVX2 and F16C for widths that
// are a multiple of Lanes.
func scoreRowsF16Asm(out, q []float32, k []uint16, stride int, scale float32) {
	scoreRowsWith(out, q, k, stride, scale, scoreRowsF16Generic, scoreRowsF16AVX2, nil)
}

// scoreRowsAsm512 is scoreRowsAsm with the rows in blocks of 16 in
// AVX-512 (attn_avx512_amd64.s: 16 rows' lanes in registers, the lane tree
// of all 16 at once) and the remaining rows in AVX2.
func scoreRowsAsm512(out, q, k []float32, stride int, scale float32) {
	scoreRowsWith(out, q, k, stride, scale, scoreRowsGeneric, scoreRowsAVX2, scoreRows16AVX512)
}

// scoreRowsF16Asm512 is scoreRowsAsm512 on binary16 keys.
func scoreRowsF16Asm512(out, q []float32, k []uint16, stride int, scale float32) {
	scoreRowsWith(out, q, k, stride, scale, scoreRowsF16Generic, scoreRowsF16AVX2, scoreRows16F16AVX512)
}

// weightedLanesAsm is weightedLanesGeneric in AVX2 for widths that are a
// multiple of 8.
func weightedLanesAsm(acc, p, v []float32, stride int) {
	weightedLanesWith(acc, p, v, stride, 8, 1, weightedLanesGeneric, weightedLanesAVX2)
}

// weightedLanesF16Asm is weightedLanesF16Generic in AVX2 and F16C for
// widths that are a multiple of 8.
func weightedLanesF16Asm(acc, p []float32, v []uint16, stride int) {
	weightedLanesWith(acc, p, v, stride, 8, 1, weightedLanesF16Generic, weightedLanesF16AVX2)
}

// weightedLanesAsm512 is weightedLanesAsm in AVX-512 (the 16 lanes of a
// 16-element chunk held in registers over all rows) for widths that are a
// multiple of 16; len(p) is a multiple of Lanes.
func weightedLanesAsm512(acc, p, v []float32, stride int) {
	weightedLanesWith(acc, p, v, stride, 16, Lanes, weightedLanesAsm, weightedLanes16AVX512)
}

// weightedLanesF16Asm512 is weightedLanesAsm512 on binary16 values.
func weightedLanesF16Asm512(acc, p []float32, v []uint16, stride int) {
	weightedLanesWith(acc, p, v, stride, 16, Lanes, weightedLanesF16Asm, weightedLanes16F16AVX512)
}

// weightedSumWith runs kern, a whole weighted sum in AVX-512 (lanes in
// registers, the lane tree, the tail), for widths that are a multiple of
// 16 and reports whether it did; the caller has checked the bounds.
func weightedSumWith[T cacheElem](dst, p []float32, v []T, stride int,
	kern func(dst, p *float32, v *T, rows, hd, stride int)) bool {
	hd := len(dst)
	if hd%16 != 0 || hd == 0 || len(p) == 0 {
		return false
	}
	kern(&dst[0], &p[0], &v[0], len(p), hd, stride)
	return true
}

// weightedSumAsm512 is WeightedSumF32 whole in AVX-512.
func weightedSumAsm512(dst, p, v []float32, stride int) bool {
	return weightedSumWith(dst, p, v, stride, weightedSum16AVX512)
}

// weightedSumF16Asm512 is weightedSumAsm512 on binary16 values.
func weightedSumF16Asm512(dst, p []float32, v []uint16, stride int) bool {
	return weightedSumWith(dst, p, v, stride, weightedSum16F16AVX512)
}

//go:noescape
func scoreRows8x2F16AVX512(out, q *float32, k *uint16, blocks, hd, stride, ostride int, scale float32, pv *uint16)

//go:noescape
func scoreRows8x3F16AVX512(out, q *float32, k *uint16, blocks, hd, stride, ostride int, scale float32, pv *uint16)

//go:noescape
func weightedSum16x2F16AVX512(dst, p *float32, v *uint16, acc *float32, n, hd, stride, pstride int)

//go:noescape
func weightedSum16x3F16AVX512(dst, p *float32, v *uint16, acc *float32, n, hd, stride, pstride int)

//go:noescape
func scoreRowsF16x2AVX2(out, q *float32, k *uint16, rows, hd, stride, ostride int, scale float32)

//go:noescape
func scoreRowsF16x3AVX2(out, q *float32, k *uint16, rows, hd, stride, ostride int, scale float32)

//go:noescape
func weightedLanesF16x2AVX2(acc, p *float32, v *uint16, rows, hd, stride, pstride, hstride int)

//go:noescape
func weightedLanesF16x3AVX2(acc, p *float32, v *uint16, rows, hd, stride, pstride, hstride int)

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasF16C {
		scoresF16Heads = scoresF16HeadsAVX2
		weightedF16Heads = weightedF16HeadsAVX2
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasAVX2 && cpu.X86.HasF16C {
		scoresF16Heads = scoresF16HeadsAsm512
		weightedF16Heads = weightedF16HeadsAsm512
	}
}

// fusedKernel returns the fused kernel for heads heads of width hd, k2 or
// k3, where there is one (2 or 3 heads, hd a positive multiple of width).
func fusedKernel[K any](heads, hd, width int, k2, k3 K) (K, bool) {
	switch {
	case hd == 0 || hd%width != 0:
	case heads == 2:
		return k2, true
	case heads == 3:
		return k3, true
	}
	var none K
	return none, false
}

// scoresF16HeadsAsm512 is scoresF16HeadsGeneric with 2 or 3 heads and
// widths that are a multiple of 16 in AVX-512 (attn_avx512_amd64.s: rows
// in blocks of 8, each K chunk widened once for the heads, the rows of pv
// prefetched), the remaining rows of each head in AVX2; other shapes go
// head by head.
func scoresF16HeadsAsm512(out []float32, ostride, n int, q []float32, heads int, k []uint16, stride int, scale float32, pv []uint16) {
	hd := len(q) / heads
	kern, ok := fusedKernel(heads, hd, Lanes, scoreRows8x2F16AVX512, scoreRows8x3F16AVX512)
	if !ok {
		scoresF16HeadsEach(out, ostride, n, q, heads, k, stride, scale, nil)
		return
	}
	_ = k[(n-1)*stride+hd-1]
	_ = out[(heads-1)*ostride+n-1]
	n8 := n - n%8
	if n8 > 0 {
		prefetch := &k[0] // no rows to prefetch: K's own, a no-op
		if pv != nil {
			_ = pv[(n8-1)*stride+hd-1]
			prefetch = &pv[0]
		}
		kern(&out[0], &q[0], &k[0], n8/8, hd, stride, ostride, scale, prefetch)
	}
	if n8 < n {
		for j := 0; j < heads; j++ {
			scoreRowsF16AVX2(&out[j*ostride+n8], &q[j*hd], &k[n8*stride], n-n8, hd, stride, scale)
		}
	}
}

// weightedF16HeadsAsm512 is weightedF16HeadsGeneric with 2 or 3 heads and
// widths that are a multiple of 16 whole in AVX-512 (each V chunk widened
// once for the heads); other shapes go head by head.
func weightedF16HeadsAsm512(dst []float32, heads int, p []float32, pstride, n int, v []uint16, stride int, acc []float32) {
	hd := len(dst) / heads
	kern, ok := fusedKernel(heads, hd, 16, weightedSum16x2F16AVX512, weightedSum16x3F16AVX512)
	if !ok {
		weightedF16HeadsEach(dst, heads, p, pstride, n, v, stride, acc)
		return
	}
	_ = v[(n-1)*stride+hd-1]
	_ = p[(heads-1)*pstride+n-1]
	_ = acc[heads*16*16-1]
	kern(&dst[0], &p[0], &v[0], &acc[0], n, hd, stride, pstride)
}

// scoresF16HeadsAVX2 is scoresF16HeadsGeneric with 2 or 3 heads and widths
// that are a multiple of 16 in AVX2 and F16C (attn_avx2_amd64.s: each 16 keys
// widened once for the heads); other shapes go head by head.
func scoresF16HeadsAVX2(out []float32, ostride, n int, q []float32, heads int, k []uint16, stride int, scale float32, _ []uint16) {
	hd := len(q) / heads
	kern, ok := fusedKernel(heads, hd, Lanes, scoreRowsF16x2AVX2, scoreRowsF16x3AVX2)
	if !ok {
		scoresF16HeadsEach(out, ostride, n, q, heads, k, stride, scale, nil)
		return
	}
	_ = k[(n-1)*stride+hd-1]
	_ = out[(heads-1)*ostride+n-1]
	kern(&out[0], &q[0], &k[0], n, hd, stride, ostride, scale)
}

// weightedF16HeadsAVX2 is weightedF16HeadsGeneric with 2 or 3 heads and
// widths that are a multiple of 8: the lane phase in AVX2 and F16C (each
// 8 values widened once for the heads), then per head the lane tree and
// the tail rows as in weightedSumF16; other shapes go head by head.
func weightedF16HeadsAVX2(dst []float32, heads int, p []float32, pstride, n int, v []uint16, stride int, acc []float32) {
	hd := len(dst) / heads
	kern, ok := fusedKernel(heads, hd, 8, weightedLanesF16x2AVX2, weightedLanesF16x3AVX2)
	if !ok {
		weightedF16HeadsEach(dst, heads, p, pstride, n, v, stride, acc)
		return
	}
	_ = v[(n-1)*stride+hd-1]
	_ = p[(heads-1)*pstride+n-1]
	n16 := n - n%Lanes
	// The heads' lanes hs elements apart, not a multiple of 4 KiB (whose
	// loads after stores would alias), where acc has the room.
	hs := Lanes * hd
	if len(acc) >= heads*(hs+Lanes) {
		hs += Lanes
	}
	acc = acc[:heads*hs]
	clear(acc)
	if n16 > 0 {
		kern(&acc[0], &p[0], &v[0], n16, hd, stride, pstride, hs)
	}
	for j := 0; j < heads; j++ {
		reduceLaneRows(dst[j*hd:(j+1)*hd], acc[j*hs:j*hs+Lanes*hd])
	}
	for t := n16; t < n; t++ {
		row := v[t*stride : t*stride+hd]
		for j := 0; j < heads; j++ {
			dj := dst[j*hd : (j+1)*hd]
			pt := p[j*pstride+t]
			for d := range dj {
				dj[d] = dj[d] + float32(pt*f16Table[row[d]])
			}
		}
	}
}
