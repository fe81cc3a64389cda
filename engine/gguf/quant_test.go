package gguf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// refHalfToFloat64 decodes binary16 from its definition.
func refHalfToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	man := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(man, -24)
	case 0x1f:
		if man == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(1+man/1024, exp-15)
}

func TestHalfToFloat32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := HalfToFloat32(h)
		want := refHalfToFloat64(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) || math.Float32bits(got)>>13&0x3ff != uint32(h&0x3ff) || math.Signbit(float64(got)) != (h&0x8000 != 0) {
				t.Fatalf("%#04x: got %#08x, want NaN with the same payload and sign", h, math.Float32bits(got))
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("%#04x: got %v, want %v", h, got, want)
		}
		// Every half converts back to itself (NaN payloads aside).
		if back := Float32ToHalf(got); back != h {
			t.Fatalf("%#04x -> %v -> %#04x", h, got, back)
		}
	}
}

// ggmlFloat32ToHalf is ggml's portable fp32->fp16 conversion (after
// Maratyszcza's FP16 library), which rounds through float32 arithmetic.
func ggmlFloat32ToHalf(f float32) uint16 {
	const scaleToInf = float32(0x1.0p+112)
	const scaleToZero = float32(0x1.0p-110)
	base := float32(float32(float32(math.Abs(float64(f)))*scaleToInf) * scaleToZero)
	w := math.Float32bits(f)
	shl1 := w + w
	sign := w & 0x80000000
	bias := shl1 & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	expBits := bits >> 13 & 0x7c00
	manBits := bits & 0x0fff
	nonsign := expBits + manBits
	if shl1 > 0xff000000 {
		nonsign = 0x7e00
	}
	return uint16(sign>>16 | nonsign)
}

func TestFloat32ToHalf(t *testing.T) {
	check := func(b uint32) {
		f := math.Float32frombits(b)
		if got, want := Float32ToHalf(f), ggmlFloat32ToHalf(f); got != want {
			t.Fatalf("%#08x (%g): got %#04x, ggml %#04x", b, f, got, want)
		}
	}
	// A sweep over float32 bit patterns, plus every half, every midpoint
	// between adjacent halves and its neighbours (the rounding ties).
	for b := uint64(0); b < 1<<32; b += 4099 {
		check(uint32(b))
	}
	for i := 0; i < 1<<15; i++ {
		for _, s := range []uint32{0, 0x80000000} {
			lo := math.Float32bits(HalfToFloat32(uint16(i)))
			hi := math.Float32bits(HalfToFloat32(uint16(i + 1)))
			if i >= 0x7c00 {
				continue
			}
			mid := math.Float32bits(float32((float64(math.Float32frombits(lo)) + float64(math.Float32frombits(hi))) / 2))
			for _, b := range []uint32{lo, mid - 1, mid, mid + 1, hi} {
				check(b | s)
			}
		}
	}
	cases := []struct {
		f    float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {65519.99, 0x7bff}, {1e10, 0x7c00},
		{float32(math.Ldexp(1, -24)), 0x0001}, {float32(math.Ldexp(1, -25)), 0}, {float32(math.Ldexp(1.5, -25)), 1},
		{float32(math.Inf(-1)), 0xfc00}, {float32(math.NaN()), 0x7e00}, {1 + 1.0/2048, 0x3c00}, {1 + 3.0/2048, 0x3c02},
	}
	for _, c := range cases {
		if got := Float32ToHalf(c.f); got != c.want {
			t.Errorf("Float32ToHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		bits uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, {0x3f808000, 0x3f80}, {0x3f818000, 0x3f82}, {0x3f808001, 0x3f81},
		{0x7f7fffff, 0x7f80}, {0x7fc00001, 0x7fc0}, {0x7f800001, 0x7fc0}, {0x00000001, 0}, {0x80008000, 0x8000},
	}
	for _, c := range cases {
		if got := Float32ToBF16(math.Float32frombits(c.bits)); got != c.want {
			t.Errorf("Float32ToBF16(%#08x) = %#04x, want %#04x", c.bits, got, c.want)
		}
	}
	for i := 0; i < 1<<16; i++ {
		f := BF16ToFloat32(uint16(i))
		if math.Float32bits(f) != uint32(i)<<16 {
			t.Fatal("BF16ToFloat32")
		}
		if !math.IsNaN(float64(f)) && Float32ToBF16(f) != uint16(i) {
			t.Fatalf("%#04x does not round trip", i)
		}
	}
}

func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, Float32ToHalf(f)) }

