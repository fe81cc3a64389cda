package lowrank

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// gradient is Synthetic with a seed from rng.
func gradient(rng *rand.Rand, rows, cols, batch int) []uint32 {
	return Synthetic(rows, cols, batch, rng.Uint64())
}

func roundTrip(t *testing.T, bits []uint32, p *Plan) []uint32 {
	t.Helper()
	fw, err := Forward(bits, p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Inverse(fw, p)
	if err != nil {
		t.Fatal(err)
	}
	for i := range bits {
		if back[i] != bits[i] {
			t.Fatalf("value %d: %08x, want %08x", i, back[i], bits[i])
		}
	}
	return fw
}

func TestLowRankGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sh := range [][3]int{{64, 200, 16}, {200, 64, 16}, {40, 41, 39}, {33, 7, 2}} {
		bits := gradient(rng, sh[0], sh[1], sh[2])
		p := Choose(bits, sh[0], sh[1], 0)
		n, m := min(sh[0], sh[1]), max(sh[0], sh[1])
		r := len(p.Basis)
		if sh[2] <= n*3/4 && r != sh[2] {
			t.Errorf("%v: rank %d, want %d", sh, r, sh[2])
		}
		fw := roundTrip(t, bits, p)
		if r == 0 {
			continue
		}
		res := fw[r*m+(n-r)*r:]
		if len(res) != (n-r)*(m-r) {
			t.Fatalf("%v: %d residuals", sh, len(res))
		}
		small := 0
		for _, z := range res {
			if z < 1<<13 {
				small++
			}
		}
		if 10*small < 9*len(res) {
			t.Errorf("%v: only %d of %d residuals below 2^12 ulps", sh, small, len(res))
		}
	}
}

func TestFullRankAndEdgeShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][2]int{{0, 0}, {1, 1}, {1, 9}, {9, 1}, {2, 2}, {17, 23}} {
		bits := make([]uint32, sh[0]*sh[1])
		for i := range bits {
			bits[i] = math.Float32bits(float32(rng.NormFloat64()))
		}
		p := Choose(bits, sh[0], sh[1], 0)
		if len(p.Basis) != 0 {
			t.Errorf("%v: random full-rank matrix got rank %d", sh, len(p.Basis))
		}
		roundTrip(t, bits, p)
	}
}

// A plan applies to any values of its shape, also ones it was not chosen
// for: zero rows, NaN, Inf, subnormals, and a basis that stops being
// independent make bad predictions, never a wrong round trip.
func TestPlanOnAnyValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	bits := gradient(rng, 30, 50, 6)
	p := Choose(bits, 30, 50, 0)
	if len(p.Basis) != 6 {
		t.Fatalf("rank %d, want 6", len(p.Basis))
	}
	special := []uint32{0x7fc00001, 0xffc00000, 0x7f800000, 0xff800000, 0x00000001, 0x80000000, 0x7f7fffff}
	for trial := 0; trial < 50; trial++ {
		v := append([]uint32(nil), bits...)
		for k := 0; k < 1+trial; k++ {
			i := rng.IntN(len(v))
			switch rng.IntN(3) {
			case 0:
				v[i] = special[rng.IntN(len(special))]
			case 1:
				v[i] = rng.Uint32()
			default:
				row := rng.IntN(30)
				for j := 0; j < 50; j++ {
					v[row*50+j] = 0
				}
			}
		}
		fw, err := Forward(v, p)
		if errors.Is(err, ErrPlan) {
			continue // the basis became singular: Choose would not pick it
		}
		if err != nil {
			t.Fatal(err)
		}
		back, err := Inverse(fw, p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range v {
			if back[i] != v[i] {
				t.Fatalf("trial %d value %d: %08x, want %08x", trial, i, back[i], v[i])
			}
		}
	}
	// Non-finite values: Choose leaves the matrix as it is.
	v := append([]uint32(nil), bits...)
	v[7] = 0x7fc00000
	if q := Choose(v, 30, 50, 0); len(q.Basis) != 0 {
		t.Errorf("NaN: rank %d", len(q.Basis))
	}
	// All-zero matrix.
	z := make([]uint32, 12*13)
	if q := Choose(z, 12, 13, 0); len(q.Basis) != 0 {
		t.Errorf("zeros: rank %d", len(q.Basis))
	}
}

