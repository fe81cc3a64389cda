package prior

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lmgc/lmgc/coder"
)

// laplaceFloats returns n Laplace-distributed float32 values (scale b) as
// little-endian bytes, a stand-in for a gradient.
func laplaceFloats(n int, b float64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		u := r.Float64() - 0.5
		v := -b * math.Copysign(math.Log(1-2*math.Abs(u)), u)
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(float32(v)))
	}
	return out
}

// checkDist verifies that the intervals of all symbols tile [0, Total)
// and that Lookup inverts Interval.
func checkDist(t *testing.T, d coder.Dist, n int) {
	t.Helper()
	var next uint32
	for s := 0; s < n; s++ {
		cum, freq := d.Interval(s)
		if cum != next || freq == 0 {
			t.Fatalf("symbol %d: interval [%d,+%d), want start %d and nonzero size", s, cum, freq, next)
		}
		for _, tgt := range []uint32{cum, cum + freq/2, cum + freq - 1} {
			got, c2, f2 := d.Lookup(tgt)
			if got != s || c2 != cum || f2 != freq {
				t.Fatalf("Lookup(%d) = %d [%d,+%d), want %d [%d,+%d)", tgt, got, c2, f2, s, cum, freq)
			}
		}
		next = cum + freq
	}
	if next != d.Total() {
		t.Fatalf("intervals end at %d, total %d", next, d.Total())
	}
}

func TestCMDistIsValid(t *testing.T) {
	m, err := NewCM(4, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.NewBatch(1)
	data := laplaceFloats(2000, 1e-3, 1)
	out := make([]coder.Dist, 1)
	for i, c := range data {
		if err := b.Predict([]int{0}, out); err != nil {
			t.Fatal(err)
		}
		if i%997 == 0 || i < 8 {
			checkDist(t, out[0], 256)
		}
		if err := b.Push([]int{0}, []int{int(c)}); err != nil {
			t.Fatal(err)
		}
	}
}

// idealBits codes data through one window of the prior and returns
// -sum log2 p.
func idealBits(t testing.TB, p Prior, data []byte) float64 {
	b, err := p.NewBatch(1)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]coder.Dist, 1)
	w, s := []int{0}, []int{0}
	bits := 0.0
	for _, c := range data {
		b.Predict(w, out)
		_, f := out[0].Interval(int(c))
		bits -= math.Log2(float64(f) / float64(out[0].Total()))
		s[0] = int(c)
		b.Push(w, s)
	}
	return bits
}

func TestCMLearnsFloatStructure(t *testing.T) {
	data := laplaceFloats(100000, 1e-3, 2)
	m, _ := NewCM(4, 0)
	bits := idealBits(t, m, data)
	rate := 100 * bits / 8 / float64(len(data))
	t.Logf("cm on %d Laplace floats: %.2f%% of original", len(data)/4, rate)
	// Laplace float32 values carry about 23 random mantissa bits plus a
	// few bits of exponent and sign, so a model that learns the exponent
	// distribution reaches roughly 80%; an order-0 byte model cannot go
	// below the mantissa's entropy either, but wastes the exponent byte.
	if rate > 85 {
		t.Errorf("rate %.2f%%: the model did not learn the exponent distribution", rate)
	}
	// Same input, same prior: identical bits (determinism).
	m2, _ := NewCM(4, 0)
	if b2 := idealBits(t, m2, data); b2 != bits {
		t.Errorf("second run gave %v bits, first %v", b2, bits)
	}
}

func BenchmarkCMIdeal(b *testing.B) {
	data := laplaceFloats(1<<18, 1e-3, 3)
	m, _ := NewCM(4, 0)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		idealBits(b, m, data)
	}
}
