package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

func TestF16RoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f {
			if g := F32ToF16(f); F16ToF32(g) == F16ToF32(g) {
				t.Fatalf("NaN %#04x became %#04x", h, g)
			}
			continue
		}
		if g := F32ToF16(f); g != uint16(h) {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)=%g) = %#04x", h, f, g)
		}
	}
}

// nearest checks that q (the rounding of f to a format) is a nearest
// representable value, given the representable neighbours below and above.
func TestF16Nearest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		f := math.Float32frombits(r.Uint32())
		if f != f || math.Abs(float64(f)) > 65519 {
			continue
		}
		h := F32ToF16(f)
		q := float64(F16ToF32(h))
		// Neighbours of h in magnitude.
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7fff >= 0x7c00 || (h&0x7fff == 0 && nb == h-1) {
				continue
			}
			v := float64(F16ToF32(nb))
			if math.Abs(v-float64(f)) < math.Abs(q-float64(f)) {
				t.Fatalf("F32ToF16(%g) = %g, but %g is nearer", f, q, v)
			}
			if math.Abs(v-float64(f)) == math.Abs(q-float64(f)) && h&1 == 1 {
				t.Fatalf("F32ToF16(%g): tie not rounded to even", f)
			}
		}
	}
	if g := F32ToF16(65520); g != 0x7c00 {
		t.Errorf("F32ToF16(65520) = %#04x, want +Inf", g)
	}
	if g := F32ToF16(float32(math.Inf(-1))); g != 0xfc00 {
		t.Errorf("F32ToF16(-Inf) = %#04x", g)
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80},
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81},
		{0x7f7fffff, 0x7f80}, // overflows to +Inf
	}
	for _, c := range cases {
		if got := F32ToBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if g := F32ToBF16(float32(math.NaN())); BF16ToF32(g) == BF16ToF32(g) {
		t.Errorf("NaN became %#04x", g)
	}
}

func naiveDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lengths := []int{0, 1, 2, 15, 16, 17, 31, 32, 33, 63, 64, 100, 255, 1000, 4096, 11008}
	for _, n := range lengths {
		for rep := 0; rep < 5; rep++ {
			a, b := randVec(r, n, 1), randVec(r, n, 1)
			ref := dotRef(a, b)
			if got := Dot(a, b); math.Float32bits(got) != math.Float32bits(ref) {
				t.Fatalf("n=%d: Dot = %g, reference kernel %g", n, got, ref)
			}
			if got := dotGeneric(a, b); math.Float32bits(got) != math.Float32bits(ref) {
				t.Fatalf("n=%d: dotGeneric = %g, reference kernel %g", n, got, ref)
			}
			want := naiveDot(a, b)
			if math.Abs(float64(ref)-want) > 1e-5*math.Sqrt(float64(n)+1)*math.Sqrt(float64(n)+1) {
				t.Errorf("n=%d: Dot = %g, float64 %g", n, ref, want)
			}
		}
	}
}

func TestDotQ8(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{32, 64, 96, 2048} {
		a, b := randVec(r, n, 1), randVec(r, n, 0.5)
		qa := make([]byte, n/32*34)
		qb := make([]byte, n/32*34)
		QuantizeQ8(qa, a)
		QuantizeQ8(qb, b)
		ref := dotQ8Ref(qa, qb)
		if got := DotQ8(qa, qb); math.Float32bits(got) != math.Float32bits(ref) {
			t.Fatalf("n=%d: DotQ8 = %g, reference kernel %g", n, got, ref)
		}
		// Against float64 on the dequantized values.
		da, db := make([]float32, n), make([]float32, n)
		DequantizeQ8(da, qa)
		DequantizeQ8(db, qb)
		if want := naiveDot(da, db); math.Abs(float64(ref)-want) > 1e-4*float64(n) {
			t.Errorf("n=%d: DotQ8 = %g, float64 %g", n, ref, want)
		}
		// And roughly the float dot (quantization error).
		if want := naiveDot(a, b); math.Abs(float64(ref)-want) > 0.02*math.Sqrt(float64(n)) {
			t.Errorf("n=%d: DotQ8 = %g, unquantized %g", n, ref, want)
		}
	}
}

