package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lmgc/lmgc/engine/gguf"
)

// quantTypes pairs the kernels' block types with their GGUF types.
var quantTypes = []struct {
	k Type
	g gguf.Type
}{{Q4_0, gguf.Q4_0}, {Q4_1, gguf.Q4_1}, {Q5_0, gguf.Q5_0}, {Q4_K, gguf.Q4_K}, {Q6_K, gguf.Q6_K}}

// randBlocks returns n random blocks of type t: random quant bytes, and
// finite fp16 scales of moderate size where the layout has them.
func randBlocks(r *rand.Rand, t Type, n int) []byte {
	tr := traits[t]
	data := make([]byte, n*tr.blockSize)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	half := func(b []byte, scale float64) {
		binary.LittleEndian.PutUint16(b, F32ToF16(float32(r.NormFloat64()*scale)))
	}
	for b := 0; b < n; b++ {
		blk := data[b*tr.blockSize : (b+1)*tr.blockSize]
		switch t {
		case Q4_1:
			half(blk, 0.01)
			half(blk[2:], 0.05)
		case Q4_0, Q5_0:
			half(blk, 0.01)
		case Q4_K:
			half(blk, 0.001)
			half(blk[2:], 0.001)
		case Q6_K:
			half(blk[208:], 0.001)
		}
	}
	return data
}

// TestQuantWiden checks the block widening of every table type against
// gguf.Dequantize (an independent implementation of ggml's
// dequantize_row_*), bit for bit, through Matrix.Row.
func TestQuantWiden(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, qt := range quantTypes {
		tr := traits[qt.k]
		rows, cols := 3, 2*tr.blockLen
		data := randBlocks(r, qt.k, rows*cols/tr.blockLen)
		m, err := NewMatrix(qt.k, rows, cols, data)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, rows*cols)
		if err := gguf.Dequantize(qt.g, data, int64(rows*cols), want); err != nil {
			t.Fatal(err)
		}
		got := make([]float32, cols)
		for i := 0; i < rows; i++ {
			m.Row(got, i)
			for j, v := range got {
				if math.Float32bits(v) != math.Float32bits(want[i*cols+j]) {
					t.Fatalf("%v row %d value %d: %v, gguf.Dequantize %v", qt.k, i, j, v, want[i*cols+j])
				}
			}
		}
	}
}

// widenAct returns the values of activation blocks of format f.
func widenAct(f *actFormat, x []byte) []float64 {
	var out []float64
	for b := 0; b < len(x)/f.blockSize; b++ {
		blk := x[b*f.blockSize : (b+1)*f.blockSize]
		switch f {
		case actQ8_0:
			d := float64(F16ToF32(binary.LittleEndian.Uint16(blk)))
			for _, q := range blk[2:] {
				out = append(out, d*float64(int8(q)))
			}
		case actQ8_1:
			d := float64(F16ToF32(binary.LittleEndian.Uint16(blk)))
			for _, q := range blk[4:] {
				out = append(out, d*float64(int8(q)))
			}
		case actQ8_K:
			d := float64(math.Float32frombits(binary.LittleEndian.Uint32(blk)))
			for _, q := range blk[4 : 4+BlockKLen] {
				out = append(out, d*float64(int8(q)))
			}
		}
	}
	return out
}

// TestQuantDot checks every table type's dot product against the float64
// dot of the widened weights and the widened quantized activations. The
// integer sums are exact, so the only error is the few float32 roundings
// per block (and, for Q4_1, the fp16 rounding of the activation sums s).
func TestQuantDot(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, qt := range quantTypes {
		tr := traits[qt.k]
		for _, nb := range []int{1, 3, 8} {
			n := nb * tr.blockLen
			w := randBlocks(r, qt.k, nb)
			x := randVec(r, n, 1)
			xq := make([]byte, n/tr.act.blockLen*tr.act.blockSize)
			tr.act.quantize(xq, x)
			wf := make([]float32, n)
			if err := gguf.Dequantize(qt.g, w, int64(n), wf); err != nil {
				t.Fatal(err)
			}
			xf := widenAct(tr.act, xq)
			var want, mag float64
			for i := range wf {
				want += float64(wf[i]) * xf[i]
				mag += math.Abs(float64(wf[i]) * xf[i])
			}
			got := tr.dotRef(w, xq)
			tol := 1e-6 * mag
			if qt.k == Q4_1 {
				// m * s with s = fp16(d * sum q): fp16's relative error
				// 2^-11 on each block's activation sum.
				tol = 1e-6*mag + 1e-3*mag
			}
			if math.Abs(float64(got)-want) > tol {
				t.Errorf("%v, %d blocks: dot %v, float64 %v (tolerance %.3g)", qt.k, nb, got, want, tol)
			}
			if d := tr.dot(w, xq); math.Float32bits(d) != math.Float32bits(got) {
				t.Errorf("%v: installed kernel %v, reference %v", qt.k, d, got)
			}
		}
	}
}

