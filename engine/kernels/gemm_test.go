package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randQ8Rows returns rows random Q8_0 rows of nb blocks with the edge
// cases of the panel kernels: weights -128 and 127, all-zero blocks, zero
// scales.
func randQ8Rows(r *rand.Rand, rows, nb int) []byte {
	data := make([]byte, rows*nb*BlockQ8Size)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for b := 0; b < rows*nb; b++ {
		blk := data[b*BlockQ8Size : (b+1)*BlockQ8Size]
		h := F32ToF16(float32(r.NormFloat64() * 0.01))
		blk[0], blk[1] = byte(h), byte(h>>8)
		switch r.IntN(8) {
		case 0:
			clear(blk[2:])
		case 1:
			blk[0], blk[1] = 0, 0
		case 2:
			for j := 2; j < BlockQ8Size; j++ {
				blk[j] = 0x80 // -128
			}
		case 3:
			for j := 2; j < BlockQ8Size; j++ {
				blk[j] = 0x7f
			}
		}
	}
	return data
}

// randActs returns batch*cols activations with some all-zero blocks
// (amax = 0) and some blocks of one large value.
func randActs(r *rand.Rand, batch, cols int) []float32 {
	x := randVec(r, batch*cols, 1)
	for b := 0; b < len(x)/BlockQ8Len; b++ {
		v := x[b*BlockQ8Len : (b+1)*BlockQ8Len]
		switch r.IntN(6) {
		case 0:
			clear(v)
		case 1:
			clear(v)
			v[r.IntN(BlockQ8Len)] = -1e3
		}
	}
	return x
}

// TestPackedMatMul checks MatMul on packed matrices of every type with a
// panel layout
// (the installed panel kernels, if any) against the reference dot
// products bit for bit: row counts around the panel height, batches of 1
// to 70 (every tile width and remainder), 1 to 3 threads, and column
// chunks smaller than the batch.
func TestPackedMatMul(t *testing.T) { checkPackedMatMul(t) }

// checkPackedMatMul is TestPackedMatMul with the installed kernels.
func checkPackedMatMul(t *testing.T) {
	defer func(c int) { q8ChunkBytes = c }(q8ChunkBytes)
	r := rand.New(rand.NewPCG(21, 22))
	for _, typ := range []Type{Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K} {
		dotRef, act, blockLen := dotQ8Ref, actQ8_0, BlockQ8Len
		if typ != Q8_0 {
			dotRef, act, blockLen = traits[typ].dotRef, traits[typ].act, traits[typ].blockLen
		}
		for _, sh := range []struct{ rows, nb int }{{1, 1}, {15, 2}, {16, 3}, {17, 1}, {37, 4}, {64, 2}, {100, 18}} {
			if blockLen > BlockQ8Len && sh.nb > 4 {
				sh.nb = 3 // keep the K-quant rows short
			}
			var data []byte
			if typ == Q8_0 {
				data = randQ8Rows(r, sh.rows, sh.nb)
			} else {
				data = randBlocks(r, typ, sh.rows*sh.nb)
			}
			cols := sh.nb * blockLen
			m, err := NewMatrix(typ, sh.rows, cols, data)
			if err != nil {
				t.Fatal(err)
			}
			if packed := m.Pack(); packed != (panelFormats[typ] != nil) {
				t.Fatalf("%v: Pack() = %v", typ, packed)
			}
			for _, batch := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 16, 17, 31, 70} {
				x := randActs(r, batch, cols)
				want := make([]float32, batch*sh.rows)
				xq := make([]byte, sh.nb*act.blockSize)
				for b := 0; b < batch; b++ {
					act.quantize(xq, x[b*cols:(b+1)*cols])
					for i := 0; i < sh.rows; i++ {
						want[b*sh.rows+i] = dotRef(data[i*m.rowSize:(i+1)*m.rowSize], xq)
					}
				}
				for threads := 1; threads <= 3; threads++ {
					q8ChunkBytes = []int{192 << 10, 1, 5 * cols}[threads-1]
					got := make([]float32, batch*sh.rows)
					MatMul(got, m, x, batch, threads)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%v %dx%d, batch %d, %d threads: out[%d][%d] = %g (%#x), reference %g (%#x)",
								typ, sh.rows, cols, batch, threads, i/sh.rows, i%sh.rows, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
						}
					}
				}
			}
		}
	}
	t.Logf("panel kernels installed for %d types", len(panelFormats))
}

