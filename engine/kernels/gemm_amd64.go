//go:build amd64 && !noasm

package kernels

//go:generate python3 gemm_gen.py

import (
	"math"

	"golang.org/x/sys/cpu"
)

//go:noescape
func q8PanelVNNI8(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI7(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI6(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI5(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI3(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelVNNI8(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelVNNI7(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelVNNI6(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelVNNI5(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelVNNI3(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelVNNI2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q5PanelVNNI8(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q5PanelVNNI7(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q5PanelVNNI6(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q5PanelVNNI5(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q5PanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q5PanelVNNI3(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q5PanelVNNI2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q5PanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI8(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI7(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI6(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI5(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI3(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI8(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI7(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI6(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI5(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI3(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q6kPanelVNNI8(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q6kPanelVNNI7(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q6kPanelVNNI6(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q6kPanelVNNI5(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q6kPanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q6kPanelVNNI3(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q6kPanelVNNI2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q6kPanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelAVX2x2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelAVX2x1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelAVX2x4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8PanelAVX2x1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelAVX2x4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4PanelAVX2x1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q8AmaxAVX512(x *float32, nb int, amax *float32)

//go:noescape
func q8QuantAVX512(x *float32, nb int, id *float32, out *byte, mul int, perm int)

// q8ActQuantAVX512 is q8ActQuantGeneric with the per-value work in
// AVX-512 (the block maxima and the rounding: see gemm_amd64.s) and the
// per-block scales in Go, a chunk of blocks at a time.
func q8ActQuantAVX512(out []byte, x []float32, off int32, permuted bool) {
	perm := 0
	if permuted {
		perm = 1
	}
	q8ActChunksAVX512(out, x, int(-off), perm, false)
}

//go:noescape
func q8KQuantAVX512(x *float32, nb int, out *byte, ostride int, bsums *int32, d *float32)

// q81ActsAVX512 is q81ActsGeneric with QuantizeQ8's part done as
// q8ActQuantAVX512's (the sum of the q in place of the offset term) and
// s = fp16(float32(d*float32(sum))) per block in Go, d = amax/127
// unrounded.
func q81ActsAVX512(out []byte, x []float32) { q8ActChunksAVX512(out, x, 1, 1, true) }

// q8ActChunksAVX512 quantizes x into activation blocks, 64 blocks at a
// time: the maxima and the rounding in AVX-512 (mul and perm as
// q8QuantAVX512's), the scales in Go; with q81 the offset slot, which
// then holds the sum of the q (mul = 1), becomes Q8_1's scaled sum s.
func q8ActChunksAVX512(out []byte, x []float32, mul, perm int, q81 bool) {
	var amax, d [64]float32
	nb := len(x) / BlockQ8Len
	for k := 0; k < nb; k += len(amax) {
		n := min(len(amax), nb-k)
		xs := x[k*BlockQ8Len : (k+n)*BlockQ8Len]
		o := out[k*q8ActBlock : (k+n)*q8ActBlock]
		q8AmaxAVX512(&xs[0], n, &amax[0])
		if q81 {
			for i, a := range amax[:n] {
				d[i] = a / 127
			}
		}
		q8ActScales(o, amax[:n])
		q8QuantAVX512(&xs[0], n, &amax[0], &o[0], mul, perm)
		if !q81 {
			continue
		}
		for i := range n {
			b := o[i*q8ActBlock+BlockQ8Len+4:]
			sum := int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
			putU32(b, math.Float32bits(f16Table[F32ToF16(float32(d[i]*float32(sum)))]))
		}
	}
}

// q8KLayoutAVX512 is q8KLayoutGeneric with QuantizeQ8K's arithmetic in
// q8KQuantAVX512, 16 blocks at a time.
func q8KLayoutAVX512(out []byte, x []float32, blk int, sums func(o []byte, bsums [16]int32)) {
	var bs [16][16]int32
	var d [16]float32
	nb := len(x) / BlockKLen
	if nb == 0 {
		return
	}
	_ = out[nb*blk-1]
	for k := 0; k < nb; k += len(d) {
		n := min(len(d), nb-k)
		q8KQuantAVX512(&x[k*BlockKLen], n, &out[k*blk], blk, &bs[0][0], &d[0])
		for i := range n {
			o := out[(k+i)*blk : (k+i+1)*blk]
			sums(o[BlockKLen:blk-8], bs[i])
			putU32(o[blk-8:], math.Float32bits(d[i]))
		}
	}
}

// installAVX2Panels installs the AVX2 panel kernels (gemm_avx2_amd64.s)
// for Q4_1, Q8_0 and Q4_0 (the layouts of the AVX-512 ones, but Q8_0's
// weights signed). The tests also call it on AVX-512 machines, so that
// these kernels are checked there too.
func installAVX2Panels() {
	panelQ4_1.kernels = []panelWidth{{2, q41PanelAVX2x2}, {1, q41PanelAVX2x1}}
	panelFormats[Q4_1] = &panelQ4_1
	panelQ8_0 = panelFormat{block: 32 + 16*BlockQ8Len, blockIn: BlockQ8Size, put: putQ8_0Signed,
		actLen: BlockQ8Len, actBlock: q8ActBlock, acts: func(o []byte, x []float32) { q8ActQuant(o, x, 0, false) },
		kernels: []panelWidth{{4, q8PanelAVX2x4}, {1, q8PanelAVX2x1}}}
	panelFormats[Q8_0] = &panelQ8_0
	q8PanelSigned = true
	panelQ4_0.kernels = []panelWidth{{4, q4PanelAVX2x4}, {1, q4PanelAVX2x1}}
	panelFormats[Q4_0] = &panelQ4_0
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasF16C && !(cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512BW) {
		installAVX2Panels()
	}
	if !cpu.X86.HasAVX512F {
		return
	}
	q8ActQuant = q8ActQuantAVX512
	q81Acts = q81ActsAVX512
	q8KLayout = q8KLayoutAVX512
	if !cpu.X86.HasAVX512VNNI || !cpu.X86.HasAVX512BW {
		return
	}
	panelQ8_0.kernels = []panelWidth{{8, q8PanelVNNI8}, {7, q8PanelVNNI7}, {6, q8PanelVNNI6}, {5, q8PanelVNNI5}, {4, q8PanelVNNI4}, {3, q8PanelVNNI3}, {2, q8PanelVNNI2}, {1, q8PanelVNNI1}}
	panelQ4_0.kernels = []panelWidth{{8, q4PanelVNNI8}, {7, q4PanelVNNI7}, {6, q4PanelVNNI6}, {5, q4PanelVNNI5}, {4, q4PanelVNNI4}, {3, q4PanelVNNI3}, {2, q4PanelVNNI2}, {1, q4PanelVNNI1}}
	panelQ5_0.kernels = []panelWidth{{8, q5PanelVNNI8}, {7, q5PanelVNNI7}, {6, q5PanelVNNI6}, {5, q5PanelVNNI5}, {4, q5PanelVNNI4}, {3, q5PanelVNNI3}, {2, q5PanelVNNI2}, {1, q5PanelVNNI1}}
	panelFormats[Q8_0] = &panelQ8_0
	panelFormats[Q4_0] = &panelQ4_0
	panelFormats[Q5_0] = &panelQ5_0
	panelQ4_1.kernels = []panelWidth{{8, q41PanelVNNI8}, {7, q41PanelVNNI7}, {6, q41PanelVNNI6}, {5, q41PanelVNNI5}, {4, q41PanelVNNI4}, {3, q41PanelVNNI3}, {2, q41PanelVNNI2}, {1, q41PanelVNNI1}}
	panelFormats[Q4_1] = &panelQ4_1
	panelQ4_K.kernels = []panelWidth{{8, q4kPanelVNNI8}, {7, q4kPanelVNNI7}, {6, q4kPanelVNNI6}, {5, q4kPanelVNNI5}, {4, q4kPanelVNNI4}, {3, q4kPanelVNNI3}, {2, q4kPanelVNNI2}, {1, q4kPanelVNNI1}}
	panelFormats[Q4_K] = &panelQ4_K
	panelQ6_K.kernels = []panelWidth{{8, q6kPanelVNNI8}, {7, q6kPanelVNNI7}, {6, q6kPanelVNNI6}, {5, q6kPanelVNNI5}, {4, q6kPanelVNNI4}, {3, q6kPanelVNNI3}, {2, q6kPanelVNNI2}, {1, q6kPanelVNNI1}}
	panelFormats[Q6_K] = &panelQ6_K
}
