package kernels

import "math"

// f16Table maps every IEEE half-precision bit pattern to its float32 value.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = f16ToF32Slow(uint16(i))
	}
	return &t
}()

func f16ToF32Slow(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f && man == 0: // Inf
		return math.Float32frombits(sign | 0xff<<23)
	case exp == 0x1f: // NaN, made quiet as the F16C instruction does
		return math.Float32frombits(sign | 0xff<<23 | 0x400000 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: value = man * 2^-24, exact in float32.
	v := float32(man) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}

// F16ToF32 returns the float32 value of the IEEE binary16 number h (exact).
func F16ToF32(h uint16) float32 { return f16Table[h] }

// F32ToF16 rounds f to the nearest IEEE binary16 number, ties to even,
// overflowing to infinity; NaN stays NaN.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal half (or zero): value = round(|f| * 2^24) * 2^-24.
		if e < -10 {
			return sign // below half the smallest subnormal: rounds to zero
		}
		m := man | 0x800000 // 24-bit significand, value m * 2^(exp-150)
		shift := uint32(14 - e)
		return sign | uint16(roundShift(m, shift))
	}
	// Normal: keep 10 mantissa bits, round the 13 dropped bits to even.
	// A carry out of the mantissa correctly bumps the exponent (and
	// overflows to infinity at the top).
	return sign | uint16(roundShift(uint32(e)<<23|man, 13))
}

// roundShift returns v >> s rounded to nearest, ties to even.
func roundShift(v, s uint32) uint32 {
	q := v >> s
	r := v & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if r > half || (r == half && q&1 == 1) {
		q++
	}
	return q
}

// BF16ToF32 returns the float32 value of the bfloat16 number h (exact).
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// F32ToBF16 rounds f to the nearest bfloat16, ties to even; NaN stays NaN.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	return uint16(roundShift(b, 16))
}

// RoundF16 rounds every element of x to binary16 precision in place:
// x[i] = F16ToF32(F32ToF16(x[i])) (AVX-512 where available, the same bits).
func RoundF16(x []float32) { roundF16s(x) }

// F32ToF16s writes F32ToF16(src[i]) to dst[i] for i < len(src) (AVX-512
// where available, the same bits).
func F32ToF16s(dst []uint16, src []float32) { f32ToF16s(dst[:len(src)], src) }

// The installed slice conversions (half_amd64.go).
var (
	roundF16s = roundF16Generic
	f32ToF16s = f32ToF16sGeneric
)

func roundF16Generic(x []float32) {
	for i, v := range x {
		x[i] = f16Table[F32ToF16(v)]
	}
}

func f32ToF16sGeneric(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = F32ToF16(v)
	}
}

// RoundBF16 rounds every element of x to bfloat16 precision in place.
func RoundBF16(x []float32) {
	for i, v := range x {
		x[i] = BF16ToF32(F32ToBF16(v))
	}
}

// WidenF16 writes the float32 values of the binary16 numbers src into dst
// (exact; NaNs become quiet NaNs, as the F16C instruction makes them).
func WidenF16(dst []float32, src []uint16) { f16Row(dst[:len(src)], src) }
