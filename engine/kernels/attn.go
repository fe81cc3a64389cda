package kernels

import "fmt"

// WeightedSumF16 writes dst[d] = sum over t < len(p) of p[t] * V[t][d] for
// d < len(dst), where row t of V is the binary16 vector
// v[t*stride : t*stride+len(dst)]. For each d the sum runs over t in the
// order of Dot (lane t%16 for t below len(p) - len(p)%16, the lane tree,
// then the tail), so dst[d] == Dot(p, column d of V widened to float32) bit
// for bit; the lanes are kept for all d at once so that the loop over d is
// contiguous (and vectorizable). This is the attention's probability times
// values product, with the values in an F16 cache.
func WeightedSumF16(dst, p []float32, v []uint16, stride int) {
	weightedSumF16(dst, p, v, stride, make([]float32, Lanes*len(dst)), weightedLanesF16Generic)
}

// WeightedSumF16Acc is WeightedSumF16 (bit for bit) with the installed
// lane kernel (AVX2 and F16C where available) and caller scratch acc of at
// least Lanes*len(dst) elements: the attention's weighted sum read straight
// from an F16 cache, without widening it first.
func WeightedSumF16Acc(dst, p []float32, v []uint16, stride int, acc []float32) {
	if weightedSumF16Whole != nil && weightedSumF16Whole(dst, p, v, stride) {
		return
	}
	weightedSumF16(dst, p, v, stride, acc, weightedLanesF16)
}

func weightedSumF16(dst, p []float32, v []uint16, stride int, acc []float32, lanes func(acc, p []float32, v []uint16, stride int)) {
	n, hd := len(p), len(dst)
	if n > 0 && (stride < hd || len(v) < (n-1)*stride+hd) || len(acc) < Lanes*hd {
		panic(fmt.Sprintf("kernels: WeightedSumF16: %d rows of stride %d and width %d in %d values, %d scratch", n, stride, hd, len(v), len(acc)))
	}
	n16 := n - n%Lanes
	acc = acc[:Lanes*hd]
	clear(acc)
	if n16 > 0 {
		lanes(acc, p[:n16], v, stride)
	}
	reduceLaneRows(dst, acc)
	for t := n16; t < n; t++ {
		row := v[t*stride : t*stride+hd]
		pt := p[t]
		for d := range dst {
			dst[d] = dst[d] + float32(pt*f16Table[row[d]])
		}
	}
}

// weightedLanesF16Generic is the lane phase of WeightedSumF16: lane
// t%Lanes (acc[lane*hd:]) accumulates float32(p[t]*row t of V widened)
// for t < len(p), a multiple of Lanes, in increasing t; hd = len(acc)/Lanes.
func weightedLanesF16Generic(acc, p []float32, v []uint16, stride int) {
	hd := len(acc) / Lanes
	for t := range p {
		lane := acc[(t%Lanes)*hd : (t%Lanes+1)*hd]
		row := v[t*stride : t*stride+hd]
		pt := p[t]
		for d := range lane {
			lane[d] = lane[d] + float32(pt*f16Table[row[d]])
		}
	}
}

// reduceLaneRows sets dst to the lane tree of Dot applied to the Lanes
// rows of len(dst) elements of acc, element by element: for w = 8, 4, 2,
// 1, row j += row j+w for j < w; dst = row 0.
func reduceLaneRows(dst, acc []float32) {
	hd := len(dst)
	for w := Lanes / 2; w >= 1; w /= 2 {
		for j := 0; j < w; j++ {
			a, b := acc[j*hd:(j+1)*hd], acc[(j+w)*hd:(j+w+1)*hd]
			for d := range a {
				a[d] = a[d] + b[d]
			}
		}
	}
	copy(dst, acc[:hd])
}

// The attention kernels on rows already widened to float32; assembly
// versions are installed by attn_amd64.go.
var (
	scoreRows        = scoreRowsGeneric
	weightedLanes    = weightedLanesGeneric
	scoreRowsF16     = scoreRowsF16Generic
	weightedLanesF16 = weightedLanesF16Generic

	// Whole weighted sums (lanes, tree and tail in one kernel, the same
	// operations in the same order), where installed; they report false
	// for a shape they do not take, which then goes through the lanes.
	weightedSumF32Whole func(dst, p, v []float32, stride int) bool
	weightedSumF16Whole func(dst, p []float32, v []uint16, stride int) bool

	// directF16 is DirectF16Attention's answer.
	directF16 bool
)

