package kernels

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Quantize turns logits into integer frequencies for a range coder:
// dst[i] >= 1 for every i and the frequencies sum to exactly 1<<totalBits.
// len(dst) must equal len(logits), 1 <= totalBits <= 31 and
// len(logits) <= 1<<totalBits. The steps, all exact and platform
// independent:
//
//	m    = max logits[i]                     (any -Inf is allowed; NaN and +Inf are errors)
//	e[i] = Exp(logits[i] - m)                (float32; e = 1 at the maximum)
//	sum  = sum over i in order of float64(e[i])   (float64)
//	k    = float64(T - n) / sum              (T = 1<<totalBits, n = len(logits))
//	f[i] = floor(float64(e[i]) * k) + 1      (float64 product, truncated)
//
// Then r = T - sum f[i] is settled: if r >= 0 it is added to the first
// index holding the maximum logit; if r < 0 (possible only by rounding, by
// at most a few units) units are taken from that index, then from indices
// 0, 1, 2, ... in turn, never taking a frequency below 1.
func Quantize(logits []float32, totalBits int, dst []uint32) error {
	n := len(logits)
	if len(dst) != n {
		return fmt.Errorf("kernels: Quantize: %d logits but %d frequencies", n, len(dst))
	}
	if n == 0 {
		return errors.New("kernels: Quantize: no symbols")
	}
	if totalBits < 1 || totalBits > 31 {
		return fmt.Errorf("kernels: Quantize: total bits %d outside 1..31", totalBits)
	}
	total := uint64(1) << totalBits
	if uint64(n) > total {
		return fmt.Errorf("kernels: Quantize: %d symbols do not fit in a total of 2^%d", n, totalBits)
	}
	m := float32(math.Inf(-1))
	arg := -1
	for i, v := range logits {
		if v != v || v > math.MaxFloat32 {
			return fmt.Errorf("kernels: Quantize: logit %d is %v", i, v)
		}
		if v > m {
			m, arg = v, i
		}
	}
	if arg < 0 {
		return errors.New("kernels: Quantize: every logit is -Inf")
	}
	// dst holds the float32 bits of e[i] until the frequencies replace them.
	e := unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(dst))), n)
	for i, v := range logits {
		e[i] = v - m
	}
	expSlice(e, e)
	var sum float64
	for _, x := range e {
		sum += float64(x)
	}
	k := float64(total-uint64(n)) / sum
	var got uint64
	for i, b := range dst {
		f := uint32(float64(float64(math.Float32frombits(b))*k)) + 1
		dst[i] = f
		got += uint64(f)
	}
	settle(dst, arg, int64(total)-int64(got))
	return nil
}

// settle adds r units to dst[arg], or for r < 0 takes -r units from dst[arg]
// and then from dst[0], dst[1], ..., keeping every entry >= 1.
func settle(dst []uint32, arg int, r int64) {
	if r >= 0 {
		dst[arg] += uint32(r)
		return
	}
	take := func(i int) {
		if c := int64(dst[i]) - 1; c > 0 {
			t := min(c, -r)
			dst[i] -= uint32(t)
			r += t
		}
	}
	take(arg)
	for i := 0; r < 0 && i < len(dst); i++ {
		take(i)
	}
}

// QuantizeSubset is Quantize restricted to the symbols ids: dst[j] is the
// frequency of symbol ids[j], computed by Quantize over the logits
// logits[ids[0]], logits[ids[1]], ... (in the order of ids), so the
// distribution is renormalized over the allowed symbols. ids must be in
// range and len(dst) == len(ids).
func QuantizeSubset(logits []float32, ids []int32, totalBits int, dst []uint32) error {
	if len(dst) != len(ids) {
		return fmt.Errorf("kernels: QuantizeSubset: %d ids but %d frequencies", len(ids), len(dst))
	}
	sub := make([]float32, len(ids))
	for j, id := range ids {
		if id < 0 || int(id) >= len(logits) {
			return fmt.Errorf("kernels: QuantizeSubset: id %d outside the %d logits", id, len(logits))
		}
		sub[j] = logits[id]
	}
	return Quantize(sub, totalBits, dst)
}
