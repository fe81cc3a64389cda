package nn

import "math"

// RNG is a small seeded generator (SplitMix64) so that initialisation,
// shuffling and augmentation are the same on every Go version and machine.
type RNG struct{ s uint64 }

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG { return &RNG{s: seed} }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float32 returns a uniform value in [0, 1) with 24 random bits.
func (r *RNG) Float32() float32 { return float32(r.Uint64()>>40) * (1.0 / (1 << 24)) }

// Intn returns a uniform value in [0, n) for n > 0.
func (r *RNG) Intn(n int) int {
	// Lemire's multiply-shift with rejection, on 32 bits.
	bound := uint64(n)
	for {
		x := r.Uint64() >> 32
		m := x * bound
		if uint32(m) >= uint32((1<<32-bound)%bound) {
			return int(m >> 32)
		}
	}
}

// Perm returns a random permutation of [0, n) (Fisher–Yates).
func (r *RNG) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// Normal returns a standard normal value (Box–Muller, float64 math).
func (r *RNG) Normal() float32 {
	u1 := float64(r.Uint64()>>11+1) / (1 << 53)
	u2 := float64(r.Uint64()>>11) / (1 << 53)
	return float32(math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2))
}
