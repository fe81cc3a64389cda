package bench

import (
	"encoding/binary"
	"math"
	"slices"
	"testing"
)

func TestMeanStd(t *testing.T) {
	for _, tc := range []struct {
		xs        []float64
		mean, std float64
	}{
		{[]float64{5}, 5, 0},
		{[]float64{1, 3}, 2, 1},
		{[]float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, 2}, // population std is 2
		{[]float64{41.91, 41.91, 41.91}, 41.91, 0},
	} {
		m, s := MeanStd(tc.xs)
		if math.Abs(m-tc.mean) > 1e-12 || math.Abs(s-tc.std) > 1e-12 {
			t.Errorf("MeanStd(%v) = %v, %v; want %v, %v", tc.xs, m, s, tc.mean, tc.std)
		}
	}
	if m, s := MeanStd(nil); !math.IsNaN(m) || !math.IsNaN(s) {
		t.Errorf("MeanStd(nil) = %v, %v; want NaN, NaN", m, s)
	}
}

func TestSubsets(t *testing.T) {
	a := Subsets(26, 3, 10, 1)
	b := Subsets(26, 3, 10, 1)
	if !slices.EqualFunc(a, b, slices.Equal[[]int]) {
		t.Fatalf("same seed, different subsets: %v vs %v", a, b)
	}
	if c := Subsets(26, 3, 10, 2); slices.EqualFunc(a, c, slices.Equal[[]int]) {
		t.Errorf("seeds 1 and 2 give the same subsets %v", a)
	}
	if len(a) != 3 {
		t.Fatalf("got %d subsets, want 3", len(a))
	}
	for _, s := range a {
		if len(s) != 10 || !slices.IsSorted(s) {
			t.Errorf("subset %v: want 10 sorted indices", s)
		}
		for i, v := range s {
			if v < 0 || v >= 26 || (i > 0 && s[i-1] == v) {
				t.Errorf("subset %v: index %d out of range or repeated", s, v)
			}
		}
	}
	if slices.Equal(a[0], a[1]) && slices.Equal(a[1], a[2]) {
		t.Errorf("all three draws are identical: %v", a[0])
	}
	// Fewer files than per subset: every subset is all of them.
	for _, s := range Subsets(4, 3, 10, 1) {
		if !slices.Equal(s, []int{0, 1, 2, 3}) {
			t.Errorf("Subsets(4, 3, 10) gave %v, want all four files", s)
		}
	}
	if Subsets(0, 3, 10, 1) != nil {
		t.Error("Subsets of no files should be nil")
	}
}

func TestPickAndSlice(t *testing.T) {
	p := pick(100, 8, 3, "a")
	if !slices.Equal(p, pick(100, 8, 3, "a")) || len(p) != 8 || !slices.IsSorted(p) {
		t.Errorf("pick(100, 8) = %v: want 8 sorted indices, the same each call", p)
	}
	if slices.Equal(p, pick(100, 8, 3, "b")) {
		t.Error("pick ignores its key")
	}
	if got := pick(5, 0, 3, "a"); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("pick(5, 0) = %v, want all", got)
	}
	data := make([]byte, 10000)
	for i := range data {
		data[i] = byte(i / 512)
	}
	s := sliceOf(data, 2000, 1, "f")
	if len(s) != 1536 {
		t.Fatalf("slice of %d bytes, want 1536 (2000 rounded down to 512)", len(s))
	}
	if !slices.Equal(s, sliceOf(data, 2000, 1, "f")) {
		t.Error("sliceOf is not deterministic")
	}
	if s[0] != s[511] || s[0]+1 != s[512] {
		t.Errorf("slice does not start on a 512-byte boundary: %v...", s[:4])
	}
	if got := sliceOf(data[:300], 100, 1, "f"); len(got) != 300 {
		t.Errorf("a limit under one chunk on 300 bytes gave %d bytes, want all 300", len(got))
	}
	if got := sliceOf(data, 100, 1, "f"); len(got) != 512 {
		t.Errorf("a limit under one chunk gave %d bytes, want one 512-byte chunk", len(got))
	}
	if got := sliceOf(data, 0, 1, "f"); len(got) != len(data) {
		t.Errorf("max 0 gave %d bytes, want all", len(got))
	}
}

func TestAnalyze(t *testing.T) {
	vals := []float32{0, float32(math.Copysign(0, -1)), 1, 0.5, -2, math.Float32frombits(0x3f800001), 1e-3, 3}
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	s := Analyze(b)
	if s.Floats != 8 || s.Zeros != 0.25 {
		t.Errorf("floats %d zeros %v, want 8 and 0.25", s.Floats, s.Zeros)
	}
	// Nonzero: 1, 0.5, -2, 3 are bf16-exact; 1+ulp and 1e-3 are not.
	if math.Abs(s.Low16Zero-4.0/6) > 1e-12 {
		t.Errorf("Low16Zero %v, want 4/6", s.Low16Zero)
	}
	if s.MaxAbs != 3 {
		t.Errorf("MaxAbs %v, want 3", s.MaxAbs)
	}
	if s.ExpP01 != -10 || s.ExpP99 != 1 {
		t.Errorf("exponent percentiles %d..%d, want -10..1", s.ExpP01, s.ExpP99)
	}
	for p, h := range s.PlaneEntropy {
		if h < 0 || h > 3 { // 8 values: at most 3 bits
			t.Errorf("plane %d entropy %v out of [0, 3]", p, h)
		}
	}
	// Uniform random bytes: every plane near 8 bits, rate near 100%.
	r := make([]byte, 1<<16)
	x := uint32(1)
	for i := range r {
		x = x*1664525 + 1013904223
		r[i] = byte(x >> 24)
	}
	if s := Analyze(r); s.Order0Rate < 99 || s.Order0Rate > 100 {
		t.Errorf("order-0 rate of random bytes %v, want about 100", s.Order0Rate)
	}
}