// TestPackQ8Layout checks the Q8_0 panel layout against its definition.
func TestPackQ8Layout(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	const rows, nb = 19, 3
	data := randQ8Rows(r, rows, nb)
	p, _ := panelQ8_0.pack(data, rows, nb)
	if len(p) != 2*nb*panelQ8_0.block {
		t.Fatalf("packed %d bytes", len(p))
	}
	for row := 0; row < 32; row++ {
		for k := 0; k < nb; k++ {
			o := p[((row/16)*nb+k)*panelQ8_0.block:]
			r := row % 16
			var want [BlockQ8Size]byte
			if row < rows {
				copy(want[:], data[(row*nb+k)*BlockQ8Size:])
			}
			if o[2*r] != want[0] || o[2*r+1] != want[1] {
				t.Fatalf("row %d block %d: scale %x %x", row, k, o[2*r], o[2*r+1])
			}
			for j := 0; j < BlockQ8Len; j++ {
				got := o[32+64*(j/4)+4*r+j%4]
				if row < rows && !q8PanelSigned {
					got ^= 0x80 // stored w+128; padding rows are zero bytes
				}
				if got != want[2+j] {
					t.Fatalf("row %d block %d weight %d: %d, want %d", row, k, j, int8(got), int8(want[2+j]))
				}
			}
		}
	}
}

// BenchmarkMatMulShapes compares the row-by-row MatMul ("rows") with the
// packed panel one ("panel", where a panel kernel is installed) per
// weight type at SmolLM2-135M and TinyLlama-1.1B layer shapes, one
// thread. GOP/s counts 2 operations per weight and column. Select with
// e.g. -bench 'MatMulShapes/Q8_0/tiny'.
func BenchmarkMatMulShapes(b *testing.B) {
	shapes := []struct {
		name       string
		rows, cols int
	}{
		{"smol_qkvo_576x576", 576, 576},
		{"smol_up_1536x576", 1536, 576},
		{"smol_down_576x1536", 576, 1536},
		{"tiny_q_2048x2048", 2048, 2048},
		{"tiny_up_5632x2048", 5632, 2048},
		{"tiny_down_2048x5632", 2048, 5632},
	}
	r := rand.New(rand.NewPCG(3, 3))
	for _, typ := range []Type{Q8_0, Q4_0, Q4_1, Q5_0, Q4_K, Q6_K} {
		for _, sh := range shapes {
			rs, err := RowSize(typ, sh.cols)
			if err != nil {
				continue // K-quants need rows of 256
			}
			var data []byte
			if typ == Q8_0 {
				data = randQ8Rows(r, sh.rows, sh.cols/BlockQ8Len)
			} else {
				data = randBlocks(r, typ, sh.rows*rs/traits[typ].blockSize)
			}
			plain, _ := NewMatrix(typ, sh.rows, sh.cols, data)
			packed, _ := NewMatrix(typ, sh.rows, sh.cols, data)
			if !packed.Pack() {
				packed = nil
			}
			for _, batch := range []int{1, 8, 64, 256} {
				x := randVec(r, batch*sh.cols, 1)
				dst := make([]float32, batch*sh.rows)
				for _, v := range []struct {
					name string
					m    *Matrix
				}{{"rows", plain}, {"panel", packed}} {
					if v.m == nil || (v.name == "rows" && batch*sh.rows*sh.cols > 1<<28) {
						continue
					}
					b.Run(fmt.Sprintf("%v/%s/batch%d/%s", typ, sh.name, batch, v.name), func(b *testing.B) {
						cpu0 := processCPU()
						for b.Loop() {
							MatMul(dst, v.m, x, batch, 1)
						}
						reportOps(b, float64(2*sh.rows*sh.cols*batch), processCPU()-cpu0)
					})
				}
			}
		}
	}
}

// reportOps reports GOP/s over wall time and over the process's CPU time
// (the machine may be shared: CPU time is the steadier of the two).
func reportOps(b *testing.B, opsPerIter, cpuSeconds float64) {
	ops := opsPerIter * float64(b.N)
	b.ReportMetric(ops/b.Elapsed().Seconds()/1e9, "GOP/s")
	if cpuSeconds > 0 {
		b.ReportMetric(ops/cpuSeconds/1e9, "GOP/cpu-s")
	}
}

