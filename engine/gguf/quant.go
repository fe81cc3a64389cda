package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// Dequantization follows the block layouts of ggml-common.h and the
// reference dequantize_row_* routines of ggml-quants.c. Every product is
// rounded to float32 before an addition (no fused multiply-add), so the
// results are the same on every platform.

// CanDequantize reports whether Dequantize supports type t.
func CanDequantize(t Type) bool {
	switch t {
	case F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K:
		return true
	}
	return false
}

// Dequantize converts n elements of type t stored in data to float32 in
// dst[:n]. n must be a multiple of the type's block size, data must hold
// exactly the n elements and dst at least n values. Supported types: F32,
// F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K.
func Dequantize(t Type, data []byte, n int64, dst []float32) error {
	if !CanDequantize(t) {
		return fmt.Errorf("gguf: cannot dequantize tensor type %s (%d)", t, uint32(t))
	}
	size, err := t.RowBytes(n)
	if err != nil {
		return err
	}
	if int64(len(data)) != size {
		return fmt.Errorf("gguf: %d elements of type %s need %d bytes, got %d", n, t, size, len(data))
	}
	if int64(len(dst)) < n {
		return fmt.Errorf("gguf: destination holds %d values, need %d", len(dst), n)
	}
	dst = dst[:n]
	le := binary.LittleEndian
	bs, ts := t.BlockSize(), t.TypeSize()
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(data[4*i:]))
		}
		return nil
	case F16:
		tab := halfTable()
		for i := range dst {
			dst[i] = tab[le.Uint16(data[2*i:])]
		}
		return nil
	case BF16:
		for i := range dst {
			dst[i] = BF16ToFloat32(le.Uint16(data[2*i:]))
		}
		return nil
	}
	for b := 0; b < len(dst)/bs; b++ {
		blk, y := data[b*ts:(b+1)*ts], dst[b*bs:(b+1)*bs]
		switch t {
		case Q4_0:
			dequantQ4_0(blk, y)
		case Q4_1:
			dequantQ4_1(blk, y)
		case Q5_0:
			dequantQ5_0(blk, y)
		case Q5_1:
			dequantQ5_1(blk, y)
		case Q8_0:
			dequantQ8_0(blk, y)
		case Q4_K:
			dequantQ4_K(blk, y)
		case Q5_K:
			dequantQ5_K(blk, y)
		case Q6_K:
			dequantQ6_K(blk, y)
		}
	}
	return nil
}

func half(b []byte) float32 { return halfTable()[binary.LittleEndian.Uint16(b)] }

// halfTable holds HalfToFloat32 of every half, built on first use.
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = HalfToFloat32(uint16(i))
	}
	return &t
})

// block_q4_0: d (f16), qs[16]; element j is the low nibble of qs[j], element
// j+16 the high nibble, each minus 8, times d.
func dequantQ4_0(b []byte, y []float32) {
	d, qs := half(b), b[2:18]
	for j := 0; j < 16; j++ {
		y[j] = float32(int32(qs[j]&0xf)-8) * d
		y[j+16] = float32(int32(qs[j]>>4)-8) * d
	}
}

// block_q4_1: d, m (f16), qs[16]; x = q*d + m.
func dequantQ4_1(b []byte, y []float32) {
	d, m, qs := half(b), half(b[2:]), b[4:20]
	for j := 0; j < 16; j++ {
		y[j] = float32(float32(qs[j]&0xf)*d) + m
		y[j+16] = float32(float32(qs[j]>>4)*d) + m
	}
}

// block_q5_0: d (f16), qh (32 high bits, little-endian), qs[16]; x = (q-16)*d.
func dequantQ5_0(b []byte, y []float32) {
	d, qh, qs := half(b), binary.LittleEndian.Uint32(b[2:]), b[6:22]
	for j := 0; j < 16; j++ {
		h0 := byte(qh>>j<<4) & 0x10
		h1 := byte(qh>>(j+12)) & 0x10
		y[j] = float32(int32(qs[j]&0xf|h0)-16) * d
		y[j+16] = float32(int32(qs[j]>>4|h1)-16) * d
	}
}