// DirectF16Attention reports whether the installed ScoresF16 and
// WeightedSumF16Acc, which read binary16 rows directly, cost about what
// Scores and WeightedSumF32 cost on the same rows widened to float32
// beforehand (the AVX-512 kernels), so that a caller gains nothing by
// widening a cache first. The results are the same bits either way.
func DirectF16Attention() bool { return directF16 }

// Scores sets out[t] = Dot(q, row t of K) * scale for t < len(out), where
// row t of K is k[t*stride : t*stride+len(q)]: the attention scores of one
// query against cached keys, bit for bit those of Dot.
func Scores(out, q, k []float32, stride int, scale float32) {
	n, hd := len(out), len(q)
	if n == 0 {
		return
	}
	if stride < hd || len(k) < (n-1)*stride+hd {
		panic(fmt.Sprintf("kernels: Scores: %d rows of stride %d and width %d in %d values", n, stride, hd, len(k)))
	}
	scoreRows(out, q, k, stride, scale)
}

func scoreRowsGeneric(out, q, k []float32, stride int, scale float32) {
	for t := range out {
		out[t] = Dot(q, k[t*stride:t*stride+len(q)]) * scale
	}
}

// ScoresF16 is Scores on binary16 keys: out[t] = Dot(q, row t of K
// widened to float32) * scale bit for bit, where row t of K is
// k[t*stride : t*stride+len(q)]. It reads an F16 cache directly (F16C in
// the AVX2 kernel); widening is exact, so no float32 copy is needed.
func ScoresF16(out, q []float32, k []uint16, stride int, scale float32) {
	n, hd := len(out), len(q)
	if n == 0 {
		return
	}
	if stride < hd || len(k) < (n-1)*stride+hd {
		panic(fmt.Sprintf("kernels: ScoresF16: %d rows of stride %d and width %d in %d values", n, stride, hd, len(k)))
	}
	scoreRowsF16(out, q, k, stride, scale)
}

// scoreRowsF16Generic is ScoresF16 in pure Go: Dot's lanes, tree and tail
// with each key element widened as it is read.
func scoreRowsF16Generic(out, q []float32, k []uint16, stride int, scale float32) {
	hd := len(q)
	n16 := hd - hd%Lanes
	for t := range out {
		row := k[t*stride : t*stride+hd]
		var lane [Lanes]float32
		for i := 0; i < n16; i++ {
			lane[i%Lanes] = lane[i%Lanes] + float32(q[i]*f16Table[row[i]])
		}
		s := reduceLanes(&lane)
		for i := n16; i < hd; i++ {
			s = s + float32(q[i]*f16Table[row[i]])
		}
		out[t] = s * scale
	}
}

// WeightedSumF32 is WeightedSumF16 on rows already widened to float32:
// dst[d] = Dot(p, column d of V) bit for bit, where row t of V is
// v[t*stride : t*stride+len(dst)]. acc (at least Lanes*len(dst) elements)
// is scratch, so that a caller can reuse it.
func WeightedSumF32(dst, p, v []float32, stride int, acc []float32) {
	n, hd := len(p), len(dst)
	if n > 0 && (stride < hd || len(v) < (n-1)*stride+hd) || len(acc) < Lanes*hd {
		panic(fmt.Sprintf("kernels: WeightedSumF32: %d rows of stride %d and width %d in %d values, %d scratch", n, stride, hd, len(v), len(acc)))
	}
	if weightedSumF32Whole != nil && weightedSumF32Whole(dst, p, v, stride) {
		return
	}
	n16 := n - n%Lanes
	acc = acc[:Lanes*hd]
	clear(acc)
	if n16 > 0 {
		weightedLanes(acc, p[:n16], v, stride)
	}
	reduceLaneRows(dst, acc)
	for t := n16; t < n; t++ {
		row := v[t*stride:][:len(dst)]
		pt := p[t]
		for d := range dst {
			dst[d] = dst[d] + float32(pt*row[d])
		}
	}
}