// TestQ8ActQuant checks the installed activation quantizer against
// q8ActQuantGeneric (QuantizeQ8) bit for bit, with zero blocks, NaN and
// infinite values, subnormal maxima (127/amax overflows to +Inf) and
// values that round to ties.
func TestQ8ActQuant(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, nb := range []int{1, 2, 63, 64, 65, 200} {
		x := randActs(r, 1, nb*BlockQ8Len)
		for k := 0; k < nb; k++ {
			v := x[k*BlockQ8Len : (k+1)*BlockQ8Len]
			switch r.IntN(8) {
			case 0:
				v[r.IntN(32)] = float32(math.NaN())
			case 1:
				v[r.IntN(32)] = float32(math.Inf(1 - 2*r.IntN(2)))
			case 2:
				for j := range v {
					v[j] = float32(r.NormFloat64()) * 1e-44
				}
			case 3:
				for j := range v {
					v[j] = float32(r.IntN(255)-127) / 2 // amax 63.5: ties at x.5
				}
			case 4:
				for j := range v {
					v[j] = float32(r.NormFloat64() * 1e37)
				}
			}
		}
		want := make([]byte, nb*q8ActBlock)
		got := make([]byte, nb*q8ActBlock)
		q81ActsGeneric(want, x)
		q81Acts(got, x)
		if i := firstDiff(got, want); i >= 0 {
			t.Fatalf("%d blocks, q81Acts: block %d byte %d = %#x, want %#x", nb, i/q8ActBlock, i%q8ActBlock, got[i], want[i])
		}
		for _, c := range []struct {
			off  int32
			perm bool
		}{{128, false}, {8, true}, {16, true}} {
			q8ActQuantGeneric(want, x, c.off, c.perm)
			q8ActQuant(got, x, c.off, c.perm)
			for i := range want {
				if got[i] != want[i] {
					k := i / q8ActBlock
					t.Fatalf("%d blocks, %+v: block %d byte %d = %#x, want %#x (block %v)", nb, c, k, i%q8ActBlock, got[i], want[i], x[k*BlockQ8Len:(k+1)*BlockQ8Len])
				}
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// TestQ8KLayout checks the installed Q8_K activation layout (q8KLayout,
// for Q4_K and Q6_K) against q8KLayoutGeneric (QuantizeQ8K) bit for bit:
// zero blocks, NaN and infinite values, subnormal and huge maxima, ties,
// a largest |x| that occurs with both signs, and block counts around the
// 16-block chunk.
func TestQ8KLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, nb := range []int{0, 1, 2, 15, 16, 17, 40} {
		x := randActs(r, 1, nb*BlockKLen)
		for k := 0; k < nb; k++ {
			v := x[k*BlockKLen : (k+1)*BlockKLen]
			switch r.IntN(10) {
			case 0:
				v[r.IntN(len(v))] = float32(math.NaN())
			case 1:
				v[r.IntN(len(v))] = float32(math.Inf(1 - 2*r.IntN(2)))
			case 2:
				for j := range v {
					v[j] = float32(r.NormFloat64()) * 1e-44
				}
			case 3:
				for j := range v {
					v[j] = float32(r.IntN(255)-127) / 2
				}
			case 4:
				for j := range v {
					v[j] = float32(r.NormFloat64() * 1e37)
				}
			case 5:
				clear(v)
			case 6:
				for j := range v {
					v[j] = float32(math.NaN())
				}
			case 7:
				i, j := r.IntN(len(v)), r.IntN(len(v))
				v[i], v[j] = 7, -7 // the first one's sign wins
			}
		}
		for _, c := range []struct {
			name string
			blk  int
			acts func([]byte, []float32)
		}{{"Q4_K", q8KActBlock, q8KActs}, {"Q6_K", q6KActBlock, q6KActs}} {
			got := make([]byte, nb*c.blk)
			want := make([]byte, nb*c.blk)
			c.acts(got, x)
			saved := q8KLayout
			q8KLayout = q8KLayoutGeneric
			c.acts(want, x)
			q8KLayout = saved
			for k := 0; k < nb; k++ { // the last 4 bytes are padding
				clear(got[(k+1)*c.blk-4 : (k+1)*c.blk])
				clear(want[(k+1)*c.blk-4 : (k+1)*c.blk])
			}
			if i := firstDiff(got, want); i >= 0 {
				k := i / c.blk
				t.Fatalf("%s, %d blocks: block %d byte %d = %#x, want %#x (block %v)", c.name, nb, k, i%c.blk, got[i], want[i], x[k*BlockKLen:(k+1)*BlockKLen])
			}
		}
	}
}
