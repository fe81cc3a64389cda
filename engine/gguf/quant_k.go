package gguf

import (
	"encoding/binary"
	"math"
)

// Quantizers for Q5_0 and the K-quants Q4_K and Q6_K, for generating model
// files. Q5_0 follows ggml's quantize_row_q5_0_ref. The K-quant quantizers
// are simple ones of lmgc's own (not ggml's iterative search of the best
// scales: the files are valid, with a slightly larger error than
// llama-quantize's): every block's scales are chosen so that no value is
// clipped, then the values are rounded to nearest.

// quantQ5_0 follows quantize_row_q5_0_ref: d = max/-16 where max is the
// value of largest magnitude; q = min(31, trunc(x/d + 16.5)); the low 4
// bits of q go to qs as in Q4_0 and bit 4 to qh.
func quantQ5_0(x []float32, dst []byte) []byte {
	d := largest(x) / -16
	var id float32
	if d != 0 {
		id = 1 / d
	}
	dst = binary.LittleEndian.AppendUint16(dst, Float32ToHalf(d))
	var qh uint32
	var qs [16]byte
	for j := 0; j < 16; j++ {
		q0 := min(31, byte(int8(float32(x[j]*id)+16.5)))
		q1 := min(31, byte(int8(float32(x[j+16]*id)+16.5)))
		qs[j] = q0&0xf | (q1&0xf)<<4
		qh |= uint32(q0>>4) << j
		qh |= uint32(q1>>4) << (j + 16)
	}
	dst = binary.LittleEndian.AppendUint32(dst, qh)
	return append(dst, qs[:]...)
}

// ceilScale returns min(top, ceil(s/d)) (0 when d is 0).
func ceilScale(s, d float32, top int32) int32 {
	if d == 0 || s <= 0 {
		return 0
	}
	return min(top, int32(math.Ceil(float64(s/d))))
}

// clampRound returns round(v) (halves away from zero) clamped to [lo, hi].
func clampRound(v float32, lo, hi int32) int32 { return max(lo, min(hi, roundHalfAway(v))) }

// quantQ4_K quantizes 256 values: per sub-block s of 32 values the min
// m_s = max(0, -min x) and the step (max x + m_s)/15; dmin and d are the
// largest of them over 63 (stored as f16), the 6-bit mn[s] = round(m_s/dmin)
// and sc[s] = ceil(step/(d)) (so that no value clips), and
// q = round((x + dmin*mn)/(d*sc)) in [0, 15]. Layout as ggml's block_q4_K.
func quantQ4_K(x []float32, dst []byte) []byte {
	var mins, tops [8]float32
	var maxMin float32
	for s := 0; s < 8; s++ {
		lo, hi := x[32*s], x[32*s]
		for _, v := range x[32*s : 32*s+32] {
			lo, hi = min(lo, v), max(hi, v)
		}
		mins[s], tops[s] = max(0, -lo), hi
		maxMin = max(maxMin, mins[s])
	}
	dminH := Float32ToHalf(maxMin / 63)
	dmin := HalfToFloat32(dminH)
	var mn, sc [8]int32
	var steps [8]float32
	var maxStep float32
	for s := 0; s < 8; s++ {
		if dmin != 0 {
			mn[s] = clampRound(mins[s]/dmin, 0, 63)
		}
		steps[s] = max(0, tops[s]+float32(dmin*float32(mn[s]))) / 15
		maxStep = max(maxStep, steps[s])
	}
	dH := Float32ToHalf(maxStep / 63)
	d := HalfToFloat32(dH)
	for s := 0; s < 8; s++ {
		sc[s] = ceilScale(steps[s], d, 63)
	}
	dst = binary.LittleEndian.AppendUint16(dst, dH)
	dst = binary.LittleEndian.AppendUint16(dst, dminH)
	var scales [12]byte
	for j := 0; j < 4; j++ {
		scales[j] = byte(sc[j]) | byte(sc[j+4]>>4)<<6
		scales[j+4] = byte(mn[j]) | byte(mn[j+4]>>4)<<6
		scales[j+8] = byte(sc[j+4]&0xf) | byte(mn[j+4]&0xf)<<4
	}
	dst = append(dst, scales[:]...)
	var q [256]byte
	for s := 0; s < 8; s++ {
		step := float32(d * float32(sc[s]))
		m := float32(dmin * float32(mn[s]))
		if step == 0 {
			continue
		}
		for l := 0; l < 32; l++ {
			q[32*s+l] = byte(clampRound((x[32*s+l]+m)/step, 0, 15))
		}
	}
	for g := 0; g < 4; g++ {
		for l := 0; l < 32; l++ {
			dst = append(dst, q[64*g+l]|q[64*g+32+l]<<4)
		}
	}
	return dst
}

// quantQ6_K quantizes 256 values: per sub-block s of 16 values the step
// amax/31; d is the largest step over 127 (f16), the int8 scale
// sc[s] = ceil(step/d), and q = round(x/(d*sc)) in [-32, 31], stored plus
// 32. Layout as ggml's block_q6_K.
func quantQ6_K(x []float32, dst []byte) []byte {
	var steps [16]float32
	var maxStep float32
	for s := 0; s < 16; s++ {
		var amax float32
		for _, v := range x[16*s : 16*s+16] {
			amax = max(amax, abs32(v))
		}
		steps[s] = amax / 31
		maxStep = max(maxStep, steps[s])
	}
	dH := Float32ToHalf(maxStep / 127)
	d := HalfToFloat32(dH)
	var sc [16]int32
	var q [256]byte
	for s := 0; s < 16; s++ {
		sc[s] = ceilScale(steps[s], d, 127)
		step := float32(d * float32(sc[s]))
		for l := 0; l < 16; l++ {
			v := int32(0)
			if step != 0 {
				v = clampRound(x[16*s+l]/step, -32, 31)
			}
			q[16*s+l] = byte(v + 32)
		}
	}
	var ql [128]byte
	var qh [64]byte
	for n := 0; n < 2; n++ {
		o := q[128*n:]
		for l := 0; l < 32; l++ {
			ql[64*n+l] = o[l]&0xf | (o[l+64]&0xf)<<4
			ql[64*n+l+32] = o[l+32]&0xf | (o[l+96]&0xf)<<4
			qh[32*n+l] = o[l]>>4 | (o[l+32]>>4)<<2 | (o[l+64]>>4)<<4 | (o[l+96]>>4)<<6
		}
	}
	dst = append(dst, ql[:]...)
	dst = append(dst, qh[:]...)
	for _, s := range sc {
		dst = append(dst, byte(int8(s)))
	}
	return binary.LittleEndian.AppendUint16(dst, dH)
}