// block_q5_1: d, m (f16), qh (u32), qs[16]; x = q*d + m.
func dequantQ5_1(b []byte, y []float32) {
	d, m, qh, qs := half(b), half(b[2:]), binary.LittleEndian.Uint32(b[4:]), b[8:24]
	for j := 0; j < 16; j++ {
		h0 := byte(qh>>j<<4) & 0x10
		h1 := byte(qh>>(j+12)) & 0x10
		y[j] = float32(float32(qs[j]&0xf|h0)*d) + m
		y[j+16] = float32(float32(qs[j]>>4|h1)*d) + m
	}
}

// block_q8_0: d (f16), qs[32] int8; x = q*d.
func dequantQ8_0(b []byte, y []float32) {
	d := half(b)
	for j := 0; j < 32; j++ {
		y[j] = float32(int8(b[2+j])) * d
	}
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a q4_K/q5_K block's
// 12 scale bytes (ggml's get_scale_min_k4).
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// block_q4_K: d, dmin (f16), scales[12], qs[128]. Eight sub-blocks of 32;
// sub-block s has scale d*sc[s] and min dmin*m[s]; x = scale*q - min. Each
// 32 bytes of qs hold two sub-blocks: low nibbles, then high nibbles.
func dequantQ4_K(b []byte, y []float32) {
	d, dmin, scales, q := half(b), half(b[2:]), b[4:16], b[16:144]
	for j := 0; j < 4; j++ {
		sc, m := scaleMinK4(2*j, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(2*j+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		qq, out := q[32*j:32*j+32], y[64*j:64*j+64]
		for l := 0; l < 32; l++ {
			out[l] = float32(d1*float32(qq[l]&0xf)) - m1
			out[l+32] = float32(d2*float32(qq[l]>>4)) - m2
		}
	}
}

// block_q5_K: d, dmin (f16), scales[12], qh[32], qs[128]. As q4_K with a
// fifth bit per element: bit 2j (low nibbles) and 2j+1 (high nibbles) of
// qh[l] for the j-th 64-element group.
func dequantQ5_K(b []byte, y []float32) {
	d, dmin, scales, qh, q := half(b), half(b[2:]), b[4:16], b[16:48], b[48:176]
	for j := 0; j < 4; j++ {
		sc, m := scaleMinK4(2*j, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(2*j+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		u1, u2 := byte(1)<<(2*j), byte(2)<<(2*j)
		qq, out := q[32*j:32*j+32], y[64*j:64*j+64]
		for l := 0; l < 32; l++ {
			lo, hi := qq[l]&0xf, qq[l]>>4
			if qh[l]&u1 != 0 {
				lo += 16
			}
			if qh[l]&u2 != 0 {
				hi += 16
			}
			out[l] = float32(d1*float32(lo)) - m1
			out[l+32] = float32(d2*float32(hi)) - m2
		}
	}
}

// block_q6_K: ql[128], qh[64], scales[16] int8, d (f16). 6-bit values: low 4
// bits from ql, high 2 bits from qh, minus 32; sixteen sub-blocks of 16 with
// scale d*scales[s]; x = (d*sc)*q.
func dequantQ6_K(b []byte, y []float32) {
	ql, qh, sc, d := b[0:128], b[128:192], b[192:208], half(b[208:])
	for n := 0; n < 2; n++ {
		l4, h4, s8, out := ql[64*n:], qh[32*n:], sc[8*n:], y[128*n:]
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int32(l4[l]&0xf|(h4[l]>>0&3)<<4) - 32
			q2 := int32(l4[l+32]&0xf|(h4[l]>>2&3)<<4) - 32
			q3 := int32(l4[l]>>4|(h4[l]>>4&3)<<4) - 32
			q4 := int32(l4[l+32]>>4|(h4[l]>>6&3)<<4) - 32
			out[l] = float32(d*float32(int8(s8[is]))) * float32(q1)
			out[l+32] = float32(d*float32(int8(s8[is+2]))) * float32(q2)
			out[l+64] = float32(d*float32(int8(s8[is+4]))) * float32(q3)
			out[l+96] = float32(d*float32(int8(s8[is+6]))) * float32(q4)
		}
	}
}

// blockQuantizers holds, per quantized type, the quantizer of one block of
// t.BlockSize() values (appending the block's bytes to dst): the one place
// to add a type Quantize writes.
var blockQuantizers = map[Type]func(x []float32, dst []byte) []byte{
	Q8_0: quantQ8_0,
	Q4_0: quantQ4_0,
	Q5_0: quantQ5_0,
	Q4_K: quantQ4_K,
	Q6_K: quantQ6_K,
}

// CanQuantize reports whether Quantize supports type t.
func CanQuantize(t Type) bool {
	switch t {
	case F32, F16, BF16:
		return true
	}
	_, ok := blockQuantizers[t]
	return ok
}

// Quantize converts src to type t, appending to dst and returning the
// extended slice. len(src) must be a multiple of the block size. F16 and
// BF16 round to nearest even; Q8_0, Q4_0 and Q5_0 follow ggml's
// quantize_row_q8_0_ref, quantize_row_q4_0_ref and quantize_row_q5_0_ref
// (the deterministic reference quantizers llama.cpp uses to create model
// files); Q4_K and Q6_K use simpler quantizers of lmgc's own (quant_k.go).
func Quantize(t Type, src []float32, dst []byte) ([]byte, error) {
	if !CanQuantize(t) {
		return dst, fmt.Errorf("gguf: cannot quantize to tensor type %s (%d)", t, uint32(t))
	}
	if len(src)%t.BlockSize() != 0 {
		return dst, fmt.Errorf("gguf: %d values is not a multiple of the %s block size %d", len(src), t, t.BlockSize())
	}
	le := binary.LittleEndian
	switch t {
	case F32:
		for _, x := range src {
			dst = le.AppendUint32(dst, math.Float32bits(x))
		}
	case F16:
		for _, x := range src {
			dst = le.AppendUint16(dst, Float32ToHalf(x))
		}
	case BF16:
		for _, x := range src {
			dst = le.AppendUint16(dst, Float32ToBF16(x))
		}
	default:
		q, n := blockQuantizers[t], t.BlockSize()
		for b := 0; b < len(src); b += n {
			dst = q(src[b:b+n], dst)
		}
	}
	return dst, nil
}

// roundHalfAway rounds x to the nearest integer, halfway cases away from
// zero (C's roundf), for |x| < 2^31. x - trunc(x) is exact in float32.
func roundHalfAway(x float32) int32 {
	q := int32(x)
	switch f := x - float32(q); {
	case f >= 0.5:
		q++
	case f <= -0.5:
		q--
	}
	return q
}

// largest returns the first value of x of largest magnitude.
func largest(x []float32) float32 {
	var amax, mx float32
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, mx = a, v
		}
	}
	return mx
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// quantQ8_0: d = amax/127 stored as f16; q = roundf(x * (1/d)) with the
// unrounded d, as in quantize_row_q8_0_ref.
func quantQ8_0(x []float32, dst []byte) []byte {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	dst = binary.LittleEndian.AppendUint16(dst, Float32ToHalf(d))
	for _, v := range x {
		dst = append(dst, byte(int8(roundHalfAway(v*id))))
	}
	return dst
}

// quantQ4_0 follows quantize_row_q4_0_ref: d = max/-8 where max is the
// value of largest magnitude; q = min(15, trunc(x/d + 8.5)).
func quantQ4_0(x []float32, dst []byte) []byte {
	d := largest(x) / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	dst = binary.LittleEndian.AppendUint16(dst, Float32ToHalf(d))
	for j := 0; j < 16; j++ {
		x0 := float32(x[j]*id) + 8.5
		x1 := float32(x[j+16]*id) + 8.5
		dst = append(dst, min(15, byte(int8(x0)))|min(15, byte(int8(x1)))<<4)
	}
	return dst
}

// TensorFloat32 returns tensor t converted to float32 (see Dequantize for
// the supported types).
func (f *File) TensorFloat32(t *TensorInfo) ([]float32, error) {
	if !CanDequantize(t.Type) {
		return nil, fmt.Errorf("gguf: tensor %q: cannot dequantize type %s", t.Name, t.Type)
	}
	data, err := f.TensorData(t)
	if err != nil {
		return nil, err
	}
	out := make([]float32, t.Elements())
	if err := Dequantize(t.Type, data, t.Elements(), out); err != nil {
		return nil, fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
	}
	return out, nil
}