// Hand-built blocks with exactly representable scales, checked against
// values computed from the unpacked fields.
func TestDequantizeKnownBlocks(t *testing.T) {
	// q8_0: d = 0.5, q = j - 16.
	q8 := make([]byte, 34)
	putHalf(q8, 0.5)
	for j := 0; j < 32; j++ {
		q8[2+j] = byte(int8(j - 16))
	}
	// q4_0: d = -0.25, qs[j] = j | (15-j)<<4.
	q4 := make([]byte, 18)
	putHalf(q4, -0.25)
	for j := 0; j < 16; j++ {
		q4[2+j] = byte(j) | byte(15-j)<<4
	}
	// q5_0: d = 2, 5-bit q = (7*i) mod 32.
	q5 := make([]byte, 22)
	putHalf(q5, 2)
	var qh uint32
	for j := 0; j < 32; j++ {
		q := (7 * j) % 32
		if j < 16 {
			q5[6+j] |= byte(q & 0xf)
		} else {
			q5[6+j-16] |= byte(q&0xf) << 4
		}
		qh |= uint32(q>>4) << j
	}
	binary.LittleEndian.PutUint32(q5[2:], qh)
	cases := []struct {
		typ  Type
		blk  []byte
		want func(i int) float32
	}{
		{Q8_0, q8, func(i int) float32 { return float32(i-16) * 0.5 }},
		{Q4_0, q4, func(i int) float32 {
			if i < 16 {
				return float32(i-8) * -0.25
			}
			return float32(15-(i-16)-8) * -0.25
		}},
		{Q5_0, q5, func(i int) float32 { return float32((7*i)%32-16) * 2 }},
	}
	for _, c := range cases {
		got := make([]float32, 32)
		if err := Dequantize(c.typ, c.blk, 32, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != c.want(i) {
				t.Errorf("%s[%d] = %v, want %v", c.typ, i, got[i], c.want(i))
			}
		}
	}
}

// packScalesK4 packs eight 6-bit scales and mins as ggml's q4_K/q5_K
// quantizers do.
func packScalesK4(sc, m [8]uint8) []byte {
	s := make([]byte, 12)
	for j := 0; j < 8; j++ {
		if j < 4 {
			s[j] = sc[j]
			s[j+4] = m[j]
		} else {
			s[j+4] = sc[j]&0xf | m[j]<<4
			s[j-4] |= sc[j] >> 4 << 6
			s[j] |= m[j] >> 4 << 6
		}
	}
	return s
}

