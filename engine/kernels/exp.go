package kernels

import "math"

// Constants of Exp. ln2Hi has 9 significant bits, so n*ln2Hi is exact for
// |n| < 2^15; ln2Hi + ln2Lo = ln 2 to about 2^-32 relative.
const (
	log2e  = 1.44269504088896341
	ln2Hi  = 0.693359375
	ln2Lo  = -2.12194440e-4
	expMax = 88.72283935546875 // largest float32 x with exp(x) finite
	expMin = -103.97208404541016
)

// The minimax polynomial of exp on [-ln2/2, ln2/2] used by Cephes' expf:
// exp(r) ~ 1 + r + r^2*(c0 + r*(c1 + r*(c2 + r*(c3 + r*(c4 + r*c5))))).
var expPoly = [6]float32{
	5.0000001201e-1, 1.6666665459e-1, 4.1665795894e-2,
	8.3334519073e-3, 1.3981999507e-3, 1.9875691500e-4,
}

// Exp returns e^x in float32 arithmetic only, the same on every machine.
// Its error is below 2 ulp (tested against math.Exp). Definition:
//
//	NaN -> NaN; x > 88.7228394 -> +Inf; x < -103.972084 -> 0
//	n = round(x*log2e) (float32 product, ties away from zero)
//	r = (x - float32(n*ln2Hi)) - float32(n*ln2Lo)
//	p = Horner(c5..c0 at r), each step float32(p*r) + c
//	y = (float32(float32(r*r)*p) + r) + 1
//	result = y * 2^n, as one or two exact power-of-two multiplications
//	         (the last one rounding into the subnormal range if needed).
func Exp(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expMax:
		return float32(math.Inf(1))
	case x < expMin:
		return 0
	}
	k := float32(x * log2e)
	var n int32
	if k >= 0 {
		n = int32(k + 0.5)
	} else {
		n = -int32(0.5 - k)
	}
	nf := float32(n)
	r := x - float32(nf*ln2Hi)
	r = r - float32(nf*ln2Lo)
	p := expPoly[5]
	p = float32(p*r) + expPoly[4]
	p = float32(p*r) + expPoly[3]
	p = float32(p*r) + expPoly[2]
	p = float32(p*r) + expPoly[1]
	p = float32(p*r) + expPoly[0]
	y := float32(float32(r*r)*p) + r
	y = y + 1
	switch {
	case n > 127:
		return y * pow2(n-1) * 2
	case n < -126:
		return y * pow2(n+64) * pow2(-64)
	}
	return y * pow2(n)
}

// pow2 returns 2^n for -126 <= n <= 127.
func pow2(n int32) float32 { return math.Float32frombits(uint32(n+127) << 23) }

// expSlice writes dst[i] = Exp(src[i]) (len(dst) >= len(src); dst may be
// src). Fast versions are installed per CPU and must match Exp bit for bit
// (TestExpSlice).
var expSlice = expSliceGeneric

func expSliceGeneric(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = Exp(x)
	}
}
