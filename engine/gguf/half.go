package gguf

import "math"

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // Inf or NaN; the payload is kept
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: man * 2^-24, normalized for float32.
	e := uint32(113)
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// Float32ToHalf converts f to binary16, rounding to nearest with ties to
// even as ggml does (F16C hardware and ggml_compute_fp32_to_fp16 agree on
// all non-NaN inputs). Values too large become ±Inf; NaN becomes the quiet
// NaN 0x7e00 with f's sign, as in ggml's portable conversion.
func Float32ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	// Unbiased exponent e; half normals have e in [-14, 15].
	e := exp - 127
	if e > 15 {
		return sign | 0x7c00
	}
	if e >= -14 {
		// Normal: keep 10 of 23 mantissa bits, round the other 13.
		h := uint32(e+15)<<10 | man>>13
		rest := man & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++ // may carry into the exponent, up to Inf: still correct
		}
		return sign | uint16(h)
	}
	if e < -25 {
		return sign // below half the smallest subnormal: rounds to zero
	}
	// Subnormal half: value = full * 2^(e-23), full has the implicit bit
	// (zero for a float32 subnormal, which has e = -127 and is caught above).
	full := man | 0x800000
	shift := uint32(-e - 1) // bits dropped: 24-bit full to value/2^-24
	h := full >> shift
	rest := full & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rest > half || (rest == half && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// BF16ToFloat32 converts a bfloat16 value to float32 exactly.
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBF16 converts f to bfloat16 with round to nearest, ties to even,
// as ggml_compute_fp32_to_bf16 does: NaN keeps its top bits and is made
// quiet; subnormals are rounded like any other value.
func Float32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}
