package baseline

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
)

// SyntheticLaplace returns n float32 values drawn from a Laplace distribution
// with mean 0 and the given scale, as little-endian bytes: a stand-in for a
// gradient when no real one is at hand. The same seed gives the same bytes.
func SyntheticLaplace(n int, scale float64, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x6c6d6763))
	out := make([]byte, 4*n)
	for i := range n {
		u := rng.Float64() - 0.5 // in [-0.5, 0.5)
		x := -scale * math.Log(1-2*math.Abs(u))
		if u < 0 {
			x = -x
		}
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(float32(x)))
	}
	return out
}