func TestQuantizeQ8(t *testing.T) {
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32(i-16) / 4 // block 0 max |x| = 4, block 1 max = 11.75
	}
	x[40] = 0.5 * 11.75 / 127 // exactly half a step: ties to even (0)
	q := make([]byte, 68)
	QuantizeQ8(q, x)
	d0 := F16ToF32(uint16(q[0]) | uint16(q[1])<<8)
	if d0 != F16ToF32(F32ToF16(4.0/127)) {
		t.Errorf("block 0 scale %g", d0)
	}
	if int8(q[2]) != -127 { // x[0] = -4
		t.Errorf("q[0] = %d, want -127", int8(q[2]))
	}
	if int8(q[34+2+8]) != 0 {
		t.Errorf("half step became %d, want 0 (ties to even)", int8(q[34+2+8]))
	}
	back := make([]float32, 64)
	DequantizeQ8(back, q)
	for i := range x {
		blockMax := 4.0
		if i >= 32 {
			blockMax = 11.75
		}
		if math.Abs(float64(back[i]-x[i])) > blockMax/127*0.51+1e-3*blockMax/127*127 {
			t.Errorf("x[%d] = %g came back as %g", i, x[i], back[i])
		}
	}
	zero := make([]byte, 34)
	QuantizeQ8(zero, make([]float32, 32))
	for i, b := range zero {
		if b != 0 {
			t.Fatalf("zero block byte %d = %d", i, b)
		}
	}
}

// matrixOf encodes rows x cols random weights in type t and returns the
// matrix and its exactly widened values.
func matrixOf(t *testing.T, r *rand.Rand, typ Type, rows, cols int) (*Matrix, []float32) {
	w := randVec(r, rows*cols, 0.1)
	rs, err := RowSize(typ, cols)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, rows*rs)
	for i := 0; i < rows; i++ {
		row, out := w[i*cols:(i+1)*cols], data[i*rs:(i+1)*rs]
		switch typ {
		case F32:
			for j, v := range row {
				b := math.Float32bits(v)
				out[4*j], out[4*j+1], out[4*j+2], out[4*j+3] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
			}
		case F16, BF16:
			for j, v := range row {
				h := F32ToF16(v)
				if typ == BF16 {
					h = F32ToBF16(v)
				}
				out[2*j], out[2*j+1] = byte(h), byte(h>>8)
			}
		case Q8_0:
			QuantizeQ8(out, row)
		}
	}
	m, err := NewMatrix(typ, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < rows; i++ {
		m.Row(w[i*cols:(i+1)*cols], i)
	}
	return m, w
}

func TestMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const rows, cols, batch = 37, 96, 5
	for _, typ := range []Type{F32, F16, BF16, Q8_0} {
		m, w := matrixOf(t, r, typ, rows, cols)
		x := randVec(r, batch*cols, 1)
		want := make([]float32, batch*rows)
		MatMul(want, m, x, batch, 1)
		// Reference: widened row, activations converted the documented way,
		// reference dot kernels.
		for b := 0; b < batch; b++ {
			xb := append([]float32(nil), x[b*cols:(b+1)*cols]...)
			var xq []byte
			switch typ {
			case F16:
				RoundF16(xb)
			case BF16:
				RoundBF16(xb)
			case Q8_0:
				xq = make([]byte, cols/32*34)
				QuantizeQ8(xq, xb)
			}
			for i := 0; i < rows; i++ {
				var ref float32
				if typ == Q8_0 {
					ref = dotQ8Ref(m.Data[i*m.rowSize:(i+1)*m.rowSize], xq)
				} else {
					ref = dotRef(w[i*cols:(i+1)*cols], xb)
				}
				got := want[b*rows+i]
				if math.Float32bits(got) != math.Float32bits(ref) {
					t.Fatalf("%v: out[%d][%d] = %g, reference %g", typ, b, i, got, ref)
				}
				exact := naiveDot(w[i*cols:(i+1)*cols], x[b*cols:(b+1)*cols])
				tol := map[Type]float64{F32: 1e-5, F16: 2e-3, BF16: 2e-2, Q8_0: 2e-2}[typ]
				if math.Abs(float64(got)-exact) > tol*math.Sqrt(cols) {
					t.Errorf("%v: out[%d][%d] = %g, float64 %g", typ, b, i, got, exact)
				}
			}
		}
		// Bit-identical for every thread count and batch shape.
		for _, threads := range []int{2, 3, 4, 64} {
			got := make([]float32, batch*rows)
			MatMul(got, m, x, batch, threads)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v: %d threads differ at %d", typ, threads, i)
				}
			}
		}
		for b := 0; b < batch; b++ {
			got := make([]float32, rows)
			MatMul(got, m, x[b*cols:(b+1)*cols], 1, 2)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[b*rows+i]) {
					t.Fatalf("%v: column %d alone differs at row %d", typ, b, i)
				}
			}
		}
	}
}

