package kernels

import "fmt"

// Q8_0 layout (as in GGUF/ggml): blocks of BlockQ8Len values, each stored
// as a little-endian fp16 scale d followed by BlockQ8Len int8 values q;
// value j of the block is d*q[j].
const (
	BlockQ8Len  = 32
	BlockQ8Size = 2 + BlockQ8Len
)

// QuantizeQ8 quantizes x (len a multiple of 32) into Q8_0 blocks in dst
// (len(x)/32*34 bytes). Per block, following llama.cpp's x86 activation
// quantizer:
//
//	amax = max |x[j]|
//	d    = amax / 127                (float32 division)
//	id   = 127 / amax, or 0 if amax = 0
//	q[j] = x[j]*id rounded to nearest, ties to even (float32 product)
//	scale stored = fp16(d), rounded to nearest even
//
// The same rule is used for activations and for weights converted at load
// time.
func QuantizeQ8(dst []byte, x []float32) {
	if len(x)%BlockQ8Len != 0 || len(dst) < len(x)/BlockQ8Len*BlockQ8Size {
		panic(fmt.Sprintf("kernels: QuantizeQ8 of %d values into %d bytes", len(x), len(dst)))
	}
	for b := 0; b < len(x)/BlockQ8Len; b++ {
		v := x[b*BlockQ8Len : (b+1)*BlockQ8Len]
		o := dst[b*BlockQ8Size : (b+1)*BlockQ8Size]
		var amax float32
		for _, f := range v {
			if f < 0 {
				f = -f
			}
			if f > amax { // NaN never wins; a NaN input gives garbage, not a panic
				amax = f
			}
		}
		d := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		h := F32ToF16(d)
		o[0], o[1] = byte(h), byte(h>>8)
		for j, f := range v {
			o[2+j] = byte(int8(roundEven(float32(f * id))))
		}
	}
}

// roundEven rounds f (|f| <= 127.5 or so) to the nearest integer, ties to
// even, without math.RoundToEven (whose implementation is free to vary).
func roundEven(f float32) int32 {
	if f != f {
		return 0
	}
	if f > 127 {
		return 127
	}
	if f < -128 {
		return -128
	}
	// Adding and subtracting 1.5*2^23 rounds to an integer in the current
	// (nearest-even) rounding mode, for |f| < 2^22.
	const magic = 12582912 // 1.5 * 2^23
	r := float32(f+magic) - magic
	return int32(r)
}

// DequantizeQ8 writes the values of the Q8_0 blocks src into dst
// (len(dst) a multiple of 32): dst[j] = float32(d * float32(q[j])).
func DequantizeQ8(dst []float32, src []byte) {
	if len(dst)%BlockQ8Len != 0 || len(src) < len(dst)/BlockQ8Len*BlockQ8Size {
		panic(fmt.Sprintf("kernels: DequantizeQ8 of %d bytes into %d values", len(src), len(dst)))
	}
	for b := 0; b < len(dst)/BlockQ8Len; b++ {
		o := src[b*BlockQ8Size : (b+1)*BlockQ8Size]
		d := f16Table[uint16(o[0])|uint16(o[1])<<8]
		for j := 0; j < BlockQ8Len; j++ {
			dst[b*BlockQ8Len+j] = d * float32(int8(o[2+j]))
		}
	}
}