// weightedLanesGeneric is the lane phase of WeightedSumF32: lane t%Lanes
// (acc[lane*hd:]) accumulates float32(p[t]*row t of V) for t < len(p), a
// multiple of Lanes, in increasing t; hd = len(acc)/Lanes.
func weightedLanesGeneric(acc, p, v []float32, stride int) {
	hd := len(acc) / Lanes
	if hd == 8 {
		// Unrolled for the narrow heads of small models; the same order.
		for t0 := 0; t0 < len(p); t0 += Lanes {
			for j := 0; j < Lanes; j++ {
				lane := (*[8]float32)(acc[j*8:])
				row := (*[8]float32)(v[(t0+j)*stride:])
				pt := p[t0+j]
				lane[0] = lane[0] + float32(pt*row[0])
				lane[1] = lane[1] + float32(pt*row[1])
				lane[2] = lane[2] + float32(pt*row[2])
				lane[3] = lane[3] + float32(pt*row[3])
				lane[4] = lane[4] + float32(pt*row[4])
				lane[5] = lane[5] + float32(pt*row[5])
				lane[6] = lane[6] + float32(pt*row[6])
				lane[7] = lane[7] + float32(pt*row[7])
			}
		}
		return
	}
	for t0 := 0; t0 < len(p); t0 += Lanes {
		for j := 0; j < Lanes; j++ {
			lane := acc[j*hd : (j+1)*hd]
			row := v[(t0+j)*stride:][:len(lane)]
			pt := p[t0+j]
			for d := range lane {
				lane[d] = lane[d] + float32(pt*row[d])
			}
		}
	}
}

// maxFusedHeads is the most query heads one call of the installed fused
// kernels takes; ScoresF16Heads and WeightedSumF16HeadsAcc split larger
// groups into calls of at most this many heads.
const maxFusedHeads = 3

// The GQA-fused attention kernels (heads <= maxFusedHeads); fast
// versions are installed by attn_amd64.go.
var (
	scoresF16Heads   = scoresF16HeadsGeneric
	weightedF16Heads = weightedF16HeadsGeneric
)

// ScoresF16Heads is ScoresF16 for heads query heads that share one KV
// head, bit for bit: for j < heads, with hd = len(q)/heads,
//
//	ScoresF16(out[j*ostride : j*ostride+n], q[j*hd : (j+1)*hd], k, stride, scale)
//
// but each key row is read (and widened) once for all heads, as the
// query heads of grouped-query attention share their keys.
func ScoresF16Heads(out []float32, ostride, n int, q []float32, heads int, k []uint16, stride int, scale float32) {
	ScoresF16HeadsPrefetch(out, ostride, n, q, heads, k, stride, scale, nil)
}

// ScoresF16HeadsPrefetch is ScoresF16Heads, bit for bit, that also asks
// the cache for the same n rows of v (the value rows of the same stride
// that WeightedSumF16HeadsAcc reads next; nil: none). In decode every
// window's K and V come from memory; fetched under the scores' arithmetic,
// the weighted sum's reads of v are cache hits (the AVX-512 kernels
// prefetch; the other paths ignore v).
func ScoresF16HeadsPrefetch(out []float32, ostride, n int, q []float32, heads int, k []uint16, stride int, scale float32, v []uint16) {
	if n == 0 || heads == 0 {
		return
	}
	hd := len(q) / heads
	if heads < 0 || hd*heads != len(q) || hd == 0 || stride < hd || len(k) < (n-1)*stride+hd || ostride < n || len(out) < (heads-1)*ostride+n ||
		v != nil && len(v) < (n-1)*stride+hd {
		panic(fmt.Sprintf("kernels: ScoresF16Heads: %d heads of %d values, %d rows of stride %d in %d values (%d to prefetch), out %d of stride %d", heads, len(q), n, stride, len(k), len(v), len(out), ostride))
	}
	for j0 := 0; j0 < heads; j0 += maxFusedHeads {
		g := min(heads-j0, maxFusedHeads)
		scoresF16Heads(out[j0*ostride:], ostride, n, q[j0*hd:(j0+g)*hd], g, k, stride, scale, v)
		v = nil // prefetched once
	}
}

// scoresF16HeadsGeneric is ScoresF16Heads in pure Go: each key row
// widened once, then for each head Dot's lanes, tree and tail as in
// scoreRowsF16Generic.
func scoresF16HeadsGeneric(out []float32, ostride, n int, q []float32, heads int, k []uint16, stride int, scale float32, _ []uint16) {
	hd := len(q) / heads
	n16 := hd - hd%Lanes
	row := widenRowBuf(hd)
	for t := 0; t < n; t++ {
		for i, x := range k[t*stride : t*stride+hd] {
			row[i] = f16Table[x]
		}
		for j := 0; j < heads; j++ {
			qj := q[j*hd : (j+1)*hd]
			var lane [Lanes]float32
			for i := 0; i < n16; i++ {
				lane[i%Lanes] = lane[i%Lanes] + float32(qj[i]*row[i])
			}
			s := reduceLanes(&lane)
			for i := n16; i < hd; i++ {
				s = s + float32(qj[i]*row[i])
			}
			out[j*ostride+t] = s * scale
		}
	}
}