// TestQuantDotQ4_1Sums checks Q4_1's integer and activation-sum parts
// exactly: with m = 0 the dot is d_w*d_x*sum(q_w*q_x) per block, and with
// all nibbles 0 it is m*s.
func TestQuantDotQ4_1Sums(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randVec(r, 32, 1)
	xq := make([]byte, BlockQ8_1Size)
	QuantizeQ8_1(xq, x)
	w := randBlocks(r, Q4_1, 1)
	binary.LittleEndian.PutUint16(w[0:], F32ToF16(1))
	binary.LittleEndian.PutUint16(w[2:], 0)
	var s int32
	for j := 0; j < 16; j++ {
		s += int32(w[4+j]&0xf)*int32(int8(xq[4+j])) + int32(w[4+j]>>4)*int32(int8(xq[20+j]))
	}
	dx := F16ToF32(binary.LittleEndian.Uint16(xq))
	if got, want := dotQ4_1Ref(w, xq), float32(dx*float32(s)); got != want {
		t.Errorf("m = 0: %v, want %v", got, want)
	}
	clear(w[4:])
	binary.LittleEndian.PutUint16(w[2:], F32ToF16(0.5))
	sx := F16ToF32(binary.LittleEndian.Uint16(xq[2:]))
	if got, want := dotQ4_1Ref(w, xq), 0.5*sx; got != want {
		t.Errorf("q = 0: %v, want %v", got, want)
	}
}

// TestQuantizeQ8_1 checks that Q8_1 holds QuantizeQ8's scale and values
// and s = fp16(d * sum q) with the unrounded d.
func TestQuantizeQ8_1(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := randVec(r, 96, 3)
	x[40] = 0 // one all-zero block below
	for i := 64; i < 96; i++ {
		x[i] = 0
	}
	q8 := make([]byte, 3*BlockQ8Size)
	q81 := make([]byte, 3*BlockQ8_1Size)
	QuantizeQ8(q8, x)
	QuantizeQ8_1(q81, x)
	for b := 0; b < 3; b++ {
		o, p := q81[b*BlockQ8_1Size:], q8[b*BlockQ8Size:]
		if o[0] != p[0] || o[1] != p[1] || !slices.Equal(o[4:BlockQ8_1Size], p[2:BlockQ8Size]) {
			t.Fatalf("block %d: Q8_1 d or values differ from Q8_0's", b)
		}
		var amax float32
		for _, v := range x[32*b : 32*b+32] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		var sum int32
		for _, q := range p[2:BlockQ8Size] {
			sum += int32(int8(q))
		}
		if got, want := binary.LittleEndian.Uint16(o[2:]), F32ToF16(float32(amax/127*float32(sum))); got != want {
			t.Errorf("block %d: s = %#04x, want %#04x", b, got, want)
		}
	}
}

// TestQuantizeQ8K checks the Q8_K activation quantizer: the value of
// largest magnitude maps to -127 with d = -mx/127 (so d*q = mx up to
// rounding), every value is within |d|/2 (plus rounding) of x, the
// bsums are the sums of 16 values, and an all-zero block is all zero.
func TestQuantizeQ8K(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	x := randVec(r, 3*BlockKLen, 2)
	x[100] = -9 // the largest magnitude of block 0, negative
	for i := 2 * BlockKLen; i < 3*BlockKLen; i++ {
		x[i] = 0
	}
	dst := make([]byte, 3*BlockQ8KSize)
	for i := range dst {
		dst[i] = 0xaa
	}
	QuantizeQ8K(dst, x)
	for b := 0; b < 3; b++ {
		o := dst[b*BlockQ8KSize : (b+1)*BlockQ8KSize]
		d := math.Float32frombits(binary.LittleEndian.Uint32(o))
		qs := o[4 : 4+BlockKLen]
		if b == 2 {
			if d != 0 || slices.ContainsFunc(o[4:], func(c byte) bool { return c != 0 }) {
				t.Errorf("zero block: d %v, not all zero", d)
			}
			continue
		}
		for j, q := range qs {
			v := x[b*BlockKLen+j]
			if e := math.Abs(float64(d)*float64(int8(q)) - float64(v)); e > math.Abs(float64(d))*0.5001 {
				t.Errorf("block %d value %d: %v quantized to %d*%v", b, j, v, int8(q), d)
			}
		}
		if b == 0 && (int8(qs[100]) != -127 || d != float32(1/float32(-127/float32(-9)))) {
			t.Errorf("block 0: q[100] = %d, d = %v; want -127, %v", int8(qs[100]), d, 9.0/127)
		}
		for i := 0; i < 16; i++ {
			var s int16
			for _, q := range qs[16*i : 16*i+16] {
				s += int16(int8(q))
			}
			if got := int16(binary.LittleEndian.Uint16(o[4+BlockKLen+2*i:])); got != s {
				t.Errorf("block %d: bsums[%d] = %d, want %d", b, i, got, s)
			}
		}
	}
}

