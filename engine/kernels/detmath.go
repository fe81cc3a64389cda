package kernels

import "math"

// Deterministic float64 elementary functions for tables computed once (the
// RoPE frequencies and angles). They use only +, -, *, / with explicit
// rounding, so they give the same bits everywhere, unlike math.Exp, math.Log
// and math.Pow, which have assembly versions on some architectures. Each is
// accurate to a few float64 ulp, far below the float32 rounding applied to
// their results.

const (
	dLn2Hi = 6.93147180369123816490e-01 // ln 2, high 33 bits
	dLn2Lo = 1.90821492927058770002e-10 // ln 2 - dLn2Hi
)

// roundHalfAway rounds k to the nearest integer, halves away from zero.
func roundHalfAway(k float64) int64 {
	if k >= 0 {
		return int64(k + 0.5)
	}
	return -int64(0.5 - k)
}

// detExp returns e^x for |x| < 700.
func detExp(x float64) float64 {
	n := roundHalfAway(x / dLn2Hi)
	nf := float64(n)
	r := x - float64(nf*dLn2Hi)
	r = r - float64(nf*dLn2Lo)
	// Taylor series to r^20/20! (|r| <= 0.35: remainder < 1e-28).
	s := 1.0
	for i := 20; i >= 1; i-- {
		s = float64(s*r)/float64(i) + 1
	}
	return s * math.Float64frombits(uint64(n+1023)<<52)
}

// detLog returns ln x for finite x > 0.
func detLog(x float64) float64 {
	b := math.Float64bits(x)
	e := int64(b>>52&0x7ff) - 1023
	m := math.Float64frombits(b&^(0x7ff<<52) | 1023<<52) // in [1, 2)
	if m > math.Sqrt2 {
		m /= 2
		e++
	}
	// ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.172.
	s := (m - 1) / (m + 1)
	s2 := float64(s * s)
	t := 0.0
	for k := 41; k >= 3; k -= 2 {
		t = float64(t*s2) + 1/float64(k)
	}
	lm := 2 * (s + float64(float64(s*s2)*t))
	ef := float64(e)
	return float64(ef*dLn2Hi) + (float64(ef*dLn2Lo) + lm)
}

// detPow returns x^y for x > 0, via detExp(y * detLog(x)).
func detPow(x, y float64) float64 { return detExp(float64(y * detLog(x))) }

// pi/2 in three parts of 33 bits (fdlibm's pio2_1, pio2_2, pio2_3), so that
// k*part is exact for k < 2^20.
const (
	pio2a = 1.57079632673412561417e+00
	pio2b = 6.07710050630396597660e-11
	pio2c = 2.02226624871116645580e-21
)

// detSinCos returns sin x and cos x for 0 <= |x| < 2^20*pi/2.
func detSinCos(x float64) (sin, cos float64) {
	n := roundHalfAway(x / (math.Pi / 2))
	nf := float64(n)
	r := x - float64(nf*pio2a)
	r = r - float64(nf*pio2b)
	r = r - float64(nf*pio2c)
	// |r| <= pi/4 (+ tiny): Taylor series to r^25 / r^24.
	r2 := float64(r * r)
	ps, pc := 0.0, 0.0
	for i := 12; i >= 1; i-- {
		ps = 1 - float64(float64(ps*r2)/float64((2*i)*(2*i+1)))
		pc = 1 - float64(float64(pc*r2)/float64((2*i-1)*(2*i)))
	}
	s, c := float64(r*ps), pc
	switch n & 3 {
	case 0:
		return s, c
	case 1:
		return c, -s
	case 2:
		return -s, -c
	}
	return -c, s
}
