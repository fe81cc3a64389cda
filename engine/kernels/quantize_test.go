package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

func checkFreqs(t testing.TB, f []uint32, bits int) {
	t.Helper()
	var sum uint64
	for i, v := range f {
		if v == 0 {
			t.Fatalf("symbol %d has frequency 0", i)
		}
		sum += uint64(v)
	}
	if sum != 1<<bits {
		t.Fatalf("frequencies sum to %d, want %d", sum, uint64(1)<<bits)
	}
}

func TestQuantize(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	ninf := float32(math.Inf(-1))
	cases := []struct {
		name   string
		logits []float32
		bits   int
	}{
		{"one", []float32{3}, 1},
		{"uniform", make([]float32, 1000), 24},
		{"full", make([]float32, 1<<10), 10},
		{"peaked", []float32{0, 100, 0, -100, ninf}, 16},
		{"random32k", randVec(r, 32000, 3), 31},
		{"random150k", randVec(r, 150000, 5), 24},
		{"tiny total", randVec(r, 7, 10), 3},
	}
	for _, c := range cases {
		f := make([]uint32, len(c.logits))
		if err := Quantize(c.logits, c.bits, f); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkFreqs(t, f, c.bits)
		// Compare with the float64 softmax: each frequency is within one
		// floor unit (plus the settled remainder at the argmax) of
		// p*(T-n)+1.
		m := math.Inf(-1)
		arg := 0
		for i, v := range c.logits {
			if float64(v) > m {
				m, arg = float64(v), i
			}
		}
		var s float64
		for _, v := range c.logits {
			s += math.Exp(float64(v) - m)
		}
		T := float64(uint64(1) << c.bits)
		n := float64(len(c.logits))
		for i, v := range c.logits {
			want := math.Exp(float64(v)-m)/s*(T-n) + 1
			tol := 1 + want*4e-6
			if i == arg {
				tol += 4 + n // the remainder of up to one unit per symbol
			}
			if math.Abs(float64(f[i])-want) > tol {
				t.Fatalf("%s: f[%d] = %d, want about %.1f", c.name, i, f[i], want)
			}
		}
	}
}

func TestQuantizeExact(t *testing.T) {
	// Two symbols, logits 0 and ln 3 rounded: p = 1/4, 3/4 roughly.
	f := make([]uint32, 2)
	if err := Quantize([]float32{0, 0}, 4, f); err != nil {
		t.Fatal(err)
	}
	if f[0] != 8 || f[1] != 8 {
		t.Errorf("equal logits: %v, want [8 8]", f)
	}
	f = make([]uint32, 3)
	if err := Quantize([]float32{-200, 0, -200}, 8, f); err != nil {
		t.Fatal(err)
	}
	if f[0] != 1 || f[1] != 254 || f[2] != 1 {
		t.Errorf("peaked: %v, want [1 254 1]", f)
	}
}

func TestQuantizeErrors(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	cases := []struct {
		name   string
		logits []float32
		n      int
		bits   int
	}{
		{"len mismatch", []float32{1, 2}, 3, 8},
		{"empty", nil, 0, 8},
		{"bits 0", []float32{1}, 1, 0},
		{"bits 32", []float32{1}, 1, 32},
		{"too many", make([]float32, 5), 5, 2},
		{"NaN", []float32{0, nan}, 2, 8},
		{"+Inf", []float32{inf, 0}, 2, 8},
		{"all -Inf", []float32{-inf, -inf}, 2, 8},
	}
	for _, c := range cases {
		if err := Quantize(c.logits, c.bits, make([]uint32, c.n)); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if err := QuantizeSubset([]float32{1, 2}, []int32{0, 2}, 8, make([]uint32, 2)); err == nil {
		t.Error("QuantizeSubset with an id out of range: no error")
	}
}

func TestQuantizeSubset(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	logits := randVec(r, 500, 4)
	ids := []int32{7, 3, 499, 0, 250}
	got := make([]uint32, len(ids))
	if err := QuantizeSubset(logits, ids, 20, got); err != nil {
		t.Fatal(err)
	}
	sub := []float32{logits[7], logits[3], logits[499], logits[0], logits[250]}
	want := make([]uint32, len(ids))
	if err := Quantize(sub, 20, want); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("subset %v, direct %v", got, want)
		}
	}
	checkFreqs(t, got, 20)
}

func TestSettleNegative(t *testing.T) {
	f := []uint32{3, 1, 2, 5}
	settle(f, 1, -6) // arg has nothing to give; take from 0, 2, 3 in turn
	want := []uint32{1, 1, 1, 2}
	for i := range f {
		if f[i] != want[i] {
			t.Fatalf("settle: %v, want %v", f, want)
		}
	}
}

func FuzzQuantize(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 0}, uint8(8))
	f.Add([]byte{0, 0, 128, 255, 0, 0, 128, 127, 1, 2, 3, 4}, uint8(31))
	f.Fuzz(func(t *testing.T, data []byte, bits uint8) {
		logits := make([]float32, len(data)/4)
		for i := range logits {
			logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		freq := make([]uint32, len(logits))
		if err := Quantize(logits, int(bits), freq); err != nil {
			return
		}
		checkFreqs(t, freq, int(bits))
	})
}