func TestDequantizeKQuants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 20; iter++ {
		var sc, m [8]uint8
		for j := range sc {
			sc[j], m[j] = uint8(rng.IntN(64)), uint8(rng.IntN(64))
		}
		d, dmin := float32(rng.IntN(64)+1)/128, float32(rng.IntN(64))/256
		q := make([]uint8, 256) // 5-bit values for q5_K, low 4 bits for q4_K
		for i := range q {
			q[i] = uint8(rng.IntN(32))
		}
		// Element i lies in 64-group g, sub-block 2g (first 32) or 2g+1.
		want := func(i int, bitsMask uint8) float32 {
			s := i / 32
			return d*float32(sc[s])*float32(q[i]&bitsMask) - dmin*float32(m[s])
		}
		q4k := make([]byte, 144)
		putHalf(q4k, d)
		putHalf(q4k[2:], dmin)
		copy(q4k[4:], packScalesK4(sc, m))
		q5k := make([]byte, 176)
		copy(q5k, q4k[:16])
		for g := 0; g < 4; g++ {
			for l := 0; l < 32; l++ {
				lo, hi := q[64*g+l], q[64*g+32+l]
				q4k[16+32*g+l] = lo&0xf | (hi&0xf)<<4
				q5k[48+32*g+l] = lo&0xf | (hi&0xf)<<4
				q5k[16+l] |= (lo>>4)<<(2*g) | (hi>>4)<<(2*g+1)
			}
		}
		got := make([]float32, 256)
		if err := Dequantize(Q4_K, q4k, 256, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if w := want(i, 0xf); math.Abs(float64(got[i]-w)) > 1e-6 {
				t.Fatalf("q4_K[%d] = %v, want %v", i, got[i], w)
			}
		}
		if err := Dequantize(Q5_K, q5k, 256, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if w := want(i, 0x1f); math.Abs(float64(got[i]-w)) > 1e-6 {
				t.Fatalf("q5_K[%d] = %v, want %v", i, got[i], w)
			}
		}

		// q6_K: 16 signed scales, 6-bit values.
		var sc6 [16]int8
		for j := range sc6 {
			sc6[j] = int8(rng.IntN(256) - 128)
		}
		q6 := make([]uint8, 256)
		for i := range q6 {
			q6[i] = uint8(rng.IntN(64))
		}
		blk := make([]byte, 210)
		for n := 0; n < 2; n++ {
			for l := 0; l < 32; l++ {
				v := [4]uint8{q6[128*n+l], q6[128*n+l+32], q6[128*n+l+64], q6[128*n+l+96]}
				blk[64*n+l] = v[0]&0xf | (v[2]&0xf)<<4
				blk[64*n+l+32] = v[1]&0xf | (v[3]&0xf)<<4
				blk[128+32*n+l] = v[0]>>4 | (v[1]>>4)<<2 | (v[2]>>4)<<4 | (v[3]>>4)<<6
			}
		}
		for j := range sc6 {
			blk[192+j] = byte(sc6[j])
		}
		putHalf(blk[208:], d)
		if err := Dequantize(Q6_K, blk, 256, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			w := d * float32(sc6[i/16]) * float32(int(q6[i])-32)
			if got[i] != w {
				t.Fatalf("q6_K[%d] = %v, want %v", i, got[i], w)
			}
		}
	}
}

func TestQuantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := make([]float32, 256*8)
	for i := range src {
		src[i] = float32(rng.NormFloat64()) * 0.02
	}
	src[5] = 0
	for i := 64; i < 96; i++ { // an all-zero block
		src[i] = 0
	}
	for _, c := range []struct {
		typ Type
		tol func(amax float32) float32 // per-block absolute error bound
	}{
		{F32, func(float32) float32 { return 0 }},
		{F16, func(a float32) float32 { return a / 1024 }},
		{BF16, func(a float32) float32 { return a / 128 }},
		{Q8_0, func(a float32) float32 { return a/127/2*1.001 + a/2048 }}, // rounding + f16 scale
		{Q4_0, func(a float32) float32 { return a/8*1.01 + a/8/1024*8 }},
		{Q5_0, func(a float32) float32 { return a/16*1.01 + a/16/1024*16 }},
		// K-quants: the bound is set by the super-block's largest step (the
		// blocks of this test have similar amax); no value clips.
		{Q4_K, func(a float32) float32 { return a / 8 }},
		{Q6_K, func(a float32) float32 { return a / 24 }},
	} {
		data, err := Quantize(c.typ, src, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(src))
		if err := Dequantize(c.typ, data, int64(len(src)), got); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < len(src); b += 32 {
			var amax float32
			for _, v := range src[b : b+32] {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			for i := b; i < b+32; i++ {
				if e := float32(math.Abs(float64(got[i] - src[i]))); e > c.tol(amax) {
					t.Fatalf("%s: element %d: %v -> %v (error %g, bound %g)", c.typ, i, src[i], got[i], e, c.tol(amax))
				}
			}
		}
	}
}

