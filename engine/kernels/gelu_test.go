package kernels

import (
	"math"
	"testing"
)

// TestTanh checks the deterministic tanh against math.Tanh: within one
// float32 ulp over a sweep of magnitudes, odd, and exact at the ends.
func TestTanh(t *testing.T) {
	worst := 0.0
	for e := -30.0; e <= 5; e += 0.001 {
		for _, x := range []float64{math.Exp2(e), -math.Exp2(e)} {
			got := float64(Tanh(float32(x)))
			want := math.Tanh(float64(float32(x)))
			ulp := float64(math.Nextafter32(float32(math.Abs(want)), 2)) - float64(float32(math.Abs(want)))
			if d := math.Abs(got-want) / ulp; d > worst {
				worst = d
			}
		}
	}
	t.Logf("largest error %.3f float32 ulp", worst)
	if worst > 1 {
		t.Errorf("Tanh is off by %.3f ulp", worst)
	}
	for _, c := range []struct{ x, want float32 }{{0, 0}, {25, 1}, {-25, -1}, {float32(math.Inf(1)), 1}, {float32(math.Inf(-1)), -1}} {
		if got := Tanh(c.x); got != c.want {
			t.Errorf("Tanh(%v) = %v, want %v", c.x, got, c.want)
		}
	}
	if nan := Tanh(float32(math.NaN())); nan == nan {
		t.Errorf("Tanh(NaN) = %v", nan)
	}
}

// TestGELUTable checks every binary16 entry of the GELU table used on
// (-10, 10): against ggml's float32 steps with math.Tanh for the tanh
// (the same bits but where the two tanh roundings differ, rarely) and
// against the float64 formula (close in absolute terms: for negative x
// the float32 formula cancels, as ggml's does).
func TestGELUTable(t *testing.T) {
	off, n := 0, 0
	for h := 0; h < 1<<16; h++ {
		x := F16ToF32(uint16(h))
		if !(x > -10 && x < 10) {
			continue
		}
		n++
		inner := float32(geluSqrt2OvPi*x) * (1 + float32(float32(geluCoefA*x)*x))
		steps := float32(0.5*x) * (1 + float32(math.Tanh(float64(inner))))
		got := GELU(x)
		if got != F16ToF32(F32ToF16(steps)) {
			off++
		}
		xf := float64(x)
		exact := 0.5 * xf * (1 + math.Tanh(math.Sqrt(2/math.Pi)*xf*(1+0.044715*xf*xf)))
		if d := math.Abs(float64(got) - exact); d > 1e-6+2e-3*math.Abs(exact) {
			t.Errorf("GELU(%v) = %v, float64 formula gives %v", x, got, exact)
		}
	}
	t.Logf("%d of %d table entries differ from the float32 steps with math.Tanh", off, n)
	if off > n/1000 {
		t.Errorf("%d of %d entries differ from the float32 steps with math.Tanh", off, n)
	}
}

// TestGeGLU checks the regions of ggml_vec_geglu_f32 and aliasing.
func TestGeGLU(t *testing.T) {
	gate := []float32{-11, -10, -3, -0.5, 0, 0.5, 1, 3, 9.99, 10, 12.5}
	up := []float32{2, 2, 2, -2, 3, 4, 1, 0.5, 1, 3, -1}
	dst := make([]float32, len(gate))
	GeGLU(dst, gate, up)
	for i := range gate {
		want := GELU(gate[i]) * up[i]
		if gate[i] >= 10 {
			want = gate[i] * up[i]
		}
		if dst[i] != want {
			t.Errorf("GeGLU at gate %v, up %v = %v, want %v", gate[i], up[i], dst[i], want)
		}
	}
	if dst[0] != 0 || dst[1] != 0 || dst[4] != 0 || dst[9] != 30 || dst[10] != -12.5 {
		t.Errorf("GeGLU edge values %v", dst)
	}
	if g := GELU(1); math.Abs(float64(g)-0.8411920071) > 1e-3 {
		t.Errorf("GELU(1) = %v", g)
	}
	alias := append([]float32(nil), gate...)
	GeGLU(alias, alias, up)
	for i := range dst {
		if math.Float32bits(alias[i]) != math.Float32bits(dst[i]) {
			t.Fatalf("aliased GeGLU differs at %d", i)
		}
	}
}
