package kernels

import (
	"encoding/binary"
	"math"
)

// Reference kernels of the block-quantized types of quant.go: block
// widening (Matrix.Row) and dot products. In every dot product the sums of
// integer products are exact int32; the float operations are listed at each
// kernel and are each rounded to float32 (no fused multiply-add).

func f16At(b []byte) float32 { return f16Table[binary.LittleEndian.Uint16(b)] }

// widenQ4_0: value = float32(q-8) * d, as ggml's dequantize_row_q4_0.
func widenQ4_0(y []float32, b []byte) {
	d, qs := f16At(b), b[2:18]
	for j := 0; j < 16; j++ {
		y[j] = float32(int32(qs[j]&0xf)-8) * d
		y[j+16] = float32(int32(qs[j]>>4)-8) * d
	}
}

// dotQ4_0Ref: weights Q4_0, activations Q8_0. For each block in order, the
// exact integer sum s of (q_w-8)*q_x and
// acc = acc + float32(float32(d_w*d_x) * float32(s)), from acc = 0.
func dotQ4_0Ref(w, x []byte) float32 {
	var acc float32
	for bw, bx := 0, 0; bw < len(w); bw, bx = bw+BlockQ4_0Size, bx+BlockQ8Size {
		qw, qx := w[bw+2:bw+18], x[bx+2:bx+34]
		var s int32
		for j := 0; j < 16; j++ {
			s += (int32(qw[j]&0xf)-8)*int32(int8(qx[j])) + (int32(qw[j]>>4)-8)*int32(int8(qx[j+16]))
		}
		acc = acc + float32(float32(f16At(w[bw:])*f16At(x[bx:]))*float32(s))
	}
	return acc
}

// widenQ4_1: value = float32(float32(q*d) + m), as ggml's dequantize_row_q4_1.
func widenQ4_1(y []float32, b []byte) {
	d, m, qs := f16At(b), f16At(b[2:]), b[4:20]
	for j := 0; j < 16; j++ {
		y[j] = float32(float32(qs[j]&0xf)*d) + m
		y[j+16] = float32(float32(qs[j]>>4)*d) + m
	}
}

// q5_0 returns the 32 signed 5-bit values (q-16) of a Q5_0 block.
func q5_0(b []byte, q *[32]int32) {
	qh, qs := binary.LittleEndian.Uint32(b[2:]), b[6:22]
	for j := 0; j < 16; j++ {
		q[j] = int32(qs[j]&0xf|byte(qh>>j&1)<<4) - 16
		q[j+16] = int32(qs[j]>>4|byte(qh>>(j+16)&1)<<4) - 16
	}
}