func TestQuantizeQ8_0Reference(t *testing.T) {
	// amax 127 gives d = 1 exactly: q = roundf(x), halves away from zero.
	src := make([]float32, 32)
	vals := []float32{127, -126.5, 2.5, -2.5, 0.49, 0.5, -0.5, 3}
	copy(src, vals)
	got, err := Quantize(Q8_0, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int8{127, -127, 3, -3, 0, 1, -1, 3}
	if binary.LittleEndian.Uint16(got) != 0x3c00 {
		t.Errorf("d = %#04x, want 1.0", binary.LittleEndian.Uint16(got))
	}
	for i, w := range want {
		if int8(got[2+i]) != w {
			t.Errorf("q[%d] = %d, want %d", i, int8(got[2+i]), w)
		}
	}
}

func TestDequantizeErrors(t *testing.T) {
	dst := make([]float32, 64)
	cases := []struct {
		typ  Type
		data int
		n    int64
	}{
		{Q2_K, 84, 256}, {Q8_0, 34, 31}, {Q8_0, 33, 32}, {F32, 4 * 65, 65}, {Type(77), 1, 1},
	}
	for _, c := range cases {
		if err := Dequantize(c.typ, make([]byte, c.data), c.n, dst); err == nil {
			t.Errorf("%s %d bytes n=%d: no error", c.typ, c.data, c.n)
		}
	}
	if _, err := Quantize(Q5_K, make([]float32, 256), nil); err == nil {
		t.Error("Quantize q5_K: no error")
	}
	if _, err := Quantize(Q8_0, make([]float32, 33), nil); err == nil {
		t.Error("Quantize 33 values to q8_0: no error")
	}
}

func BenchmarkDequantize(b *testing.B) {
	src := make([]float32, 1<<16)
	for i := range src {
		src[i] = float32(i%97) / 97
	}
	for _, typ := range []Type{F16, BF16, Q8_0, Q4_0} {
		data, _ := Quantize(typ, src, nil)
		dst := make([]float32, len(src))
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(src) * 4))
			for b.Loop() {
				Dequantize(typ, data, int64(len(src)), dst)
			}
		})
	}
	for _, typ := range []Type{Q4_K, Q5_K, Q6_K} {
		data := make([]byte, len(src)/256*typ.TypeSize())
		for i := range data {
			data[i] = byte(i * 31)
		}
		dst := make([]float32, len(src))
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(int64(len(src) * 4))
			for b.Loop() {
				Dequantize(typ, data, int64(len(src)), dst)
			}
		})
	}
}

func TestTensorFloat32(t *testing.T) {
	src := []float32{1, -2, 0.5, 3, 0, 0, 0, 0}
	src = append(src, make([]float32, 24)...)
	w := NewWriter()
	for _, typ := range []Type{F32, F16, BF16, Q8_0} {
		data, err := Quantize(typ, src, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(typ.String(), typ, []int64{32}, data); err != nil {
			t.Fatal(err)
		}
	}
	w.AddTensor("k", Q2_K, []int64{256}, make([]byte, 84))
	f := writeParse(t, w)
	for _, typ := range []Type{F32, F16, BF16, Q8_0} {
		ti, _ := f.Tensor(typ.String())
		got, err := f.TensorFloat32(ti)
		if err != nil {
			t.Fatal(err)
		}
		if typ != Q8_0 && !reflect.DeepEqual(got, src) {
			t.Errorf("%s: %v", typ, got[:8])
		}
		if typ == Q8_0 && (math.Abs(float64(got[0]-1)) > 0.03 || math.Abs(float64(got[3]-3)) > 0.03) {
			t.Errorf("%s: %v", typ, got[:8])
		}
	}
	ti, _ := f.Tensor("k")
	if _, err := f.TensorFloat32(ti); err == nil {
		t.Error("q2_K: no error")
	}
}

func TestRoundHalfAway(t *testing.T) {
	for _, x := range []float32{0, 0.49999997, 0.5, -0.5, 1.5, 2.5, -2.5, 126.49999, 126.5, -127.4, 8388607.5, -0.7} {
		want := int32(math.Round(float64(x))) // math.Round: halves away from zero
		if got := roundHalfAway(x); got != want {
			t.Errorf("roundHalfAway(%v) = %d, want %d", x, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100000; i++ {
		x := float32(rng.NormFloat64() * 100)
		if got, want := roundHalfAway(x), int32(math.Round(float64(x))); got != want {
			t.Fatalf("roundHalfAway(%v) = %d, want %d", x, got, want)
		}
	}
}