// TestQuantMatMul checks MatMul over the table types: every output is the
// row's dot product with its own quantized column, whatever the batch and
// the number of threads.
func TestQuantMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, qt := range quantTypes {
		tr := traits[qt.k]
		rows, cols, batch := 13, 3*tr.blockLen, 5
		m, err := NewMatrix(qt.k, rows, cols, randBlocks(r, qt.k, rows*cols/tr.blockLen))
		if err != nil {
			t.Fatal(err)
		}
		x := randVec(r, batch*cols, 1)
		want := make([]float32, batch*rows)
		xq := make([]byte, cols/tr.act.blockLen*tr.act.blockSize)
		rs, _ := RowSize(qt.k, cols)
		for b := 0; b < batch; b++ {
			tr.act.quantize(xq, x[b*cols:(b+1)*cols])
			for i := 0; i < rows; i++ {
				want[b*rows+i] = tr.dotRef(m.Data[i*rs:(i+1)*rs], xq)
			}
		}
		for _, threads := range []int{1, 2, 5} {
			got := make([]float32, batch*rows)
			MatMul(got, m, x, batch, threads)
			if !slices.Equal(got, want) {
				t.Errorf("%v, %d threads: MatMul differs from the per-column dot products", qt.k, threads)
			}
			one := make([]float32, rows)
			MatMul(one, m, x[2*cols:], 1, threads)
			if !slices.Equal(one, want[2*rows:3*rows]) {
				t.Errorf("%v, %d threads: batch of one differs", qt.k, threads)
			}
		}
		if _, err := NewMatrix(qt.k, 1, tr.blockLen+32, make([]byte, 1000)); err == nil {
			t.Errorf("%v: a row of %d values accepted", qt.k, tr.blockLen+32)
		}
		if got := ActivationFormat(qt.k); got != tr.act.name {
			t.Errorf("ActivationFormat(%v) = %s", qt.k, got)
		}
	}
}

// TestSplitNibbles checks splitNibbles against the byte-by-byte split for
// every byte value at every position, unsigned and signed.
func TestSplitNibbles(t *testing.T) {
	src := make([]byte, 16)
	dst := make([]byte, 32)
	for v := 0; v < 256; v++ {
		for pos := 0; pos < 16; pos++ {
			for i := range src {
				src[i] = byte(v*7 + i*31)
			}
			src[pos] = byte(v)
			for _, signed := range []bool{false, true} {
				splitNibbles(dst, src, signed)
				for j, b := range src {
					lo, hi := b&0xf, b>>4
					if signed {
						lo, hi = byte(int8(lo)-8), byte(int8(hi)-8)
					}
					if dst[j] != lo || dst[16+j] != hi {
						t.Fatalf("byte %#x at %d, signed %v: got %#x %#x, want %#x %#x", b, j, signed, dst[j], dst[16+j], lo, hi)
					}
				}
			}
		}
	}
}

// TestDotQ4_1D checks the installed Q4_1 d-part kernel (if any) against
// dotQ4_1DGeneric and, through accD + accM, dotQ4_1Ref, bit for bit, on
// rows with every nibble value and random scales.
func TestDotQ4_1D(t *testing.T) {
	if dotQ4_1D == nil {
		t.Skip("no Q4_1 kernel installed on this CPU/build (matMulQ4_1 unpacks rows)")
	}
	r := rand.New(rand.NewPCG(9, 10))
	for _, nb := range []int{1, 2, 3, 8, 17, 64} {
		for trial := 0; trial < 20; trial++ {
			w := make([]byte, nb*BlockQ4_1Size)
			x := make([]byte, nb*BlockQ8Size)
			for i := range w {
				w[i] = byte(r.Uint32())
			}
			for i := range x {
				x[i] = byte(r.Uint32())
			}
			for k := 0; k < nb; k++ {
				// finite scales of varied magnitude
				putF16(w[k*BlockQ4_1Size:], F32ToF16(float32(r.NormFloat64())))
				putF16(x[k*BlockQ8Size:], F32ToF16(float32(r.NormFloat64()*0.01)))
				if trial == 0 {
					x[k*BlockQ8Size+2] = 0x80 // -128
				}
			}
			got, want := dotQ4_1D(w, x), dotQ4_1DGeneric(w, x)
			if math.Float32bits(got) != math.Float32bits(want) {
				t.Fatalf("nb %d trial %d: %g (%#x), generic %g (%#x)", nb, trial, got, math.Float32bits(got), want, math.Float32bits(want))
			}
		}
	}
}

func putF16(b []byte, h uint16) { b[0], b[1] = byte(h), byte(h>>8) }