func TestBadPlans(t *testing.T) {
	v := make([]uint32, 12)
	for _, p := range []*Plan{
		{Rows: 3, Cols: 4, Basis: []int32{0}, Pivots: nil},
		{Rows: 3, Cols: 4, Basis: []int32{3}, Pivots: []int32{0}},
		{Rows: 3, Cols: 4, Basis: []int32{1, 1}, Pivots: []int32{0, 1}},
		{Rows: 3, Cols: 4, Basis: []int32{0}, Pivots: []int32{-1}},
		{Rows: 4, Cols: 4, Basis: nil, Pivots: nil},
		{Rows: -1, Cols: 4},
		{Rows: 3, Cols: 4, Basis: []int32{0}, Pivots: []int32{0}}, // singular: all zero
	} {
		if _, err := Forward(v, p); !errors.Is(err, ErrPlan) {
			t.Errorf("%+v: Forward error %v, want ErrPlan", p, err)
		}
		if _, err := Inverse(v, p); !errors.Is(err, ErrPlan) {
			t.Errorf("%+v: Inverse error %v, want ErrPlan", p, err)
		}
	}
}

func FuzzInverse(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint8(3), uint8(4), uint8(1), false)
	f.Fuzz(func(t *testing.T, data []byte, rows, cols, r uint8, tr bool) {
		nr, nc := int(rows%16), int(cols%16)
		v := make([]uint32, nr*nc)
		for i := range v {
			if 4*i+3 < len(data) {
				v[i] = uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24
			}
		}
		p := &Plan{Rows: nr, Cols: nc, Transposed: tr}
		for k := 0; k < int(r%8); k++ {
			p.Basis = append(p.Basis, int32(k))
			p.Pivots = append(p.Pivots, int32(k))
		}
		back, err := Inverse(v, p)
		if err != nil {
			return
		}
		fw, err := Forward(back, p)
		if err != nil {
			t.Fatalf("Inverse worked, Forward failed: %v", err)
		}
		for i := range v {
			if fw[i] != v[i] {
				t.Fatalf("value %d: %08x, want %08x", i, fw[i], v[i])
			}
		}
	})
}

func FuzzUnmarshalPlans(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	bits := gradient(rng, 20, 30, 4)
	f.Add(MarshalPlans([]*Plan{Choose(bits, 20, 30, 0), {Rows: 2, Cols: 3}}))
	f.Add([]byte(planMagic + "\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		plans, err := UnmarshalPlans(b)
		if err != nil {
			if !errors.Is(err, ErrPlan) {
				t.Fatalf("error %v is not ErrPlan", err)
			}
			return
		}
		if got := MarshalPlans(plans); string(got) != string(b) {
			t.Fatalf("re-marshalled plans differ")
		}
	})
}

func TestPlansRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	bits := gradient(rng, 20, 30, 4)
	in := []*Plan{Choose(bits, 20, 30, 0), {Rows: 2, Cols: 3}, Choose(gradient(rng, 31, 9, 2), 31, 9, 0)}
	b := MarshalPlans(in)
	out, err := UnmarshalPlans(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 || len(out[0].Basis) != 4 || len(out[2].Basis) != 2 || !out[2].Transposed {
		t.Fatalf("plans %+v", out)
	}
	for cut := 0; cut < len(b); cut++ {
		if _, err := UnmarshalPlans(b[:cut]); !errors.Is(err, ErrPlan) {
			t.Fatalf("truncated to %d: %v", cut, err)
		}
	}
}

func TestEncodePlan(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	p := Choose(gradient(rng, 40, 25, 5), 40, 25, 0)
	if len(p.Basis) != 5 || !p.Transposed {
		t.Fatalf("plan %+v", p)
	}
	s := EncodePlan(p)
	q, err := DecodePlan(s, 40, 25)
	if err != nil {
		t.Fatal(err)
	}
	if EncodePlan(q) != s || q.Transposed != p.Transposed || len(q.Pivots) != 5 {
		t.Fatalf("decoded %+v, want %+v", q, p)
	}
	for _, bad := range []string{"", "!!", s[:len(s)-4], EncodePlan(&Plan{Basis: []int32{0, 45}, Pivots: []int32{0, 1}})} {
		if _, err := DecodePlan(bad, 40, 25); !errors.Is(err, ErrPlan) {
			t.Errorf("%q: %v, want ErrPlan", bad, err)
		}
	}
	if _, err := DecodePlan(s, 1<<20, 1<<20); !errors.Is(err, ErrPlan) {
		t.Errorf("huge shape: %v", err)
	}
}

func FuzzDecodePlan(f *testing.F) {
	f.Add("AAIAAQAB", uint16(4), uint16(5))
	f.Fuzz(func(t *testing.T, s string, rows, cols uint16) {
		p, err := DecodePlan(s, int(rows), int(cols))
		if err != nil {
			if !errors.Is(err, ErrPlan) {
				t.Fatalf("error %v is not ErrPlan", err)
			}
			return
		}
		if q, err := DecodePlan(EncodePlan(p), int(rows), int(cols)); err != nil || EncodePlan(q) != EncodePlan(p) {
			t.Fatalf("re-encoded plan: %v", err)
		}
	})
}