func TestNewMatrixErrors(t *testing.T) {
	cases := []struct {
		typ              Type
		rows, cols, size int
	}{
		{F32, 2, 3, 23},
		{F16, 2, 3, 13},
		{Q8_0, 1, 33, 68},
		{Q8_0, 1, 32, 33},
		{Type(9), 1, 1, 4},
		{F32, 0, 4, 0},
		{F32, 1, -1, 0},
	}
	for _, c := range cases {
		if _, err := NewMatrix(c.typ, c.rows, c.cols, make([]byte, c.size)); err == nil {
			t.Errorf("NewMatrix(%v, %d, %d, %d bytes): no error", c.typ, c.rows, c.cols, c.size)
		}
	}
}

func ulpDiff(a, b float32) int64 {
	ia, ib := int64(math.Float32bits(a)), int64(math.Float32bits(b))
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

func TestExp(t *testing.T) {
	worst := int64(0)
	for x := float32(-103.9); x < 88.72; x += 0.0007 {
		got := Exp(x)
		want := float32(math.Exp(float64(x)))
		if want < 1.2e-38 { // subnormal: absolute error of half an ulp of 2^-149 and a bit
			if math.Abs(float64(got)-float64(want)) > 2*math.SmallestNonzeroFloat32 {
				t.Fatalf("Exp(%g) = %g, want %g", x, got, want)
			}
			continue
		}
		if d := ulpDiff(got, want); d > worst {
			worst = d
			if d > 2 {
				t.Fatalf("Exp(%g) = %g, want %g (%d ulp)", x, got, want, d)
			}
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 1000000; i++ {
		x := float32(r.Float64()*10 - 9)
		if d := ulpDiff(Exp(x), float32(math.Exp(float64(x)))); d > 2 {
			t.Fatalf("Exp(%g) = %g, want %g (%d ulp)", x, Exp(x), math.Exp(float64(x)), d)
		}
	}
	t.Logf("worst error on the grid: %d ulp", worst)
	special := []struct{ x, want float32 }{
		{0, 1},
		{float32(math.Inf(-1)), 0},
		{float32(math.Inf(1)), float32(math.Inf(1))},
		{89, float32(math.Inf(1))},
		{-110, 0},
	}
	for _, s := range special {
		if got := Exp(s.x); got != s.want {
			t.Errorf("Exp(%g) = %g, want %g", s.x, got, s.want)
		}
	}
	if got := Exp(float32(math.NaN())); got == got {
		t.Errorf("Exp(NaN) = %g", got)
	}
}

func TestDetMath(t *testing.T) {
	for _, x := range []float64{-30, -1, -0.3, 0, 1e-9, 0.5, 1, 2.5, 10, 80} {
		if got, want := detExp(x), math.Exp(x); math.Abs(got-want) > 4e-16*want {
			t.Errorf("detExp(%g) = %g, want %g", x, got, want)
		}
	}
	for _, x := range []float64{1e-10, 0.1, 0.7, 1, 1.4142, 2, 10, 10000, 1e6, 5e6} {
		if got, want := detLog(x), math.Log(x); math.Abs(got-want) > 4e-16*math.Max(1, math.Abs(want)) {
			t.Errorf("detLog(%g) = %g, want %g", x, got, want)
		}
	}
	r := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 20000; i++ {
		x := r.Float64() * 100000
		if i%2 == 0 {
			x = r.Float64() * 10
		}
		s, c := detSinCos(x)
		if math.Abs(s-math.Sin(x)) > 1e-14 || math.Abs(c-math.Cos(x)) > 1e-14 {
			t.Fatalf("detSinCos(%g) = %g, %g; want %g, %g", x, s, c, math.Sin(x), math.Cos(x))
		}
	}
}

func TestRope(t *testing.T) {
	const dims = 64
	cos, sin := make([]float32, dims/2), make([]float32, dims/2)
	for _, base := range []float32{10000, 1000000} {
		for _, pos := range []int{0, 1, 7, 1000, 4095} {
			RopeAngles(cos, sin, pos, dims, base)
			for i := range cos {
				theta := float64(pos) * math.Pow(float64(base), -2*float64(i)/dims)
				// theta is built by repeated float32 products, so compare loosely.
				tol := 1e-6 * (1 + theta) * float64(i+1)
				if math.Abs(float64(cos[i])-math.Cos(theta)) > tol || math.Abs(float64(sin[i])-math.Sin(theta)) > tol {
					t.Fatalf("base %g pos %d pair %d: cos,sin = %g,%g want %g,%g", base, pos, i, cos[i], sin[i], math.Cos(theta), math.Sin(theta))
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	RopeAngles(cos, sin, 5, dims, 10000)
	for _, neox := range []bool{false, true} {
		x := randVec(r, dims+16, 1) // 16 dims past the rotated ones
		y := append([]float32(nil), x...)
		Rope(y, cos, sin, neox)
		for i := 0; i < dims/2; i++ {
			a, b := 2*i, 2*i+1
			if neox {
				a, b = i, i+dims/2
			}
			c, s := float64(cos[i]), float64(sin[i])
			wa := float64(x[a])*c - float64(x[b])*s
			wb := float64(x[a])*s + float64(x[b])*c
			if math.Abs(float64(y[a])-wa) > 1e-6 || math.Abs(float64(y[b])-wb) > 1e-6 {
				t.Fatalf("neox=%v pair %d: got %g,%g want %g,%g", neox, i, y[a], y[b], wa, wb)
			}
		}
		for i := dims; i < len(x); i++ {
			if x[i] != y[i] {
				t.Fatalf("neox=%v: element %d past the rotated dims changed", neox, i)
			}
		}
	}
}

func TestSoftmaxRMSNormSiLU(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	x := randVec(r, 1000, 5)
	x[3] = float32(math.Inf(-1))
	p := append([]float32(nil), x...)
	Softmax(p)
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - m)
	}
	for i, v := range x {
		want := math.Exp(float64(v)-m) / s
		if math.Abs(float64(p[i])-want) > 2e-6*want+1e-30 {
			t.Fatalf("softmax[%d] = %g, want %g", i, p[i], want)
		}
	}
	w := randVec(r, 1000, 1)
	y := make([]float32, 1000)
	xs := x[4:]
	y = y[:len(xs)]
	RMSNorm(y, xs, w, 1e-5)
	var ss float64
	for _, v := range xs {
		ss += float64(v) * float64(v)
	}
	scale := 1 / math.Sqrt(ss/float64(len(xs))+1e-5)
	for i, v := range xs {
		want := float64(v) * scale * float64(w[i])
		if math.Abs(float64(y[i])-want) > 1e-6*math.Abs(want)+1e-7 {
			t.Fatalf("rmsnorm[%d] = %g, want %g", i, y[i], want)
		}
	}
	for _, v := range []float32{-20, -3, -0.5, 0, 0.25, 1, 4, 30} {
		want := float64(v) / (1 + math.Exp(-float64(v)))
		if got := SiLU(v); math.Abs(float64(got)-want) > 4e-7*math.Abs(want) {
			t.Errorf("SiLU(%g) = %g, want %g", v, got, want)
		}
	}
}

func TestWeightedSumF16(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	const hd, stride = 24, 40
	for _, n := range []int{0, 1, 15, 16, 17, 50, 300} {
		p := randVec(r, n, 1)
		v := make([]uint16, n*stride)
		for i := range v {
			v[i] = F32ToF16(float32(r.NormFloat64()))
		}
		dst := make([]float32, hd)
		WeightedSumF16(dst, p, v, stride)
		col := make([]float32, n)
		for d := 0; d < hd; d++ {
			for t := range col {
				col[t] = F16ToF32(v[t*stride+d])
			}
			if ref := dotRef(p, col); math.Float32bits(ref) != math.Float32bits(dst[d]) {
				t.Fatalf("n=%d d=%d: %g, Dot of the column %g", n, d, dst[d], ref)
			}
		}
	}
}
