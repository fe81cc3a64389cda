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
	n, hd := len(p), len(dst)
	if n > 0 && (stride < hd || len(v) < (n-1)*stride+hd) {
		panic(fmt.Sprintf("kernels: WeightedSumF16: %d rows of stride %d and width %d in %d values", n, stride, hd, len(v)))
	}
	n16 := n - n%Lanes
	acc := make([]float32, Lanes*hd)
	for t := 0; t < n16; t++ {
		lane := acc[(t%Lanes)*hd : (t%Lanes+1)*hd]
		row := v[t*stride : t*stride+hd]
		pt := p[t]
		for d := range lane {
			lane[d] = lane[d] + float32(pt*f16Table[row[d]])
		}
	}
	for w := Lanes / 2; w >= 1; w /= 2 {
		for j := 0; j < w; j++ {
			a, b := acc[j*hd:(j+1)*hd], acc[(j+w)*hd:(j+w+1)*hd]
			for d := range a {
				a[d] = a[d] + b[d]
			}
		}
	}
	copy(dst, acc[:hd])
	for t := n16; t < n; t++ {
		row := v[t*stride : t*stride+hd]
		pt := p[t]
		for d := range dst {
			dst[d] = dst[d] + float32(pt*f16Table[row[d]])
		}
	}
}
