package bench

import (
	"encoding/binary"
	"math"
	"sort"
)

// Stats describe the float32 values of a gradient, to explain its
// compression rates.
type Stats struct {
	Floats int64 `json:"floats"`
	// Zeros is the fraction of values that are exactly ±0.
	Zeros float64 `json:"zeros"`
	// Low16Zero is the fraction of nonzero values whose low 16 mantissa
	// bits are all zero (values exactly representable in bfloat16).
	Low16Zero float64 `json:"low16_zero"`
	// PlaneEntropy is the order-0 entropy in bits of each byte plane, in
	// memory order (0 = lowest mantissa byte, 3 = sign and high exponent).
	PlaneEntropy [4]float64 `json:"plane_entropy"`
	// Order0Rate is 100 x sum(PlaneEntropy) / 32: the rate of a coder that
	// knows each byte plane's histogram and nothing else.
	Order0Rate float64 `json:"order0_rate"`
	// ExpP01, ExpP50 and ExpP99 are percentiles of the unbiased binary
	// exponent of the nonzero finite values; MaxAbs the largest magnitude.
	ExpP01 int     `json:"exp_p01"`
	ExpP50 int     `json:"exp_p50"`
	ExpP99 int     `json:"exp_p99"`
	MaxAbs float64 `json:"max_abs"`
}

// Analyze computes Stats of little-endian float32 data (a trailing
// partial float is ignored).
func Analyze(data []byte) Stats {
	var s Stats
	n := len(data) / 4
	s.Floats = int64(n)
	if n == 0 {
		return s
	}
	var hist [4][256]int64
	var zeros, low16, nonzero int64
	exps := make([]int, 0, n)
	for i := range n {
		b := data[4*i : 4*i+4]
		for p := range 4 {
			hist[p][b[p]]++
		}
		u := binary.LittleEndian.Uint32(b)
		if u&0x7fffffff == 0 {
			zeros++
			continue
		}
		nonzero++
		if u&0xffff == 0 {
			low16++
		}
		e := int(u>>23&0xff) - 127
		if e != 128 {
			exps = append(exps, e)
			if a := math.Abs(float64(math.Float32frombits(u))); a > s.MaxAbs {
				s.MaxAbs = a
			}
		}
	}
	s.Zeros = float64(zeros) / float64(n)
	if nonzero > 0 {
		s.Low16Zero = float64(low16) / float64(nonzero)
	}
	var sum float64
	for p := range 4 {
		for _, c := range hist[p] {
			if c > 0 {
				q := float64(c) / float64(n)
				s.PlaneEntropy[p] -= q * math.Log2(q)
			}
		}
		sum += s.PlaneEntropy[p]
	}
	s.Order0Rate = 100 * sum / 32
	if len(exps) > 0 {
		sort.Ints(exps)
		at := func(q float64) int { return exps[min(len(exps)-1, int(q*float64(len(exps))))] }
		s.ExpP01, s.ExpP50, s.ExpP99 = at(0.01), at(0.5), at(0.99)
	}
	return s
}
