package lowrank

import (
	"math"
	"math/rand/v2"
)

// Synthetic returns the float32 bit patterns of a rows x cols matrix of
// rank at most batch shaped like a minibatch gradient: the sum over b of
// d_b x_b^T, d_b Gaussian (scale 1e-3), x_b ReLU-like (a quarter zeros),
// summed in float32 in increasing b. For tests and examples.
func Synthetic(rows, cols, batch int, seed uint64) []uint32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	d := make([]float32, batch*rows)
	x := make([]float32, batch*cols)
	for i := range d {
		d[i] = float32(rng.NormFloat64() * 1e-3)
	}
	for i := range x {
		if rng.IntN(4) > 0 {
			x[i] = float32(rng.Float64())
		}
	}
	out := make([]uint32, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			var s float32
			for b := 0; b < batch; b++ {
				s += float32(d[b*rows+i] * x[b*cols+j])
			}
			out[i*cols+j] = math.Float32bits(s)
		}
	}
	return out
}

// SyntheticBytes is Synthetic as little-endian bytes.
func SyntheticBytes(rows, cols, batch int, seed uint64) []byte {
	v := Synthetic(rows, cols, batch, seed)
	b := make([]byte, 4*len(v))
	for i, x := range v {
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
	}
	return b
}
