//go:build amd64 && !noasm

package kernels

//go:generate python3 gemm_gen.py

import "golang.org/x/sys/cpu"

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
func q41PanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI3(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q41PanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI4(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI3(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI2(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

//go:noescape
func q4kPanelVNNI1(w *byte, nb int, x *byte, xstride int, dst *float32, dstride int)

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
	var amax [64]float32
	nb := len(x) / BlockQ8Len
	for k := 0; k < nb; k += len(amax) {
		n := min(len(amax), nb-k)
		xs := x[k*BlockQ8Len : (k+n)*BlockQ8Len]
		o := out[k*q8ActBlock : (k+n)*q8ActBlock]
		q8AmaxAVX512(&xs[0], n, &amax[0])
		q8ActScales(o, amax[:n])
		q8QuantAVX512(&xs[0], n, &amax[0], &o[0], int(-off), perm)
	}
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasF16C && !(cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512BW) {
		// AVX2 panel kernels (gemm_avx2_amd64.s), same layouts.
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
	if !cpu.X86.HasAVX512F {
		return
	}
	q8ActQuant = q8ActQuantAVX512
	if !cpu.X86.HasAVX512VNNI || !cpu.X86.HasAVX512BW {
		return
	}
	panelQ8_0.kernels = []panelWidth{{8, q8PanelVNNI8}, {7, q8PanelVNNI7}, {6, q8PanelVNNI6}, {5, q8PanelVNNI5}, {4, q8PanelVNNI4}, {3, q8PanelVNNI3}, {2, q8PanelVNNI2}, {1, q8PanelVNNI1}}
	panelQ4_0.kernels = []panelWidth{{8, q4PanelVNNI8}, {7, q4PanelVNNI7}, {6, q4PanelVNNI6}, {5, q4PanelVNNI5}, {4, q4PanelVNNI4}, {3, q4PanelVNNI3}, {2, q4PanelVNNI2}, {1, q4PanelVNNI1}}
	panelQ5_0.kernels = []panelWidth{{8, q5PanelVNNI8}, {7, q5PanelVNNI7}, {6, q5PanelVNNI6}, {5, q5PanelVNNI5}, {4, q5PanelVNNI4}, {3, q5PanelVNNI3}, {2, q5PanelVNNI2}, {1, q5PanelVNNI1}}
	panelFormats[Q8_0] = &panelQ8_0
	panelFormats[Q4_0] = &panelQ4_0
	panelFormats[Q5_0] = &panelQ5_0
	panelQ4_1.kernels = []panelWidth{{4, q41PanelVNNI4}, {3, q41PanelVNNI3}, {2, q41PanelVNNI2}, {1, q41PanelVNNI1}}
	panelFormats[Q4_1] = &panelQ4_1
	panelQ4_K.kernels = []panelWidth{{4, q4kPanelVNNI4}, {3, q4kPanelVNNI3}, {2, q4kPanelVNNI2}, {1, q4kPanelVNNI1}}
	panelFormats[Q4_K] = &panelQ4_K
	panelQ6_K.kernels = []panelWidth{{4, q6kPanelVNNI4}, {3, q6kPanelVNNI3}, {2, q6kPanelVNNI2}, {1, q6kPanelVNNI1}}
	panelFormats[Q6_K] = &panelQ6_K
}
