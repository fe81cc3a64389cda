package coder

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestNewFreqsErrors(t *testing.T) {
	tests := []struct {
		name  string
		freqs []uint32
	}{
		{"empty", nil},
		{"zero", []uint32{3, 0, 1}},
		{"over MaxTotal", []uint32{MaxTotal, 1}},
		{"uint32 overflow", []uint32{1<<32 - 1, 1<<32 - 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewFreqs(tc.freqs); !errors.Is(err, ErrFreqs) {
				t.Errorf("NewFreqs(%v) = %v, want ErrFreqs", tc.freqs, err)
			}
		})
	}
	// Set leaves the table unchanged on error.
	f := mustFreqs(t, []uint32{1, 2, 3})
	if err := f.Set([]uint32{1, 0}); err == nil {
		t.Fatal("Set with a zero frequency succeeded")
	}
	if f.Len() != 3 || f.Total() != 6 {
		t.Errorf("after failed Set: %d symbols, total %d; want 3, 6", f.Len(), f.Total())
	}
	// MaxTotal itself is allowed.
	if f, err := NewFreqs([]uint32{MaxTotal - 1, 1}); err != nil || f.Total() != MaxTotal {
		t.Errorf("NewFreqs summing to MaxTotal: %v", err)
	}
}

// TestFreqsAgainstLinear checks Interval and Lookup against a linear scan
// of the frequencies, for every target of small tables and random targets
// of large ones.
func TestFreqsAgainstLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var f Freqs
	for _, n := range []int{1, 2, 3, 5, 16, 17, 1000, 32000} {
		freqs := make([]uint32, n)
		for i := range freqs {
			freqs[i] = 1 + rng.Uint32N(uint32(1+rng.IntN(50)))
		}
		if err := f.Set(freqs); err != nil { // reuses f's memory
			t.Fatal(err)
		}
		if f.Len() != n {
			t.Fatalf("Len = %d, want %d", f.Len(), n)
		}
		var cum uint32
		for s, x := range freqs {
			if c, fr := f.Interval(s); c != cum || fr != x {
				t.Fatalf("n=%d: Interval(%d) = (%d, %d), want (%d, %d)", n, s, c, fr, cum, x)
			}
			// Both ends of the interval and a point inside it.
			for _, target := range []uint32{cum, cum + x - 1, cum + rng.Uint32N(x)} {
				sym, c, fr := f.Lookup(target)
				if sym != s || c != cum || fr != x {
					t.Fatalf("n=%d: Lookup(%d) = (%d, %d, %d), want (%d, %d, %d)", n, target, sym, c, fr, s, cum, x)
				}
			}
			cum += x
		}
		if f.Total() != cum {
			t.Fatalf("Total = %d, want %d", f.Total(), cum)
		}
		if _, fr := f.Interval(n); fr != 0 {
			t.Errorf("Interval(n) has frequency %d, want 0", fr)
		}
	}
}

func TestZeroFreqs(t *testing.T) {
	var f Freqs
	if f.Len() != 0 || f.Total() != 0 {
		t.Errorf("zero Freqs: Len %d, Total %d", f.Len(), f.Total())
	}
	if _, fr := f.Interval(0); fr != 0 {
		t.Errorf("zero Freqs: Interval(0) has frequency %d", fr)
	}
	if _, _, fr := f.Lookup(0); fr != 0 {
		t.Errorf("zero Freqs: Lookup(0) has frequency %d", fr)
	}
}

func TestUniform(t *testing.T) {
	u := Uniform(10)
	if u.Total() != 10 {
		t.Errorf("Total = %d", u.Total())
	}
	for s := range 10 {
		if c, f := u.Interval(s); c != uint32(s) || f != 1 {
			t.Errorf("Interval(%d) = (%d, %d)", s, c, f)
		}
		if sym, c, f := u.Lookup(uint32(s)); sym != s || c != uint32(s) || f != 1 {
			t.Errorf("Lookup(%d) = (%d, %d, %d)", s, sym, c, f)
		}
	}
	for _, s := range []int{-1, 10, 1 << 40} {
		if _, f := u.Interval(s); f != 0 {
			t.Errorf("Interval(%d) has frequency %d, want 0", s, f)
		}
	}
}