// widenQ5_0: value = float32(q) * d.
func widenQ5_0(y []float32, b []byte) {
	var q [32]int32
	q5_0(b, &q)
	d := f16At(b)
	for j, v := range q {
		y[j] = float32(v) * d
	}
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K block's 12
// scale bytes (ggml's get_scale_min_k4).
func scaleMinK4(j int, q []byte) (sc, m int32) {
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&0xf | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}

// widenQ4_K: sub-block s has scale float32(d*sc) and min float32(dmin*mn);
// value = float32(float32(scale*q) - min), as ggml's dequantize_row_q4_K.
func widenQ4_K(y []float32, b []byte) {
	d, dmin, scales, qs := f16At(b), f16At(b[2:]), b[4:16], b[16:144]
	for s := 0; s < 8; s++ {
		sc, mn := scaleMinK4(s, scales)
		d1, m1 := float32(d*float32(sc)), float32(dmin*float32(mn))
		shift := uint(4 * (s & 1))
		q, out := qs[32*(s/2):32*(s/2)+32], y[32*s:32*s+32]
		for l := 0; l < 32; l++ {
			out[l] = float32(d1*float32(q[l]>>shift&0xf)) - m1
		}
	}
}

// q6_K returns the 256 signed 6-bit values (q-32) of a Q6_K block, in
// element order.
func q6_K(b []byte, q *[BlockKLen]int32) {
	ql, qh := b[0:128], b[128:192]
	for n := 0; n < 2; n++ {
		l4, h4, out := ql[64*n:], qh[32*n:], q[128*n:]
		for l := 0; l < 32; l++ {
			out[l] = int32(l4[l]&0xf|(h4[l]>>0&3)<<4) - 32
			out[l+32] = int32(l4[l+32]&0xf|(h4[l]>>2&3)<<4) - 32
			out[l+64] = int32(l4[l]>>4|(h4[l]>>4&3)<<4) - 32
			out[l+96] = int32(l4[l+32]>>4|(h4[l]>>6&3)<<4) - 32
		}
	}
}

// widenQ6_K: value = float32(float32(d*scales[s]) * float32(q)), as ggml's
// dequantize_row_q6_K.
func widenQ6_K(y []float32, b []byte) {
	var q [BlockKLen]int32
	q6_K(b, &q)
	sc, d := b[192:208], f16At(b[208:])
	for j, v := range q {
		y[j] = float32(d*float32(int8(sc[j/16]))) * float32(v)
	}
}

// dotQ4_1Ref: weights Q4_1, activations Q8_1. For each block in order, the
// exact integer sum s of q_w*q_x (q_w the unsigned nibbles) and
//
//	accD = accD + float32(float32(d_w*d_x) * float32(s))
//	accM = accM + float32(m_w * s_x)
//
// (accD, accM start at 0); the result is accD + accM. (m_w*s_x is the
// block's m_w times the sum of its activations, d_x*sum q_x.)
func dotQ4_1Ref(w, x []byte) float32 {
	var accD, accM float32
	for bw, bx := 0, 0; bw < len(w); bw, bx = bw+BlockQ4_1Size, bx+BlockQ8_1Size {
		qw, qx := w[bw+4:bw+20], x[bx+4:bx+36]
		var s int32
		for j := 0; j < 16; j++ {
			s += int32(qw[j]&0xf)*int32(int8(qx[j])) + int32(qw[j]>>4)*int32(int8(qx[j+16]))
		}
		dd := float32(f16At(w[bw:]) * f16At(x[bx:]))
		accD = accD + float32(dd*float32(s))
		accM = accM + float32(f16At(w[bw+2:])*f16At(x[bx+2:]))
	}
	return accD + accM
}

// dotQ5_0Ref: weights Q5_0, activations Q8_0. For each block in order, the
// exact integer sum s of (q_w-16)*q_x and
// acc = acc + float32(float32(d_w*d_x) * float32(s)), from acc = 0.
func dotQ5_0Ref(w, x []byte) float32 {
	var acc float32
	var q [32]int32
	for bw, bx := 0, 0; bw < len(w); bw, bx = bw+BlockQ5_0Size, bx+BlockQ8Size {
		q5_0(w[bw:], &q)
		var s int32
		for j, v := range q {
			s += v * int32(int8(x[bx+2+j]))
		}
		dd := float32(f16At(w[bw:]) * f16At(x[bx:]))
		acc = acc + float32(dd*float32(s))
	}
	return acc
}

// q8KD returns the float32 scale of a Q8_K block.
func q8KD(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }

// dotQ4_KRef: weights Q4_K, activations Q8_K. For each super-block in order,
// the exact integer sums
//
//	S = sum over sub-blocks s of sc[s] * (sum of its 32 q_w*q_x)
//	M = sum over sub-blocks s of mn[s] * (bsums[2s] + bsums[2s+1])
//
// and acc = acc + float32(float32(d_w*d_x) * float32(S)), then
// acc = acc - float32(float32(dmin_w*d_x) * float32(M)), from acc = 0.
func dotQ4_KRef(w, x []byte) float32 {
	var acc float32
	for bw, bx := 0, 0; bw < len(w); bw, bx = bw+BlockQ4_KSize, bx+BlockQ8KSize {
		scales, qs := w[bw+4:bw+16], w[bw+16:bw+144]
		qx, bsums := x[bx+4:bx+4+BlockKLen], x[bx+4+BlockKLen:bx+BlockQ8KSize]
		var S, M int32
		for s := 0; s < 8; s++ {
			sc, mn := scaleMinK4(s, scales)
			shift := uint(4 * (s & 1))
			q, a := qs[32*(s/2):32*(s/2)+32], qx[32*s:32*s+32]
			var sum int32
			for l := 0; l < 32; l++ {
				sum += int32(q[l]>>shift&0xf) * int32(int8(a[l]))
			}
			S += sc * sum
			bs := int32(int16(binary.LittleEndian.Uint16(bsums[4*s:]))) + int32(int16(binary.LittleEndian.Uint16(bsums[4*s+2:])))
			M += mn * bs
		}
		dx := q8KD(x[bx:])
		acc = acc + float32(float32(f16At(w[bw:])*dx)*float32(S))
		acc = acc - float32(float32(f16At(w[bw+2:])*dx)*float32(M))
	}
	return acc
}

// dotQ6_KRef: weights Q6_K, activations Q8_K. For each super-block in order,
// the exact integer sum S over the 16 sub-blocks s of
// scales[s] * (sum of its 16 (q_w-32)*q_x), and
// acc = acc + float32(float32(d_w*d_x) * float32(S)), from acc = 0.
func dotQ6_KRef(w, x []byte) float32 {
	var acc float32
	var q [BlockKLen]int32
	for bw, bx := 0, 0; bw < len(w); bw, bx = bw+BlockQ6_KSize, bx+BlockQ8KSize {
		q6_K(w[bw:], &q)
		sc := w[bw+192 : bw+208]
		qx := x[bx+4 : bx+4+BlockKLen]
		var S int32
		for s := 0; s < 16; s++ {
			var sum int32
			for l := 16 * s; l < 16*s+16; l++ {
				sum += q[l] * int32(int8(qx[l]))
			}
			S += int32(int8(sc[s])) * sum
		}
		acc = acc + float32(float32(f16At(w[bw+208:])*q8KD(x[bx:]))*float32(S))
	}
	return acc
}