// scoresF16HeadsEach is ScoresF16Heads as one installed ScoresF16 per
// head (for kernels without a fused form).
func scoresF16HeadsEach(out []float32, ostride, n int, q []float32, heads int, k []uint16, stride int, scale float32, _ []uint16) {
	hd := len(q) / heads
	for j := 0; j < heads; j++ {
		scoreRowsF16(out[j*ostride:j*ostride+n], q[j*hd:(j+1)*hd], k, stride, scale)
	}
}

// WeightedSumF16HeadsAcc is WeightedSumF16Acc for heads query heads that
// share one KV head, bit for bit: for j < heads, with hd = len(dst)/heads,
//
//	WeightedSumF16Acc(dst[j*hd : (j+1)*hd], p[j*pstride : j*pstride+n], v, stride, acc)
//
// but each value row is read (and widened) once for all heads. acc is
// scratch of at least heads*Lanes*hd elements; WeightedSumF16HeadsScratch
// elements (a little more) let the AVX2 kernel place the heads' lanes
// where they do not alias in the cache.
func WeightedSumF16HeadsAcc(dst []float32, heads int, p []float32, pstride, n int, v []uint16, stride int, acc []float32) {
	if heads == 0 {
		return
	}
	hd := len(dst) / heads
	if heads < 0 || hd*heads != len(dst) || hd == 0 || n > 0 && (stride < hd || len(v) < (n-1)*stride+hd) || pstride < n || n > 0 && len(p) < (heads-1)*pstride+n || len(acc) < heads*Lanes*hd {
		panic(fmt.Sprintf("kernels: WeightedSumF16HeadsAcc: %d heads of %d values, %d rows of stride %d in %d values, p %d of stride %d, %d scratch", heads, len(dst), n, stride, len(v), len(p), pstride, len(acc)))
	}
	for j0 := 0; j0 < heads; j0 += maxFusedHeads {
		g := min(heads-j0, maxFusedHeads)
		if n == 0 {
			clear(dst[j0*hd : (j0+g)*hd])
			continue
		}
		weightedF16Heads(dst[j0*hd:(j0+g)*hd], g, p[j0*pstride:], pstride, n, v, stride, acc)
	}
}

// WeightedSumF16HeadsScratch is the scratch size for WeightedSumF16HeadsAcc
// on heads heads of width hd that suits every kernel.
func WeightedSumF16HeadsScratch(heads, hd int) int { return heads * (Lanes*hd + Lanes) }

// weightedF16HeadsGeneric is WeightedSumF16HeadsAcc in pure Go: each
// value row widened once, then for each head the lane phase, tree and
// tail of weightedSumF16.
func weightedF16HeadsGeneric(dst []float32, heads int, p []float32, pstride, n int, v []uint16, stride int, acc []float32) {
	hd := len(dst) / heads
	n16 := n - n%Lanes
	acc = acc[:heads*Lanes*hd]
	clear(acc)
	row := widenRowBuf(hd)
	for t := 0; t < n16; t++ {
		for i, x := range v[t*stride : t*stride+hd] {
			row[i] = f16Table[x]
		}
		for j := 0; j < heads; j++ {
			lane := acc[(j*Lanes+t%Lanes)*hd:][:hd]
			pt := p[j*pstride+t]
			for d := range lane {
				lane[d] = lane[d] + float32(pt*row[d])
			}
		}
	}
	for j := 0; j < heads; j++ {
		reduceLaneRows(dst[j*hd:(j+1)*hd], acc[j*Lanes*hd:(j+1)*Lanes*hd])
	}
	for t := n16; t < n; t++ {
		for i, x := range v[t*stride : t*stride+hd] {
			row[i] = f16Table[x]
		}
		for j := 0; j < heads; j++ {
			dj := dst[j*hd : (j+1)*hd]
			pt := p[j*pstride+t]
			for d := range dj {
				dj[d] = dj[d] + float32(pt*row[d])
			}
		}
	}
}

// weightedF16HeadsEach is WeightedSumF16HeadsAcc as one installed
// WeightedSumF16Acc per head (for kernels without a fused form).
func weightedF16HeadsEach(dst []float32, heads int, p []float32, pstride, n int, v []uint16, stride int, acc []float32) {
	hd := len(dst) / heads
	for j := 0; j < heads; j++ {
		WeightedSumF16Acc(dst[j*hd:(j+1)*hd], p[j*pstride:j*pstride+n], v, stride, acc)
	}
}

// widenRowBuf returns room for one widened row of hd elements.
func widenRowBuf(hd int) []float32 {
	return make([]float32, hd)
}
